// GET /api/report: the reliability report (SPEC 6) as Markdown with its SVG charts, built from
// what the control plane holds now. `rebound report` fetches it and writes the files.

import type { ControlPlane } from '../healing/index.ts';
import type { Route } from './apiTypes.ts';
import { collectReportData } from './reportData.ts';
import { renderReport } from './reportMarkdown.ts';
import { badRequest, jsonResponse } from './responses.ts';

/** Longest `charts` directory accepted. */
const MAX_CHARTS_DIR = 200;

export function reportRoutes(controlPlane: ControlPlane): Route[] {
  return [
    {
      method: 'GET',
      path: '/api/report',
      query: ['charts'],
      async handle({ query }) {
        const charts = query.get('charts') ?? 'inline';
        const directory = charts === 'inline' ? undefined : chartsDirectory(charts);
        const data = await collectReportData(controlPlane);
        const report = renderReport(data, {
          chartLink: (file, svg) =>
            directory === undefined
              ? `data:image/svg+xml;base64,${Buffer.from(svg, 'utf8').toString('base64')}`
              : [...directory.split('/'), file].map(encodeURIComponent).join('/'),
        });
        return jsonResponse(200, { generatedAt: data.generatedAt, ...report });
      },
    },
  ];
}

/**
 * The directory the Markdown links its charts in: relative to the report and inside its folder
 * (no absolute path, no `..`), so a report never points outside where it was written.
 */
function chartsDirectory(text: string): string {
  const problem = directoryProblem(text);
  if (problem === undefined) return text;
  throw badRequest(
    `charts must be "inline" or a relative directory for the chart files, got ${JSON.stringify(text.slice(0, MAX_CHARTS_DIR))}`,
    [{ path: 'charts', message: problem }],
  );
}

function directoryProblem(text: string): string | undefined {
  if (text === '' || text.length > MAX_CHARTS_DIR) return `must be 1 to ${MAX_CHARTS_DIR} characters`;
  if (text.startsWith('/') || /^[A-Za-z]:/.test(text) || text.includes('\\')) {
    return 'must be a relative path with / between its folders';
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(text)) return 'must not contain control characters';
  const segments = text.split('/');
  if (segments.includes('..')) return 'must not contain ..';
  if (segments.some((segment) => segment === '' || segment === '.'))
    return 'must not have empty or . folders';
  return undefined;
}
