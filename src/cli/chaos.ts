// `rebound chaos`: breaking things on purpose. `proxy` runs the fault proxy and its Toxiproxy API
// alone, a drop-in for toxiproxy-server; `run` submits an experiment to a running `rebound up` and
// follows it; `stop` is the emergency stop.

import { readFile } from 'node:fs/promises';
import {
  isExperimentError,
  type Journal,
  readExperimentDocument,
  startToxiproxyApi,
  validateExperiment,
} from '../chaos/index.ts';
import { EXPERIMENT_ROLLBACK_ACTIONS } from '../healing/index.ts';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, EXIT_USAGE, parseCommandArgs } from './command.ts';

const USAGE = `Usage: rebound chaos <subcommand> [options]

Subcommands:
  proxy [--host HOST] [--port PORT]
        runs the fault proxy and its Toxiproxy-compatible API (default 127.0.0.1:8474), a
        drop-in for toxiproxy-server: Toxiproxy's clients and CLI create proxies and toxics
        through it. Runs until SIGTERM or Ctrl-C, then closes every proxy and exits 0.
  run FILE [--api URL]
        submits the experiment in FILE (YAML or JSON) to a running \`rebound up\`, shows its
        progress, and exits 0 only when it ends completed (1 when failed, aborted or
        interrupted), so it can gate a CI pipeline. Ctrl-C sends the emergency stop.
  stop  the emergency stop: removes every active fault of every run at once; running
        experiments end interrupted (their rollbacks run)

Options of run and stop:
  --api URL      the same as --url
${CONNECTION_USAGE}
  -h, --help     show this help
`;

const API_OPTIONS = { ...CONNECTION_OPTIONS, api: { type: 'string' } } as const;
/** How often `run` reads the journal of its run. */
const FOLLOW_EVERY_MS = 250;

const PROXY_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string', short: 'p' },
} as const;

export const chaosCommand: Command = {
  name: 'chaos',
  summary: 'break things on purpose: a Toxiproxy-compatible fault proxy, experiments',
  usage: USAGE,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const [subcommand, ...rest] = args;
    if (subcommand === 'proxy') return runProxy(this, rest, output);
    if (subcommand === 'run') return runExperimentFile(this, rest, output);
    if (subcommand === 'stop') return emergencyStop(this, rest, output);
    const parsed = parseCommandArgs(this, args, output, {});
    if (typeof parsed === 'number') return parsed;
    output.stderr.write(
      subcommand === undefined
        ? `rebound chaos: a subcommand is required\n\n${USAGE}`
        : `rebound chaos: unknown subcommand ${JSON.stringify(subcommand)}\n\n${USAGE}`,
    );
    return EXIT_USAGE;
  },
};

async function runProxy(command: Command, args: readonly string[], output: CliOutput): Promise<number> {
  const parsed = parseCommandArgs(command, args, output, PROXY_OPTIONS);
  if (typeof parsed === 'number') return parsed;
  const host = parsed.values.host ?? '127.0.0.1';
  const portText = parsed.values.port ?? '8474';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port > 65535) {
    output.stderr.write(
      `rebound chaos proxy: --port must be a port number (0-65535), got ${JSON.stringify(portText)}\n`,
    );
    return EXIT_USAGE;
  }
  let server;
  try {
    server = await startToxiproxyApi({ host, port });
  } catch (error) {
    output.stderr.write(
      `rebound chaos proxy: cannot serve the API on ${host}:${port}: ${(error as Error).message}\n`,
    );
    return 1;
  }
  output.stdout.write(`rebound chaos proxy: Toxiproxy API at ${server.url}\n`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      process.off('SIGTERM', onTerm).off('SIGINT', onInt);
      output.stdout.write(`rebound chaos proxy: ${signal}: closing every proxy\n`);
      void server.close().then(() => {
        output.stdout.write('rebound chaos proxy: stopped\n');
        resolve(0);
      });
    };
    const onTerm = (): void => stop('SIGTERM');
    const onInt = (): void => stop('SIGINT');
    process.on('SIGTERM', onTerm).on('SIGINT', onInt);
  });
}

async function runExperimentFile(
  command: Command,
  args: readonly string[],
  output: CliOutput,
): Promise<number> {
  const parsed = parseCommandArgs(command, args, output, API_OPTIONS, true);
  if (typeof parsed === 'number') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    output.stderr.write(`rebound chaos run: expected one FILE, got ${positionals.length}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const file = positionals[0]!;
  let experiment;
  let document: unknown;
  try {
    document = readExperimentDocument(await readFile(file, 'utf8'), { source: file });
    // Every problem here, with the control plane's rollback actions, before anything is sent.
    experiment = validateExperiment(document, { source: file, actions: EXPERIMENT_ROLLBACK_ACTIONS });
  } catch (error) {
    if (isExperimentError(error)) {
      for (const problem of error.problems)
        output.stderr.write(`${file}: ${problem.path}: ${problem.message}\n`);
      output.stderr.write(`rebound chaos run: ${file} is invalid; nothing was started\n`);
      return 1;
    }
    output.stderr.write(`rebound chaos run: cannot read ${file}: ${(error as Error).message}\n`);
    return 1;
  }
  return withApi('chaos run', { ...values, url: values.api ?? values.url }, output, async (client) => {
    const { id } = await client.post<{ id: string }>('/api/chaos/experiments', document);
    output.stdout.write(`rebound chaos run: ${experiment.title} (run ${id}) against ${experiment.target}\n`);
    const onInt = (): void => {
      output.stdout.write('rebound chaos run: Ctrl-C: emergency stop\n');
      void client.post('/api/chaos/stop', {}).catch(() => {});
    };
    process.on('SIGINT', onInt);
    try {
      let shown = 0;
      let journal: Journal;
      for (;;) {
        journal = await client.get<Journal>(`/api/chaos/runs/${encodeURIComponent(id)}`);
        const activities = [...journal.activities, ...journal.rollbacks].filter((activity) => activity.end);
        for (const activity of activities.slice(shown)) {
          const said = activity.output ? `: ${activity.output}` : '';
          output.stdout.write(`  ${activity.status.padEnd(9)} ${activity.name}${said}\n`);
        }
        shown = Math.max(shown, activities.length);
        if (journal.status !== 'running') break;
        await new Promise((resolve) => setTimeout(resolve, FOLLOW_EVERY_MS));
      }
      const recovery =
        journal.recoveryMs === null ? 'not recovered' : `recovered in ${journal.recoveryMs} ms`;
      const expected = journal.expectation.recoveredWithinMs;
      const against = expected === null ? '' : ` (expected within ${expected} ms)`;
      const reason = journal.reason ? `: ${journal.reason}` : '';
      output.stdout.write(`rebound chaos run: ${journal.status}${reason}; ${recovery}${against}\n`);
      return journal.status === 'completed' ? 0 : 1;
    } finally {
      process.off('SIGINT', onInt);
    }
  });
}

async function emergencyStop(command: Command, args: readonly string[], output: CliOutput): Promise<number> {
  const parsed = parseCommandArgs(command, args, output, API_OPTIONS);
  if (typeof parsed === 'number') return parsed;
  const { values } = parsed;
  return withApi('chaos stop', { ...values, url: values.api ?? values.url }, output, async (client) => {
    const { interrupted } = await client.post<{ interrupted: string[] }>('/api/chaos/stop', {});
    output.stdout.write(
      `rebound chaos stop: every fault removed; ${interrupted.length === 0 ? 'no run was going' : `interrupted ${interrupted.join(', ')}`}\n`,
    );
    return 0;
  });
}
