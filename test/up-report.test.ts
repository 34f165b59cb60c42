// `rebound report` as a user runs it: a real `rebound up` with a two-replica service, real traffic
// through its gateway, a real kill experiment, then the real CLI writing the report and its charts.

import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, reboundUp, runCli, stopStarted, untilHealthy } from './support/reboundUp.ts';
import { until } from './support/waiting.ts';

after(stopStarted);

/** The cells of the Markdown table row that contains `text`. */
function rowWith(markdown: string, text: string): string[] {
  const line = markdown
    .split('\n')
    .find((candidate) => candidate.startsWith('|') && candidate.includes(text));
  assert.ok(line, `no table row with ${text}:\n${markdown}`);
  return line
    .slice(2, -2)
    .split(/(?<!\\)\|/)
    .map((cell) => cell.trim());
}

describe('rebound report against rebound up', () => {
  it('writes a report with the experiment, availability from real traffic and a recovery chart', async () => {
    const gatewayPort = await freePort();
    const rebound = await reboundUp(`store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    stopGraceMs: 2000
    slo: { target: 0.99 }
policies: []
`);
    await untilHealthy(rebound, 'web');

    const sent = 60;
    for (let request = 0; request < sent; request++) {
      const response = await fetch(`http://127.0.0.1:${gatewayPort}/`);
      assert.equal(response.status, 200);
      await response.arrayBuffer();
    }

    const title = 'A killed replica is replaced within 2 s';
    const started = await rebound.api('/api/chaos/experiments', {
      body: {
        title,
        target: 'web',
        steadyState: [{ http: { path: '/', expectStatus: 200 } }],
        method: [{ fault: { kill: { replicas: 1 } } }],
        expect: { recoveredWithinMs: 2000 },
      },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await until(
      async () => (await rebound.api(`/api/chaos/runs/${started.body.id}`)).body.status !== 'running',
      'the experiment to end',
      20_000,
    );
    const journal = (await rebound.api(`/api/chaos/runs/${started.body.id}`)).body;
    assert.equal(journal.status, 'completed', JSON.stringify(journal));
    const served = (await rebound.api('/api/services/web')).body.metrics;
    assert.ok(served.requests_total >= sent, `requests_total ${served.requests_total}`);

    const file = join(rebound.directory, 'reports', 'reliability.md');
    const result = await runCli(['report', '--out', file, '--url', rebound.url]);
    assert.equal(result.code, 0, result.stdout + result.stderr);
    const charts = join(rebound.directory, 'reports', 'reliability-charts');
    assert.equal(result.stdout, `wrote ${file} (2 charts in ${charts})\n`);
    const markdown = readFileSync(file, 'utf8');

    // The experiment, completed, with the recovery time its journal measured.
    const experiment = rowWith(markdown, title);
    assert.equal(experiment[2], 'web');
    assert.equal(experiment[3], 'completed');
    assert.equal(experiment[4], '✅ yes');
    const recovery =
      journal.recoveryMs < 1000
        ? `${Math.round(journal.recoveryMs)} ms`
        : `${(journal.recoveryMs / 1000).toFixed(1).replace(/\.0$/, '')} s`;
    assert.equal(experiment[5], `${recovery} (≤ 2 s) ✅`);
    assert.equal(experiment[6], 'none');

    // Availability from the real traffic: every request answered, held to the SLO.
    const availability = rowWith(markdown, 'Availability (30-day SLO window)');
    const measured = /^(\d+(?:\.\d+)?)% of ([\d,]+) responses$/.exec(availability[1]!);
    assert.ok(measured, availability[1]);
    assert.ok(Number(measured[2]!.replaceAll(',', '')) >= sent, availability[1]);
    assert.equal(measured[1], '100');
    assert.deepEqual(availability.slice(2), ['≥ 99%', '✅']);

    // The chart: a file beside the report, linked from it, an SVG with a bar for the run.
    assert.ok(
      markdown.includes('![Recovery time per experiment run](reliability-charts/recovery-times.svg)'),
    );
    const svgFile = join(charts, 'recovery-times.svg');
    assert.ok(existsSync(svgFile));
    const svg = readFileSync(svgFile, 'utf8');
    assert.match(svg, /^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
    assert.match(svg, /<\/svg>\n$/);
    assert.equal((svg.match(/<rect class="bar"/g) ?? []).length, 1, 'one bar: one run');
    assert.ok(svg.includes(`<title>`) && svg.includes(`${title}: ${recovery}, expected 2 s</title>`), svg);

    // The same totals as Prometheus counters.
    const metrics = (await rebound.api('/metrics')).body as string;
    const counted = /^rebound_gateway_requests_total\{service="web"\} (\d+)$/m.exec(metrics);
    assert.ok(counted && Number(counted[1]) >= sent, 'rebound_gateway_requests_total');
    assert.match(metrics, /^rebound_gateway_errors_total\{service="web"\} \d+$/m);
  });
});
