// What a CLI command writes, captured for the command tests: `capture()` for a CliOutput to hand to
// `main` or a command, `runCommand` to run one command and get its exit code and output.

import type { CliOutput, Command } from '../../src/cli/command.ts';

export function capture(): { out: { stdout: string; stderr: string }; output: CliOutput } {
  const out = { stdout: '', stderr: '' };
  const output = {
    stdout: { write: (text: string) => (out.stdout += text) },
    stderr: { write: (text: string) => (out.stderr += text) },
  };
  return { out, output };
}

export async function runCommand(
  command: Command,
  args: readonly string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const { out, output } = capture();
  const code = await command.run(args, output);
  return { code, ...out };
}
