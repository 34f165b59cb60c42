// /api/services: the services' views, and the operator actions restart, stop, start and scale.

import { z } from 'zod';
import type { AttemptView, ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { parseWith, requireService } from './validation.ts';

const scaleBody = z.strictObject({ replicas: z.int().min(0) });

export function serviceRoutes(controlPlane: ControlPlane): Route[] {
  const action = (verb: string, run: (name: string) => Promise<AttemptView>): Route => ({
    method: 'POST',
    path: `/api/services/:name/${verb}`,
    async handle({ params }) {
      requireService(controlPlane, params.name!);
      return jsonResponse(200, { attempt: await run(params.name!) });
    },
  });
  return [
    {
      method: 'GET',
      path: '/api/services',
      handle: () => jsonResponse(200, { services: controlPlane.services() }),
    },
    {
      method: 'GET',
      path: '/api/services/:name',
      handle: ({ params }) => jsonResponse(200, controlPlane.service(params.name!)),
    },
    action('restart', (name) => controlPlane.restartService(name)),
    action('stop', (name) => controlPlane.stopService(name)),
    action('start', (name) => controlPlane.startService(name)),
    {
      method: 'POST',
      path: '/api/services/:name/scale',
      body: 'json',
      async handle({ params, body }) {
        const name = params.name!;
        // The service is looked up first so that an unknown one is a 404 whatever the body says.
        requireService(controlPlane, name);
        const { replicas } = parseWith(scaleBody, body);
        return jsonResponse(200, { attempt: await controlPlane.scaleService(name, replicas) });
      },
    },
  ];
}
