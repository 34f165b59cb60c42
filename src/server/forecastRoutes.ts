// /api/forecasts: the forecasts predictive policy conditions watch (Holt's linear trend per service
// and metric), each with what it forecasts now and how far off it has been at its horizon.

import type { ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { requireService } from './validation.ts';

export function forecastRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/forecasts',
      query: ['service'],
      handle({ query }) {
        const service = query.get('service') ?? undefined;
        if (service !== undefined) requireService(controlPlane, service);
        const forecasts = controlPlane
          .forecasts()
          .filter((forecast) => service === undefined || forecast.service === service);
        return jsonResponse(200, { forecasts });
      },
    },
  ];
}
