// /api/circuit-breakers: the registry's health report (SPEC 1.1) and resetting breakers.

import type { ControlPlane } from '../healing/index.ts';
import { NotFoundError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';

export function breakerRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/circuit-breakers',
      handle: () => jsonResponse(200, controlPlane.breakers.health()),
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
