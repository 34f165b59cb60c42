// `rebound report`: the reliability report of a running `rebound up` as Markdown, printed or
// written to a file with its SVG charts beside it.

import { mkdir, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { CONNECTION_OPTIONS, CONNECTION_USAGE, withApi } from './apiClient.ts';
import { type CliOutput, type Command, parseCommandArgs } from './command.ts';

/** What GET /api/report answers. */
interface ReportAnswer {
  generatedAt: string;
  markdown: string;
  charts: { file: string; title: string; svg: string }[];
}

export const reportCommand: Command = {
  name: 'report',
  summary: 'write the reliability report of a running `rebound up` (Markdown with SVG charts)',
  usage: `Usage: rebound report [--out FILE] [--url URL] [--config FILE] [--token TOKEN]

Asks a running \`rebound up\` for its reliability report: a summary, the chaos experiments run,
the resilience patterns in place with their settings, metrics against targets, remaining risks and a
runbook per service, with SVG charts of recovery times.

Without --out, prints the Markdown with its charts embedded as data: URLs. With --out FILE, writes
FILE and the charts as SVG files into FILE's folder, in <name of FILE without extension>-charts/,
linked relatively, e.g. --out reports/week-12.md writes reports/week-12-charts/*.svg.

Options:
  --out FILE     write the report to FILE (and its charts beside it) instead of printing it
${CONNECTION_USAGE}
  -h, --help     show this help
`,
  async run(args: readonly string[], output: CliOutput): Promise<number> {
    const parsed = parseCommandArgs(this, args, output, { ...CONNECTION_OPTIONS, out: { type: 'string' } });
    if (typeof parsed === 'number') return parsed;
    const { values } = parsed;
    const out = values.out;
    return withApi('report', values, output, async (client) => {
      if (out === undefined) {
        const report = await client.get<ReportAnswer>('/api/report?charts=inline');
        output.stdout.write(report.markdown);
        return 0;
      }
      const file = resolve(process.cwd(), out);
      const chartsName = `${basename(file, extname(file))}-charts`;
      const report = await client.get<ReportAnswer>(`/api/report?charts=${encodeURIComponent(chartsName)}`);
      const chartsDirectory = join(dirname(file), chartsName);
      try {
        await mkdir(chartsDirectory, { recursive: true });
        for (const chart of report.charts) {
          await writeFile(join(chartsDirectory, basename(chart.file)), chart.svg);
        }
        await writeFile(file, report.markdown);
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        output.stderr.write(`rebound report: cannot write ${out} (${reason})\n`);
        return 1;
      }
      const count = report.charts.length;
      output.stdout.write(
        `wrote ${out} (${count} chart${count === 1 ? '' : 's'} in ${join(dirname(out), chartsName)})\n`,
      );
      return 0;
    });
  },
};
