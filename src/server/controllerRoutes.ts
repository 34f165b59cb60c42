// /api/controllers: the hierarchy of controllers of `rebound up` (SPEC 7) and the decisions of each level.

import type { ControlPlane, ControllerLevel } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { badRequest, jsonResponse } from './responses.ts';

const LEVELS: readonly ControllerLevel[] = ['service', 'group', 'global'];

export function controllerRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/controllers',
      query: ['level'],
      handle({ query }) {
        const level = query.get('level');
        if (level !== null && !(LEVELS as readonly string[]).includes(level)) {
          throw badRequest(
            `level must be one of ${LEVELS.join(', ')}, got ${JSON.stringify(level.slice(0, 50))}`,
            [{ path: 'level', message: `must be one of ${LEVELS.join(', ')}` }],
          );
        }
        const filter = level === null ? {} : { level: level as ControllerLevel };
        return jsonResponse(200, { controllers: controlPlane.controllers(filter) });
      },
    },
  ];
}
