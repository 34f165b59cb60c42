// The `rebound` CLI: dispatches `rebound <command> [args]` to one file per command.

import { readFileSync } from 'node:fs';
import { type CliOutput, type Command, EXIT_USAGE } from './command.ts';
import { breakersCommand } from './breakers.ts';
import { chaosCommand } from './chaos.ts';
import { incidentsCommand } from './incidents.ts';
import { reportCommand } from './report.ts';
import { restartCommand } from './restart.ts';
import { statusCommand } from './status.ts';
import { upCommand } from './up.ts';
import { validateCommand } from './validate.ts';

/** The commands, in the order `rebound --help` lists them. */
export const COMMANDS: readonly Command[] = [
  upCommand,
  statusCommand,
  breakersCommand,
  restartCommand,
  incidentsCommand,
  chaosCommand,
  reportCommand,
  validateCommand,
];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  const lines = COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`);
  return `Usage: rebound <command> [args]

rebound keeps services running: it supervises them, heals them by policy and reports on their reliability.

Commands:
${lines.join('\n')}

Options:
  -h, --help     show this help (rebound <command> --help for a command's)
  -v, --version  print rebound's version
`;
}

function version(): string {
  // src/cli/main.ts and dist/cli/main.js both sit two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI with `args` (without `node` and the script); resolves to the exit code. */
export async function main(
  args: readonly string[] = process.argv.slice(2),
  output: CliOutput = process,
): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined) {
    output.stderr.write(usage());
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h') {
    output.stdout.write(usage());
    return 0;
  }
  if (name === 'help') {
    const command = COMMANDS.find((candidate) => candidate.name === rest[0]);
    output.stdout.write(command ? command.usage : usage());
    return command || rest.length === 0 ? 0 : EXIT_USAGE;
  }
  if (name === '--version' || name === '-v') {
    output.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    output.stderr.write(`rebound: unknown command ${JSON.stringify(name)}\n\n${usage()}`);
    return EXIT_USAGE;
  }
  return command.run(rest, output);
}

if (import.meta.main) process.exitCode = await main();
