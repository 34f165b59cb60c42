// The control plane itself: liveness (/api/health), config reload and the Prometheus exposition.

import { type ControlPlane, isConfigError } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { type MetricsExposition, createMetricsExposition } from './metricsExposition.ts';
import { errorResponse, jsonResponse, textResponse } from './responses.ts';

export function systemRoutes(controlPlane: ControlPlane): Route[] {
  // Created on the first scrape: the process metrics' collectors are not started for nothing.
  let exposition: MetricsExposition | undefined;
  return [
    {
      method: 'GET',
      path: '/api/health',
      handle: () => jsonResponse(200, { status: 'ok', version: controlPlane.version }),
    },
    {
      method: 'POST',
      path: '/api/reload',
      async handle() {
        try {
          return jsonResponse(200, await controlPlane.reload());
        } catch (error) {
          if (!isConfigError(error)) throw error;
          // The problems name paths, lines and messages; the config's secrets are never quoted in them.
          const count = error.problems.length;
          const message = `the config file is invalid (${count} problem${count === 1 ? '' : 's'}); nothing changed`;
          return errorResponse(400, 'CONFIG_INVALID', message, error.problems);
        }
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      async handle() {
        exposition ??= createMetricsExposition(controlPlane);
        return textResponse(200, exposition.contentType, await exposition.render());
      },
    },
  ];
}
