// GET /api/report in-process: the Markdown and its charts, embedded or linked, built from what the
// control plane holds, and a charts directory that could point elsewhere refused.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { apiHandler, assertError } from '../../test/support/apiHandler.ts';

const setup = () => apiHandler({ token: 'secret' });

describe('GET /api/report', () => {
  it('answers the Markdown with the charts embedded as data: URLs by default', async () => {
    const { get } = setup();
    const { status, json } = await get('/api/report');
    assert.equal(status, 200);
    assert.ok(Date.parse(json.generatedAt) > 0);
    assert.match(json.markdown, /^# Reliability report\n/);
    assert.deepEqual(
      json.charts.map((chart: { file: string; title: string }) => [chart.file, chart.title]),
      [
        ['recovery-times.svg', 'Recovery time per experiment run'],
        ['incident-resolution.svg', 'Time to resolve incidents per service'],
      ],
    );
    const embedded =
      /!\[Recovery time per experiment run\]\(data:image\/svg\+xml;base64,([A-Za-z0-9+/=]+)\)/.exec(
        json.markdown,
      );
    assert.ok(embedded, 'the recovery chart is embedded');
    assert.equal(Buffer.from(embedded[1]!, 'base64').toString('utf8'), json.charts[0].svg);
    assert.equal((await get('/api/report?charts=inline')).json.markdown.includes('data:image/svg+xml'), true);
  });

  it('links the charts in a relative directory when asked, each path segment encoded', async () => {
    const { get } = setup();
    const { status, json } = await get('/api/report?charts=week%2012-charts');
    assert.equal(status, 200);
    assert.ok(json.markdown.includes('](week%2012-charts/recovery-times.svg)'));
    assert.ok(json.markdown.includes('](week%2012-charts/incident-resolution.svg)'));
    assert.ok(!json.markdown.includes('data:image'));
    const nested = await get('/api/report?charts=reports/charts');
    assert.ok(nested.json.markdown.includes('](reports/charts/recovery-times.svg)'));
  });

  it('refuses a charts directory that is absolute or climbs out, 400 with the problem', async () => {
    const { get } = setup();
    for (const bad of ['../elsewhere', 'a/../../b', '/etc', '', 'C:%5Cx', 'a//b', './a', 'a%0Ab']) {
      const { status, json } = await get(`/api/report?charts=${bad}`);
      assert.equal(status, 400, bad);
      assert.equal(json.error.code, 'BAD_REQUEST', bad);
      assert.equal(json.error.details[0].path, 'charts', bad);
    }
    assertError(await get('/api/report?format=html'), 400, 'BAD_REQUEST');
  });

  it('reports the experiments the control plane ran, with their verdict', async () => {
    const { controlPlane, get } = setup();
    // The fake's services answer no request, so the run is refused: aborted, with its reason.
    const { id } = controlPlane.chaos.start({
      title: 'A killed replica is replaced',
      target: 'payment-api',
      steadyState: [{ kind: 'http', path: '/', expectStatus: 200, timeoutMs: 100 }],
      method: [{ kind: 'fault', fault: { kind: 'kill', replicas: 1 }, intensity: 1 }],
      rollbacks: [],
      abortWhen: [],
      expect: { recoveredWithinMs: 2000 },
      allowDuringIncident: false,
    });
    const journal = await controlPlane.chaos.done(id);
    assert.equal(journal?.status, 'aborted');
    const { json } = await get('/api/report?charts=charts');
    const row = json.markdown
      .split('\n')
      .find((line: string) => line.includes('A killed replica is replaced |'));
    assert.ok(row, json.markdown);
    assert.match(row, /\| payment-api \| aborted \| — not evaluated \|/);
    assert.match(row, /refused to start: the steady state does not hold/);
    assert.match(json.markdown, /\*\*payment-api: its last experiment aborted\.\*\*/);
    assert.match(
      json.charts[0].svg,
      /<title>[^<]*A killed replica is replaced: aborted: not measured, expected 2 s<\/title>/,
    );
  });

  it('needs the token off loopback, like every read', async () => {
    const { get } = apiHandler({ token: 'secret', loopbackOnly: false });
    assertError(await get('/api/report'), 401, 'UNAUTHORIZED');
    assert.equal((await get('/api/report', { token: 'secret' })).status, 200);
  });
});
