// /api/chaos: experiments started against the control plane's services, their journals, the
// schedules that start them, and the emergency stop (SPEC 5).

import { isExperimentError, validateExperiment } from '../chaos/index.ts';
import { type ControlPlane, EXPERIMENT_ROLLBACK_ACTIONS, NotFoundError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { invalidBody, requireService } from './validation.ts';

export function chaosRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/chaos/experiments',
      body: 'json',
      handle({ body }) {
        let experiment;
        try {
          experiment = validateExperiment(body, { source: 'body', actions: EXPERIMENT_ROLLBACK_ACTIONS });
        } catch (error) {
          if (isExperimentError(error)) throw invalidBody(error.problems);
          throw error;
        }
        requireService(controlPlane, experiment.target);
        return jsonResponse(202, controlPlane.chaos.start(experiment));
      },
    },
    {
      method: 'GET',
      path: '/api/chaos/runs',
      handle: async () => jsonResponse(200, { runs: await controlPlane.chaos.list() }),
    },
    {
      method: 'GET',
      path: '/api/chaos/runs/:id',
      async handle({ params }) {
        const run = await controlPlane.chaos.get(params.id!);
        if (!run) throw new NotFoundError(`no chaos run with id ${JSON.stringify(params.id)}`);
        return jsonResponse(200, run);
      },
    },
    {
      method: 'GET',
      path: '/api/chaos/schedules',
      handle: () => jsonResponse(200, { schedules: controlPlane.chaosSchedules.list() }),
    },
    {
      method: 'POST',
      path: '/api/chaos/stop',
      body: 'json',
      handle: async () =>
        jsonResponse(200, await controlPlane.chaos.stopAll('emergency stop (POST /api/chaos/stop)')),
    },
  ];
}
