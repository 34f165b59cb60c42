// /api/incidents: incidents with their timelines.

import type { ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';

export function incidentRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/incidents',
      handle: async () => jsonResponse(200, { incidents: await controlPlane.incidents() }),
    },
    {
      method: 'GET',
      path: '/api/incidents/:id',
      handle: async ({ params }) => jsonResponse(200, await controlPlane.incident(params.id!)),
    },
  ];
}
