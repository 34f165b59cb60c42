// /api/circuit-breakers: the registry's health report (SPEC 1.1), its recent state transitions and
// resetting breakers.

import type { ControlPlane } from '../healing/index.ts';
import { NotFoundError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { type BreakerTransitions, breakerTransitions } from './breakerTransitions.ts';
import { jsonResponse } from './responses.ts';

/**
 * `transitions`: the history the routes list, shared with the stream's count of it; without one,
 * the routes keep their own from now on.
 */
export function breakerRoutes(
  controlPlane: ControlPlane,
  transitions: BreakerTransitions = breakerTransitions(controlPlane.breakers),
): Route[] {
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
