// redactConfig: a copy of a loaded config safe to log or return from the API (no token, key or password).

import type { ReboundConfig } from './configTypes.ts';

export const REDACTED = '[redacted]';

/** Values a config took from the environment: secrets by default, wherever they landed. */
const environmentSecrets = new WeakMap<ReboundConfig, ReadonlySet<string>>();

export function rememberSecrets(config: ReboundConfig, secrets: ReadonlySet<string>): void {
  environmentSecrets.set(config, secrets);
}

const SECRET_NAME = /(secret|password|passwd|token|key|credential|auth)/i;

/** A URL with its password, query values and (for Slack, whose path is the secret) path hidden. */
export function redactUrl(text: string, hidePath = false): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return REDACTED;
  }
  if (url.password) url.password = 'redacted';
  for (const key of [...url.searchParams.keys()]) url.searchParams.set(key, 'redacted');
  if (hidePath && url.pathname !== '/') url.pathname = '/redacted';
  return url.toString();
}

/**
 * A deep copy with every secret replaced: `server.token`, webhook routing keys and headers, URL
 * passwords and query strings, Slack webhook paths, service environment values that came from
 * `${ENV}` or whose name looks secret, and any other string that contains a value from the environment.
 */
export function redactConfig(config: ReboundConfig): ReboundConfig {
  const secrets = [...(environmentSecrets.get(config) ?? [])].filter((secret) => secret.length >= 4);
  const scrub = (value: unknown): unknown => {
    if (typeof value === 'string') {
      return secrets.reduce(
        (text, secret) => (text.includes(secret) ? text.replaceAll(secret, REDACTED) : text),
        value,
      );
    }
    if (Array.isArray(value)) return value.map(scrub);
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, scrub(item)]));
    }
    return value;
  };
  const services = Object.fromEntries(
    Object.entries(config.services).map(([name, service]) => [
      name,
      {
        ...service,
        env: Object.fromEntries(
          Object.entries(service.env).map(([key, value]) => [
            key,
            SECRET_NAME.test(key) || secrets.includes(value) ? REDACTED : value,
          ]),
        ),
      },
    ]),
  );
  const copy: ReboundConfig = {
    ...config,
    store: redactUrlIfAny(config.store),
    server: { ...config.server, token: config.server.token === undefined ? undefined : REDACTED },
    services,
    escalation: config.escalation.map((entry) => ({
      ...entry,
      webhook: {
        ...entry.webhook,
        url: redactUrl(entry.webhook.url, entry.webhook.format === 'slack'),
        routingKey: entry.webhook.routingKey === undefined ? undefined : REDACTED,
        headers: Object.fromEntries(Object.keys(entry.webhook.headers).map((key) => [key, REDACTED])),
      },
    })),
  };
  return scrub(copy) as ReboundConfig;
}

/** Store URLs such as `sqlite:.rebound/state.db` are not parsed as URLs with credentials. */
function redactUrlIfAny(text: string): string {
  return text.includes('://') ? redactUrl(text) : text;
}
