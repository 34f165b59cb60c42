// /api/circuit-breakers: the registry's health report (SPEC 1.1), its recent state transitions and
// resetting breakers.

import type { ControlPlane } from '../healing/index.ts';
import { NotFoundError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { transitionsOf } from './breakerTransitions.ts';
import { jsonResponse } from './responses.ts';

export function breakerRoutes(controlPlane: ControlPlane): Route[] {
  const transitions = transitionsOf(controlPlane.breakers);
  return [
    {
      method: 'GET',
      path: '/api/circuit-breakers',
      handle: () => jsonResponse(200, controlPlane.breakers.health()),
    },
    {
      method: 'GET',
      path: '/api/circuit-breakers/transitions',
      handle: () => jsonResponse(200, { transitions: transitions.list(), total: transitions.total }),
    },
    {
      method: 'POST',
      path: '/api/circuit-breakers/reset',
      handle() {
        const reset = controlPlane.breakers.list().length;
        controlPlane.breakers.reset();
        return jsonResponse(200, { reset });
      },
    },
    {
      method: 'POST',
      path: '/api/circuit-breakers/:kind/:name/reset',
      handle({ params }) {
        const kind = params.kind!;
        const name = params.name!;
        // `reset` never creates a breaker, but it also says nothing when there is none: ask first.
        if (!controlPlane.breakers.has(kind, name)) {
          throw new NotFoundError(
            `no circuit breaker ${JSON.stringify(name)} of kind ${JSON.stringify(kind)}`,
          );
        }
        controlPlane.breakers.reset(kind, name);
        return jsonResponse(200, { reset: 1 });
      },
    },
  ];
}
