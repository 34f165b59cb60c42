// The bodies of escalation webhooks: rebound's generic JSON, PagerDuty Events API v2, Slack.

import type { Severity, WebhookConfig, WebhookFormat } from './configTypes.ts';

/** One page (or its resolution) for a person, in every format alike. */
export interface Notification {
  /** Dedup key: stable per incident (e.g. `rebound-${service}-${incidentId}`). */
  id: string;
  action: 'trigger' | 'resolve';
  service: string;
  severity: Severity;
  summary: string;
  /** What was already tried, e.g. ["restart-service (failed: ...)"]. */
  tried: string[];
  details: Record<string, unknown>;
  /** Epoch ms. */
  at: number;
  /** What kind of event it is (PagerDuty's `class`), e.g. 'healing-failed', 'crash-loop'; default 'incident'. */
  kind?: string;
  /** Where a person can see more, e.g. the dashboard's incident page (PagerDuty's `client_url`). */
  link?: string;
}

export interface FormattedWebhook {
  body: unknown;
  headers: Record<string, string>;
}

/** PagerDuty's four severities; rebound's `high` is PagerDuty's `error`. */
export const PAGERDUTY_SEVERITY: Readonly<Record<Severity, 'critical' | 'error' | 'warning' | 'info'>> = {
  critical: 'critical',
  high: 'error',
  medium: 'warning',
  low: 'info',
};

/** PagerDuty refuses a longer `payload.summary`. */
export const PAGERDUTY_SUMMARY_MAX = 1024;
/** Slack's limits on a header block's text and a section's text. */
const SLACK_HEADER_MAX = 150;
const SLACK_SECTION_MAX = 3000;

/** The request body and headers of one notification for one webhook (the caller serializes the body). */
export function formatWebhook(
  format: WebhookFormat,
  n: Notification,
  webhook: WebhookConfig,
): FormattedWebhook {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': 'rebound',
    ...webhook.headers,
  };
  switch (format) {
    case 'pagerduty':
      return { body: pagerDutyBody(n, webhook.routingKey ?? ''), headers };
    case 'slack':
      return { body: slackBody(n), headers };
    case 'generic':
      return { body: genericBody(n), headers };
  }
}

function pagerDutyBody(n: Notification, routingKey: string): unknown {
  // A resolve names only the alert it closes: PagerDuty ignores (and may reject) anything else.
  if (n.action === 'resolve') return { routing_key: routingKey, event_action: 'resolve', dedup_key: n.id };
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: n.id,
    payload: {
      summary: truncate(n.summary, PAGERDUTY_SUMMARY_MAX),
      source: `rebound/${n.service}`,
      severity: PAGERDUTY_SEVERITY[n.severity],
      timestamp: new Date(n.at).toISOString(),
      component: n.service,
      group: 'rebound',
      class: n.kind ?? 'incident',
      custom_details: { tried: n.tried, ...n.details },
    },
    client: 'rebound',
    ...(n.link === undefined ? {} : { client_url: n.link }),
  };
}

function genericBody(n: Notification): unknown {
  return {
    version: 1,
    id: n.id,
    action: n.action,
    service: n.service,
    severity: n.severity,
    summary: n.summary,
    tried: n.tried,
    details: n.details,
    at: new Date(n.at).toISOString(),
    ...(n.kind === undefined ? {} : { kind: n.kind }),
    ...(n.link === undefined ? {} : { link: n.link }),
  };
}

function slackBody(n: Notification): unknown {
  const resolved = n.action === 'resolve';
  const title = resolved
    ? `Resolved: ${n.service}`
    : `${n.severity.toUpperCase()}: ${n.service} needs a person`;
  const text = resolved
    ? `Resolved: ${n.service}: ${n.summary}`
    : `[${n.severity}] ${n.service}: ${n.summary}`;
  const blocks: unknown[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(title, SLACK_HEADER_MAX) } },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(escapeSlack(n.summary), SLACK_SECTION_MAX) },
      fields: [
        { type: 'mrkdwn', text: `*Severity*\n${escapeSlack(n.severity)}` },
        { type: 'mrkdwn', text: `*Service*\n${escapeSlack(n.service)}` },
      ],
    },
  ];
  if (n.tried.length > 0) {
    const tried = n.tried.map((line) => `• ${escapeSlack(line)}`).join('\n');
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: truncate(`*Already tried*\n${tried}`, SLACK_SECTION_MAX) },
    });
  }
  const context = [`${new Date(n.at).toISOString()}`, `dedup key ${escapeSlack(n.id)}`];
  if (n.link !== undefined) context.push(`<${n.link}|details>`);
  blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: context.join(' · ') }] });
  return { text: escapeSlack(text), blocks };
}

/** Slack reads `&`, `<` and `>` as markup; everything else is literal. */
function escapeSlack(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** At most `max` characters (code points), ending with an ellipsis when cut. */
function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const points = Array.from(text);
  return points.length <= max ? text : `${points.slice(0, max - 1).join('')}…`;
}
