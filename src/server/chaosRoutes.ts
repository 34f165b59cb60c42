// /api/chaos: experiments started against the control plane's services, their journals, and the
// emergency stop (SPEC 5).

import { isExperimentError, validateExperiment } from '../chaos/index.ts';
import { type ControlPlane, NotFoundError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { invalidBody, requireService } from './validation.ts';

/** The actions an experiment's rollbacks may name. */
const ROLLBACK_ACTIONS = ['restart-service', 'start-service', 'stop-service', 'scale'];

export function chaosRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/chaos/experiments',
      body: 'json',
      handle({ body }) {
        let experiment;
        try {
          experiment = validateExperiment(body, { source: 'body', actions: ROLLBACK_ACTIONS });
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
      method: 'POST',
      path: '/api/chaos/stop',
      body: 'json',
      handle: async () =>
        jsonResponse(200, await controlPlane.chaos.stopAll('emergency stop (POST /api/chaos/stop)')),
    },
  ];
}
