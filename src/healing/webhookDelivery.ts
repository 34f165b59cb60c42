// One webhook request: POST the formatted notification, and turn every way it can fail into a
// WebhookDeliveryError that says whether sending it again can help.

import { permanent, ReboundError, hasErrorCode } from '../policies/index.ts';
import type { EscalationConfig, WebhookConfig } from './configTypes.ts';
import { REDACTED } from './configRedact.ts';
import { formatWebhook, type Notification } from './webhookFormats.ts';

/** The longest `Retry-After` obeyed: a receiver asking for hours must not hold a page that long. */
const RETRY_AFTER_MAX_MS = 300_000;

/** A webhook answered with an error, or could not be reached. */
export class WebhookDeliveryError extends ReboundError {
  /** The HTTP status, when there was an answer. */
  readonly status: number | undefined;
  /** From a 429/503 `Retry-After`: the retry waits at least this long. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, status?: number, retryAfterMs?: number) {
    super('WEBHOOK_FAILED', message);
    this.status = status;
    this.retryAfterMs = retryAfterMs;
  }
}

export const isWebhookDeliveryError = (error: unknown): error is WebhookDeliveryError =>
  hasErrorCode(error, 'WEBHOOK_FAILED');

/**
 * Sends one notification; resolves on a 2xx. A 408, 429, 5xx, timeout or network failure rejects
 * with a WebhookDeliveryError worth retrying (carrying `Retry-After`); any other answer rejects
 * with one marked permanent().
 */
export async function postWebhook(
  webhook: WebhookConfig,
  notification: Notification,
  signal: AbortSignal,
): Promise<void> {
  const { body, headers } = formatWebhook(webhook.format, notification, webhook);
  const timeout = AbortSignal.timeout(webhook.timeoutMs);
  let response: Response;
  let text: string;
  try {
    response = await fetch(webhook.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
      // Redirects are not followed: they would carry the routing key and headers elsewhere.
      redirect: 'manual',
      signal: AbortSignal.any([signal, timeout]),
    });
    text = await response.text();
  } catch (error) {
    if (signal.aborted) throw signal.reason;
    if (timeout.aborted) throw new WebhookDeliveryError(`no answer within ${webhook.timeoutMs} ms`);
    throw new WebhookDeliveryError(`request failed: ${networkReason(error)}`);
  }
  if (response.status >= 200 && response.status < 300) return;
  const answer = text.trim().slice(0, 200);
  const message = `HTTP ${response.status}${answer === '' ? '' : `: ${answer}`}`;
  const status = response.status;
  if (status === 408 || status === 429 || status >= 500) {
    throw new WebhookDeliveryError(message, status, retryAfter(response.headers.get('retry-after')));
  }
  // Any other answer (a 4xx, a redirect) will not change by sending the same request again.
  throw permanent(new WebhookDeliveryError(message, status));
}

/**
 * Every text of any target that must not show in a message: routing keys, header values, URL
 * passwords and query values, Slack webhook paths (the path is the credential). All targets'
 * together: an error body could quote anything.
 */
export function secretsOf(configs: readonly EscalationConfig[]): string[] {
  const secrets = configs.flatMap(({ webhook }) => {
    const url = new URL(webhook.url);
    return [
      ...(webhook.routingKey === undefined ? [] : [webhook.routingKey]),
      ...Object.values(webhook.headers),
      ...(webhook.format === 'slack' && url.pathname !== '/' ? [url.pathname] : []),
      decodeURIComponent(url.password),
      ...url.searchParams.values(),
    ];
  });
  // Longest first, so a secret containing another is hidden whole; short values would hide too much.
  return [...new Set(secrets)].filter((secret) => secret.length >= 4).sort((a, b) => b.length - a.length);
}

/** `Retry-After` in seconds or as an HTTP date; honoured up to RETRY_AFTER_MAX_MS. */
function retryAfter(header: string | null): number | undefined {
  if (header === null) return undefined;
  const seconds = Number(header);
  const ms =
    header.trim() !== '' && Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - Date.now();
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, RETRY_AFTER_MAX_MS) : undefined;
}

/** The error's message with every one of `secrets` blanked out. */
export function describeError(error: unknown, secrets: readonly string[]): string {
  let message = error instanceof Error ? error.message : String(error);
  for (const secret of secrets) {
    if (message.includes(secret)) message = message.replaceAll(secret, REDACTED);
  }
  return message;
}

/** `connect ECONNREFUSED 127.0.0.1:9` rather than fetch's bare "fetch failed". */
function networkReason(error: unknown): string {
  const cause = (error as { cause?: unknown })?.cause;
  if (cause instanceof Error) return cause.message;
  return error instanceof Error ? error.message : String(error);
}
