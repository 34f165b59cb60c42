// /api/incidents: incidents with their timelines; an operator acknowledges, resolves and annotates them.

import { z } from 'zod';
import { type ControlPlane, INCIDENT_STATUSES, isIncidentStatus, NOTE_MAX_LENGTH } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { badRequest, jsonResponse } from './responses.ts';
import { parseWith } from './validation.ts';

const noteBody = z.strictObject({ text: z.string().min(1).max(NOTE_MAX_LENGTH) });

export function incidentRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/incidents',
      query: ['status'],
      async handle({ query }) {
        const status = query.get('status');
        if (status === null) return jsonResponse(200, { incidents: await controlPlane.incidents() });
        if (!isIncidentStatus(status)) {
          const allowed = INCIDENT_STATUSES.join(', ');
          throw badRequest(`status must be one of ${allowed}, got ${JSON.stringify(status)}`, [
            { path: 'status', message: `must be one of ${allowed}` },
          ]);
        }
        return jsonResponse(200, { incidents: await controlPlane.incidents({ status }) });
      },
    },
    {
      method: 'GET',
      path: '/api/incidents/:id',
      handle: async ({ params }) => jsonResponse(200, await controlPlane.incident(params.id!)),
    },
    {
      method: 'POST',
      path: '/api/incidents/:id/ack',
      handle: async ({ params }) => jsonResponse(200, await controlPlane.acknowledgeIncident(params.id!)),
    },
    {
      method: 'POST',
      path: '/api/incidents/:id/resolve',
      handle: async ({ params }) => jsonResponse(200, await controlPlane.resolveIncident(params.id!)),
    },
    {
      method: 'POST',
      path: '/api/incidents/:id/notes',
      body: 'json',
      async handle({ params, body }) {
        // The incident is looked up first so that an unknown one is a 404 whatever the body says.
        await controlPlane.incident(params.id!);
        const { text } = parseWith(noteBody, body);
        return jsonResponse(200, await controlPlane.addIncidentNote(params.id!, text));
      },
    },
  ];
}
