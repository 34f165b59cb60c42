// /api/policies and /api/healing: the configured policies, the healing log and its statistics.

import type { ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { badRequest, jsonResponse } from './responses.ts';
import { requireService } from './validation.ts';

/** Attempts returned when the request gives no `limit`, and the most it may ask for. */
export const HEALING_LIMIT_DEFAULT = 100;
export const HEALING_LIMIT_MAX = 1000;

export function healingRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/policies',
      handle: () => jsonResponse(200, { policies: controlPlane.policies() }),
    },
    {
      method: 'GET',
      path: '/api/healing',
      query: ['service', 'limit'],
      async handle({ query }) {
        const service = query.get('service') ?? undefined;
        if (service !== undefined) requireService(controlPlane, service);
        const limit = parseLimit(query.get('limit'));
        const attempts = await controlPlane.healing(service === undefined ? { limit } : { service, limit });
        return jsonResponse(200, { attempts });
      },
    },
    {
      method: 'GET',
      path: '/api/healing/stats',
      handle: async () => jsonResponse(200, await controlPlane.healingStats()),
    },
  ];
}

function parseLimit(text: string | null): number {
  if (text === null) return HEALING_LIMIT_DEFAULT;
  const limit = /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  if (!(limit >= 1 && limit <= HEALING_LIMIT_MAX)) {
    throw badRequest(`limit must be an integer from 1 to ${HEALING_LIMIT_MAX}, got ${JSON.stringify(text)}`, [
      { path: 'limit', message: `must be an integer from 1 to ${HEALING_LIMIT_MAX}` },
    ]);
  }
  return limit;
}
