// What every CLI command file exports, and the output streams it writes to (injectable for tests).

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
