// `rebound chaos`: breaking things on purpose. `proxy` runs the fault proxy and its Toxiproxy API
// alone, a drop-in for toxiproxy-server; `run` and `stop` drive experiments (not yet available).

import { startToxiproxyApi } from '../chaos/index.ts';
import { type CliOutput, type Command, EXIT_USAGE, parseCommandArgs } from './command.ts';

const USAGE = `Usage: rebound chaos <subcommand> [options]

Subcommands:
  proxy [--host HOST] [--port PORT]
        runs the fault proxy and its Toxiproxy-compatible API (default 127.0.0.1:8474), a
        drop-in for toxiproxy-server: Toxiproxy's clients and CLI create proxies and toxics
        through it. Runs until SIGTERM or Ctrl-C, then closes every proxy and exits 0.
  run FILE   runs an experiment against the control plane (not yet available)
  stop       removes every active fault at once (not yet available)

Options:
  -h, --help  show this help
`;

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
    if (subcommand === 'run' || subcommand === 'stop') {
      output.stderr.write(`rebound chaos ${subcommand}: not yet available\n`);
      return EXIT_USAGE;
    }
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
