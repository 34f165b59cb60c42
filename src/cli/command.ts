// What every CLI command file exports, and the output streams it writes to (injectable for tests).

import { type ParseArgsOptionsConfig, parseArgs } from 'node:util';

export interface CliOutput {
  readonly stdout: { write(text: string): unknown };
  readonly stderr: { write(text: string): unknown };
}

export interface Command {
  readonly name: string;
  /** One line for `rebound --help`. */
  readonly summary: string;
  /** The full text of `rebound <name> --help`. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(args: readonly string[], output: CliOutput): Promise<number>;
}

/** Exit code for a usage mistake (unknown command or option), as in BSD sysexits' EX_USAGE spirit and most CLIs. */
export const EXIT_USAGE = 2;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses a command's arguments: its own options plus -h/--help. Answers the parsed values, or the
 * exit code when the command is done already: 0 after printing its help, EXIT_USAGE after a mistake.
 */
export function parseCommandArgs<const O extends ParseArgsOptionsConfig>(
  command: Command,
  args: readonly string[],
  output: CliOutput,
  options: O,
  allowPositionals = false,
) {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, ...HELP }, allowPositionals, strict: true });
  } catch (error) {
    output.stderr.write(`rebound ${command.name}: ${(error as Error).message}\n\n${command.usage}`);
    return EXIT_USAGE;
  }
  if ((parsed.values as { help?: boolean }).help) {
    output.stdout.write(command.usage);
    return 0;
  }
  return parsed;
}
