// `rebound incidents`: the incidents of a running `rebound up`; `ack`, `resolve` and `note` act on one.

import {
  type IncidentSummaryView,
  type IncidentView,
  INCIDENT_STATUSES,
  isIncidentStatus,
} from '../healing/index.ts';
import { type ApiClient, CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, EXIT_USAGE, parseCommandArgs } from './command.ts';
import { formatTable } from './table.ts';

/** A title longer than this is cut in the table (the whole of it is in --json and the dashboard). */
const TITLE_WIDTH = 60;

const LIST_OPTIONS = {
  ...CONNECTION_OPTIONS,
  json: { type: 'boolean' },
  status: { type: 'string' },
} as const;
const ACTION_OPTIONS = { ...CONNECTION_OPTIONS, json: { type: 'boolean' } } as const;

export const incidentsCommand: Command = {
  name: 'incidents',
  summary: 'list the incidents of a running `rebound up`; acknowledge, resolve or annotate one',
  usage: `Usage: rebound incidents [--status STATUS] [--json] [connection options]
       rebound incidents ack ID [--json] [connection options]
       rebound incidents resolve ID [--json] [connection options]
       rebound incidents note ID TEXT [--json] [connection options]

Without a subcommand, lists the incidents, newest first, one line each:
  ID        the incident's id (the argument of ack, resolve and note)
  SERVICE   the service it is about
  SEVERITY  critical, high, medium or low
  STATUS    open, mitigating, resolved or escalated
  TITLE     what opened it
  OPENED    when it opened (UTC)
  RESOLVED  when it resolved (UTC), "-" while it is not
  ACKED     when an operator acknowledged it (UTC), "-" until then

Subcommands:
  ack ID          acknowledge the incident (a second ack changes nothing)
  resolve ID      resolve the incident by hand (exit 1 if it is resolved already)
  note ID TEXT    add TEXT (1 to 4000 characters) to the incident's timeline

Options:
  --status STATUS  only incidents in STATUS: ${INCIDENT_STATUSES.join(', ')}
  --json           print what the API answers ({ incidents }, or the incident acted on)
${CONNECTION_USAGE}
  -h, --help       show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const [subcommand, ...rest] = args;
    if (subcommand === 'ack' || subcommand === 'resolve' || subcommand === 'note') {
      return act(this, subcommand, rest, output);
    }
    return list(this, args, output);
  },
};

async function list(command: Command, args: readonly string[], output: CliOutput): Promise<number> {
  const parsed = parseCommandArgs(command, args, output, LIST_OPTIONS, true);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > 0) {
    return usageError(
      command,
      output,
      `unknown subcommand ${JSON.stringify(positionals[0])} (ack, resolve or note)`,
    );
  }
  const status = values.status;
  if (status !== undefined && !isIncidentStatus(status)) {
    return usageError(
      command,
      output,
      `--status must be one of ${INCIDENT_STATUSES.join(', ')}, got ${JSON.stringify(status)}`,
    );
  }
  return withApi('incidents', values, output, async (client) => {
    const query = status === undefined ? '' : `?status=${status}`;
    const { incidents } = await client.get<{ incidents: IncidentSummaryView[] }>(`/api/incidents${query}`);
    if (values.json) output.stdout.write(`${JSON.stringify({ incidents }, null, 2)}\n`);
    else if (incidents.length === 0)
      output.stdout.write(status ? `no ${status} incidents\n` : 'no incidents\n');
    else output.stdout.write(formatIncidents(incidents));
    return 0;
  });
}

async function act(
  command: Command,
  subcommand: 'ack' | 'resolve' | 'note',
  args: readonly string[],
  output: CliOutput,
): Promise<number> {
  const parsed = parseCommandArgs(command, args, output, ACTION_OPTIONS, true);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  const expected = subcommand === 'note' ? 2 : 1;
  if (positionals.length !== expected || positionals.some((value) => value === '')) {
    const what = subcommand === 'note' ? 'an ID and a TEXT' : 'one ID';
    return usageError(
      command,
      output,
      `${subcommand} expects ${what}, got ${positionals.length} argument(s)`,
    );
  }
  const [id, text] = positionals as [string, string | undefined];
  return withApi('incidents', values, output, async (client: ApiClient) => {
    const path = `/api/incidents/${encodeURIComponent(id)}`;
    const incident =
      subcommand === 'ack'
        ? await client.post<IncidentView>(`${path}/ack`)
        : subcommand === 'resolve'
          ? await client.post<IncidentView>(`${path}/resolve`)
          : await client.post<IncidentView>(`${path}/notes`, { text });
    if (values.json) {
      output.stdout.write(`${JSON.stringify(incident, null, 2)}\n`);
    } else if (subcommand === 'ack') {
      output.stdout.write(`${id}: acknowledged at ${shortTime(incident.acknowledgedAt)}\n`);
    } else if (subcommand === 'resolve') {
      output.stdout.write(`${id}: resolved at ${shortTime(incident.resolvedAt)}\n`);
    } else {
      output.stdout.write(`${id}: note added\n`);
    }
    return 0;
  });
}

function usageError(command: Command, output: CliOutput, message: string): number {
  output.stderr.write(`rebound ${command.name}: ${message}\n\n${command.usage}`);
  return EXIT_USAGE;
}

/** The table of `rebound incidents`. */
export function formatIncidents(incidents: readonly IncidentSummaryView[]): string {
  return formatTable(
    [
      { header: 'ID' },
      { header: 'SERVICE' },
      { header: 'SEVERITY' },
      { header: 'STATUS' },
      { header: 'TITLE' },
      { header: 'OPENED' },
      { header: 'RESOLVED' },
      { header: 'ACKED' },
    ],
    incidents.map((incident) => [
      incident.id,
      incident.service,
      incident.severity,
      incident.status,
      cut(incident.title, TITLE_WIDTH),
      shortTime(incident.openedAt),
      shortTime(incident.resolvedAt),
      shortTime(incident.acknowledgedAt),
    ]),
  );
}

/** `2025-01-01 00:00:00Z`; "-" for a time not reached. */
function shortTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}Z`;
}

function cut(text: string, max: number): string {
  const points = Array.from(text.replaceAll(/\s+/g, ' '));
  return points.length <= max ? points.join('') : `${points.slice(0, max - 1).join('')}…`;
}
