// `rebound status`: every service of a running `rebound up`, one line each.

import type { ServiceView } from '../healing/index.ts';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, parseCommandArgs } from './command.ts';
import { formatTable } from './table.ts';

export const statusCommand: Command = {
  name: 'status',
  summary: 'show the services of a running `rebound up`: state, replicas, latency, errors',
  usage: `Usage: rebound status [--json] [--url URL] [--config FILE] [--token TOKEN]

Asks a running \`rebound up\` for its services and prints one line per service:
  SERVICE   its name
  STATE     healthy, degraded, unhealthy, critical, recovering or stopped
  REPLICAS  healthy replicas / all replicas
  P99       99th percentile latency through its gateway over the last window
  ERR%      share of failed requests through its gateway
  RPS       requests per second through its gateway
  GATEWAY   where clients reach it, and whether its breaker, fallback or failover is on
A "-" means the service has no gateway or no traffic was measured yet.

Options:
  --json         print { services } as the API returns it
${CONNECTION_USAGE}
  -h, --help     show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(this, args, output, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    return withApi('status', values, output, async (client) => {
      const { services } = await client.get<{ services: ServiceView[] }>('/api/services');
      if (values.json) {
        output.stdout.write(`${JSON.stringify({ services }, null, 2)}\n`);
      } else if (services.length === 0) {
        output.stdout.write('no services\n');
      } else {
        output.stdout.write(formatStatus(services));
      }
      return 0;
    });
  },
};

/** The status table of `rebound status`. */
export function formatStatus(services: readonly ServiceView[]): string {
  return formatTable(
    [
      { header: 'SERVICE' },
      { header: 'STATE' },
      { header: 'REPLICAS', align: 'right' },
      { header: 'P99', align: 'right' },
      { header: 'ERR%', align: 'right' },
      { header: 'RPS', align: 'right' },
      { header: 'GATEWAY' },
    ],
    services.map((service) => {
      const healthy = service.replicas.filter((replica) => replica.state === 'healthy').length;
      const traffic = (name: string) => (service.gateway ? service.metrics[name] : undefined);
      return [
        service.name,
        service.state,
        `${healthy}/${service.replicas.length}`,
        // A latency over no request at all is not a measurement.
        show(traffic('requests') === 0 ? undefined : traffic('latency_p99'), (value) =>
          value < 10 ? `${value.toFixed(1)} ms` : `${Math.round(value)} ms`,
        ),
        show(traffic('error_rate'), (value) => `${(value * 100).toFixed(1)}%`),
        show(traffic('throughput'), (value) => value.toFixed(1)),
        gatewayText(service),
      ];
    }),
  );
}

function show(value: number | undefined, format: (value: number) => string): string {
  return value === undefined || !Number.isFinite(value) ? '-' : format(value);
}

function gatewayText(service: ServiceView): string {
  const gateway = service.gateway;
  if (!gateway) return '-';
  const host = gateway.host.includes(':') ? `[${gateway.host}]` : gateway.host;
  const modes = [
    ...(gateway.breaker ? ['breaker'] : []),
    ...(gateway.fallback ? ['fallback'] : []),
    ...(gateway.failover !== null ? [`failover to ${gateway.failover}`] : []),
  ];
  return modes.length === 0 ? `${host}:${gateway.port}` : `${host}:${gateway.port} (${modes.join(', ')})`;
}
