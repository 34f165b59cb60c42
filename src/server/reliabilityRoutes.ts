// /api/reliability: every service's availability, error budget, MTTR, MTBF, burn rates and
// burn-rate alerts over its SLO window, and the figures across services (SPEC 6).

import type { ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';

export function reliabilityRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/reliability',
      handle: async () => jsonResponse(200, await controlPlane.reliability()),
    },
  ];
}
