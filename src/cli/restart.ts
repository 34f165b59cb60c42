// `rebound restart SERVICE`: asks a running `rebound up` to restart a service's replicas, and says how it went.

import type { AttemptView } from '../healing/index.ts';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, EXIT_USAGE, parseCommandArgs } from './command.ts';

/** A restart waits for the new replicas to pass their health checks, which takes longer than a read. */
export const RESTART_TIMEOUT_MS = 120_000;

export const restartCommand: Command = {
  name: 'restart',
  summary: "restart a service's replicas in a running `rebound up`",
  usage: `Usage: rebound restart SERVICE [--json] [--url URL] [--config FILE] [--token TOKEN]

Asks a running \`rebound up\` to restart SERVICE's replicas, waits for the outcome and prints it.
The restart is recorded in the healing log as an operator action. Exits 0 when it succeeded,
1 when it failed or could not be made (unknown service, missing token, rebound not running).

Options:
  --json         print { attempt } as the API returns it
${CONNECTION_USAGE}
  -h, --help     show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(
      this,
      args,
      output,
      { ...CONNECTION_OPTIONS, json: { type: 'boolean' } },
      true,
    );
    if (typeof parsed === 'number') return parsed;
    const { values, positionals } = parsed;
    if (positionals.length !== 1 || positionals[0] === '') {
      output.stderr.write(
        `rebound restart: expected one SERVICE, got ${positionals.length}\n\n${this.usage}`,
      );
      return EXIT_USAGE;
    }
    const service = positionals[0]!;
    return withApi('restart', values, output, async (client) => {
      const { attempt } = await client.post<{ attempt: AttemptView }>(
        `/api/services/${encodeURIComponent(service)}/restart`,
        undefined,
        { timeoutMs: RESTART_TIMEOUT_MS },
      );
      const failed = attempt.status === 'failed' || attempt.status === 'escalated';
      if (values.json) {
        output.stdout.write(`${JSON.stringify({ attempt }, null, 2)}\n`);
      } else {
        (failed ? output.stderr : output.stdout).write(
          `${service}: restart ${attempt.status}: ${attempt.outcome}\n`,
        );
      }
      return failed ? 1 : 0;
    });
  },
};
