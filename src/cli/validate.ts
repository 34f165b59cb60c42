// `rebound validate FILE`: checks a rebound.yaml and prints every problem, one per line.

import { formatProblem, isConfigError, loadConfig } from '../healing/index.ts';
import { type CliOutput, type Command, EXIT_USAGE, parseCommandArgs } from './command.ts';

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check a config file and list every problem in it',
  usage: `Usage: rebound validate FILE [--json]

Checks FILE (a rebound.yaml) without starting anything: YAML syntax, every field's type and range,
unknown fields, references between services and policies, \${ENV_VAR} substitutions, and the
experiment files named by chaos.schedules (each problem with its path in that file).
Prints "FILE: valid (N services, M policies)" and exits 0, or prints every problem as
"FILE:LINE:COLUMN PATH: MESSAGE" and exits 1.

Options:
  --json      print { valid, services, policies, problems } as JSON instead
  -h, --help  show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(this, args, output, { json: { type: 'boolean' } }, true);
    if (typeof parsed === 'number') return parsed;
    if (parsed.positionals.length !== 1) {
      output.stderr.write(
        `rebound validate: expected one FILE, got ${parsed.positionals.length}\n\n${this.usage}`,
      );
      return EXIT_USAGE;
    }
    const file = parsed.positionals[0]!;
    try {
      const config = await loadConfig(file);
      const services = Object.keys(config.services).length;
      const policies = config.policies.length;
      if (parsed.values.json) {
        output.stdout.write(`${JSON.stringify({ valid: true, services, policies, problems: [] })}\n`);
      } else {
        output.stdout.write(
          `${file}: valid (${plural(services, 'service')}, ${plural(policies, 'policy', 'policies')})\n`,
        );
      }
      return 0;
    } catch (error) {
      if (!isConfigError(error)) throw error;
      if (parsed.values.json) {
        output.stdout.write(`${JSON.stringify({ valid: false, problems: error.problems })}\n`);
      } else {
        for (const problem of error.problems) output.stderr.write(`${formatProblem(file, problem)}\n`);
        output.stderr.write(`${file}: invalid (${plural(error.problems.length, 'problem')})\n`);
      }
      return 1;
    }
  },
};

function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`;
}
