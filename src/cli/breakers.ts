// `rebound breakers`: the circuit breakers of a running `rebound up` and their overall health.

import type { BreakerRegistryHealth } from '../policies/index.ts';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, parseCommandArgs } from './command.ts';
import { formatTable } from './table.ts';

export const breakersCommand: Command = {
  name: 'breakers',
  summary: 'show the circuit breakers of a running `rebound up` and their health',
  usage: `Usage: rebound breakers [--json] [--url URL] [--config FILE] [--token TOKEN]

Asks a running \`rebound up\` for its circuit breakers and prints one line per breaker:
  KIND      what it guards (e.g. gateway, webhook)
  NAME      which one of that kind
  STATE     closed (calls go through), open (calls refused), half-open (trial calls) or isolated
  HEALTH    share of its recent calls that did not fail
  FAILURES  failed calls since it was created or last reset
then one line over all of them: how many are in each state and the overall health (the mean
health, lowered by the share of breakers that refuse calls).

Options:
  --json         print the health report as the API returns it
${CONNECTION_USAGE}
  -h, --help     show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(this, args, output, { ...CONNECTION_OPTIONS, json: { type: 'boolean' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    return withApi('breakers', values, output, async (client) => {
      const health = await client.get<BreakerRegistryHealth>('/api/circuit-breakers');
      output.stdout.write(values.json ? `${JSON.stringify(health, null, 2)}\n` : formatBreakers(health));
      return 0;
    });
  },
};

/** The table and summary line of `rebound breakers`. */
export function formatBreakers(health: BreakerRegistryHealth): string {
  const rows = Object.entries(health.kinds).flatMap(([kind, circuits]) =>
    Object.entries(circuits).map(([name, circuit]) => [
      kind,
      name,
      circuit.state,
      percent(circuit.healthPercent),
      String(circuit.totalFailures),
    ]),
  );
  const { aggregate } = health;
  const summary =
    `${aggregate.totalCircuits} circuit${aggregate.totalCircuits === 1 ? '' : 's'}: ` +
    `${aggregate.closedCircuits} closed, ${aggregate.halfOpenCircuits} half-open, ` +
    `${aggregate.openCircuits} open, ${aggregate.isolatedCircuits} isolated; ` +
    `overall health ${percent(aggregate.overallHealth)}\n`;
  if (rows.length === 0) return `no circuit breakers yet\n${summary}`;
  const table = formatTable(
    [
      { header: 'KIND' },
      { header: 'NAME' },
      { header: 'STATE' },
      { header: 'HEALTH', align: 'right' },
      { header: 'FAILURES', align: 'right' },
    ],
    rows,
  );
  return `${table}\n${summary}`;
}

/** 100 → `100%`, 66.666… → `66.7%`. */
function percent(value: number): string {
  return `${Number.isInteger(value) ? value : value.toFixed(1)}%`;
}
