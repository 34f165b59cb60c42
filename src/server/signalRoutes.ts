// Signals posted to the API: metrics events (POST /api/events) and Alertmanager webhooks.

import { type ControlPlane, parseAlertmanagerPayload, parseMetricsEvent } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { jsonResponse } from './responses.ts';
import { invalidBody, requireService } from './validation.ts';

export function signalRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'POST',
      path: '/api/events',
      body: 'json',
      async handle({ body }) {
        const parsed = parseMetricsEvent(body);
        if (!parsed.ok) throw invalidBody(parsed.problems);
        requireService(controlPlane, parsed.value.service);
        return jsonResponse(202, await controlPlane.ingestEvent(parsed.value));
      },
    },
    {
      method: 'POST',
      path: '/api/alerts/alertmanager',
      body: 'json',
      async handle({ body }) {
        const parsed = parseAlertmanagerPayload(body);
        if (!parsed.ok) throw invalidBody(parsed.problems);
        return jsonResponse(202, await controlPlane.ingestAlerts(parsed.value));
      },
    },
  ];
}
