// What the report reads from a control plane: every part of it, and nothing secret from the config.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FAKE_CONFIG_YAML, fakeControlPlane } from '../../test/support/fakeControlPlane.ts';
import { parseConfig, redactUrl } from '../healing/index.ts';
import { collectReportData, storeScheme } from './reportData.ts';
import { renderReport } from './reportMarkdown.ts';

const link = { chartLink: (file: string) => `charts/${file}` };

describe('collectReportData', () => {
  it('keeps no secret: the store URL, the token, webhook URLs and keys stay out of data and Markdown', async () => {
    const yaml = `${FAKE_CONFIG_YAML.replace('server: { host: 127.0.0.1, port: 8080 }', 'server: { host: 127.0.0.1, port: 8080, token: tok-sekrit-123 }')}
store: postgres://rebound:hunter2-password@db.internal:5432/rebound
escalation:
  - name: pager
    webhook: { url: "http://127.0.0.1:9999/hook?key=url-sekrit", format: pagerduty, routingKey: rk-sekrit-456 }
`;
    const controlPlane = {
      ...fakeControlPlane(),
      config: parseConfig(yaml, { source: 'rebound.yaml', env: {} }),
    };
    const data = await collectReportData(controlPlane, new Date('2025-03-01T12:00:00Z'));
    assert.equal(data.storeScheme, 'postgres');
    assert.equal(data.tokenRequired, true);
    assert.deepEqual(data.escalation, [{ name: 'pager', format: 'pagerduty', minSeverity: 'low' }]);
    const { markdown, charts } = renderReport(data, link);
    const everything = JSON.stringify(data) + markdown + charts.map((chart) => chart.svg).join('');
    for (const secret of ['hunter2', 'tok-sekrit', 'url-sekrit', 'rk-sekrit', 'db.internal', '9999']) {
      assert.ok(!everything.includes(secret), `${secret} leaked`);
    }
    assert.match(markdown, /written to the \*\*postgres\*\* store/);
  });

  it('reads services, their live view and figures, healing, incidents and breakers from the control plane', async () => {
    const data = await collectReportData(fakeControlPlane(), new Date('2025-03-01T12:00:00Z'));
    assert.equal(data.generatedAt, '2025-03-01T12:00:00.000Z');
    assert.deepEqual(
      data.services.map((service) => [
        service.name,
        service.view.state,
        service.config.gateway?.port ?? null,
      ]),
      [
        ['payment-api', 'healthy', 9100],
        ['database', 'critical', null],
      ],
    );
    const payment = data.services[0]!.reliability;
    // Over the SLO window (the fake's reliability figures), not the gateway's since-start counters:
    // 1000 responses, 250 failed: 0.75; against 0.5: budget 1 − 0.25 / 0.5 = 0.5.
    assert.equal(payment.windowDays, 30);
    assert.equal(payment.requestsTotal, 1000);
    assert.equal(payment.availability, 0.75);
    assert.equal(payment.errorBudgetRemaining, 0.5);
    // The incidents MTBF and MTTR count are the window's: the database's one, unresolved.
    const database = data.services[1]!.reliability;
    assert.deepEqual([database.incidents, database.resolvedIncidents, database.mttrMs], [1, 0, null]);
    assert.equal(data.healing.stats.successRate, 0.5);
    assert.equal(data.incidents[0]!.id, 'inc-1');
    assert.ok(!('timeline' in data.incidents[0]!), 'incidents without their timelines');
    assert.equal(data.breakers.kinds.webhook?.pager?.state, 'isolated');
    assert.equal(data.apiUrl, 'http://127.0.0.1:8080');
  });

  it("names an unnamed escalation target's breaker as the report names the target, not by its URL", async () => {
    const yaml = `${FAKE_CONFIG_YAML}
escalation:
  - webhook: { url: "http://hooks.internal:9999/page?key=url-sekrit", format: generic }
`;
    const controlPlane = {
      ...fakeControlPlane(),
      config: parseConfig(yaml, { source: 'rebound.yaml', env: {} }),
    };
    // The escalator names the breaker of an unnamed target by its URL, secrets hidden.
    controlPlane.breakers.get('webhook', redactUrl('http://hooks.internal:9999/page?key=url-sekrit'));
    const data = await collectReportData(controlPlane);
    assert.deepEqual(Object.keys(data.breakers.kinds.webhook!).sort(), ['escalation target 1', 'pager']);
    const { markdown } = renderReport(data, link);
    assert.ok(!markdown.includes('hooks.internal'));
    assert.match(markdown, /\| webhook \| escalation target 1 \| closed \|/);
    assert.match(markdown, /\*\*Who gets paged\.\*\* Escalation target 1 \(generic, every incident\)/);
  });

  it('shows only the scheme of a store URL', () => {
    assert.equal(storeScheme('postgres://user:secret@host/db'), 'postgres');
    assert.equal(storeScheme('postgresql://user:secret@host/db'), 'postgres');
    assert.equal(storeScheme('sqlite:.rebound/state.db'), 'sqlite');
    assert.equal(storeScheme('memory:'), 'memory');
    assert.equal(storeScheme('user:secret@host'), 'user', 'no URL, still only what comes before the colon');
    assert.equal(storeScheme('/no/scheme'), 'unknown');
  });
});
