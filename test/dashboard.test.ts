// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
// `rebound up`: every page opens with no console error or failed request, a killed replica shows on
// the overview within 2 s without a reload, Restart and Scale on the service page act, a crash
// shows as an incident with its timeline; and against a second `rebound up` with `server.token`,
// a breaker's Reset asks for the token (reads do not) and then resets it, its transitions listed.
// Screenshots of every page go to test-artifacts/dashboard/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureTools, which } from '../scripts/debian.ts';
import {
  freePort,
  healthyPids,
  reboundUp,
  replicas,
  root,
  type RunningRebound,
  stopStarted,
} from './support/reboundUp.ts';
import { steadyTraffic, type Traffic } from './support/traffic.ts';
import { until } from './support/waiting.ts';

const ARTIFACTS = join(root, 'test-artifacts', 'dashboard');

const config = (gatewayPort: number): string => `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT} }
services:
  web:
    command: node examples/demo/service.js
    replicas: { count: 2, min: 1, max: 4 }
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    restart: { backoff: { initialMs: 50 }, maxRestarts: 10, windowMs: 60000 }
    stopGraceMs: 2000
  # Autoscaled on the cpu_util the test posts as an event.
  search:
    command: node examples/demo/service.js
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    autoscale: { metric: cpu_util, target: 0.5, min: 1, max: 3, intervalMs: 500 }
    stopGraceMs: 2000
policies: []
`;

const TOKEN = 'dashboard-test-token';

/** One replica behind a gateway whose breaker a policy turns on, on a rebound that has a token. */
const tokenConfig = (gatewayPort: number): string => `store: sqlite:\${DIR}/state.db
server: { port: \${API_PORT}, token: ${TOKEN} }
services:
  api:
    command: node examples/demo/service.js
    gateway: { port: ${gatewayPort} }
    health: { http: { path: /health, timeoutMs: 300 }, intervalMs: 200, failureThreshold: 2 }
    breaker: { trip: { kind: consecutive, failures: 3 }, openMs: 600000 }
policies:
  - name: Breaker on demand
    when: [{ metric: test_breaker, op: gt, value: 0 }]
    do: [enable-circuit-breaker]
    cooldownMs: 600000
`;

const PAGES: Record<string, string> = {
  overview: '/',
  service: '/services/web',
  'circuit-breakers': '/circuit-breakers',
  incidents: '/incidents',
  healing: '/healing',
  chaos: '/chaos',
};

let browser: Browser;
let rebound: RunningRebound;
/** Requests through the gateway until the tests end, so that the charts have something to show. */
let traffic: Traffic | undefined;

/** A page that records console errors, uncaught exceptions and failed requests. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`));
  page.on('requestfailed', (request) => {
    // Leaving a page aborts its live stream: that is the browser's doing, not a failure.
    if (request.url().endsWith('/api/stream') && request.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) problems.push(`${response.status()}: ${response.url()}`);
  });
  return { page, problems };
}

interface Health {
  kinds: Record<string, Record<string, { state: string }> | undefined>;
}

async function breakerState(on: RunningRebound, service: string): Promise<string | undefined> {
  const { body } = await on.api<Health>('/api/circuit-breakers');
  return body.kinds.gateway?.[service]?.state;
}

describe('dashboard in a browser', { timeout: 60_000 }, () => {
  before(async () => {
    ensureTools([{ binary: 'chromium', package: 'chromium' }], (line) => process.stderr.write(`${line}\n`));
    browser = await chromium.launch({ executablePath: which('chromium')!, args: ['--no-sandbox'] });
    const gatewayPort = await freePort();
    rebound = await reboundUp(config(gatewayPort));
    await until(async () => (await healthyPids(rebound, 'web')).length === 2, 'two healthy replicas', 15_000);
    traffic = steadyTraffic(gatewayPort, { clients: 1, pauseMs: 20 });
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    await traffic?.stop();
    await browser?.close();
    await stopStarted();
  });

  it('opens every page with no console error or failed request', async () => {
    const { page, problems } = await openPage();
    for (const [name, path] of Object.entries(PAGES)) {
      await page.goto(`${rebound.url}${path}`);
      await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5_000 });
      await page.locator('main h1').first().waitFor();
      // One live update drawn, and for the pages that fetch, their first answer.
      await page.waitForTimeout(1_200);
      await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage: true });
    }
    assert.equal(await page.locator('#errors .error').count(), 0, await page.locator('#errors').innerText());
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('shows a killed replica on the overview within 2 s, without a reload', async () => {
    const { page, problems } = await openPage();
    await page.goto(rebound.url);
    const pids = page.locator('tr[data-service="web"] .pids');
    const [victim] = await healthyPids(rebound, 'web');
    await until(
      async () => (await pids.innerText()).includes(String(victim)),
      'the pid on the overview',
      5_000,
    );
    let navigations = 0;
    page.on('framenavigated', () => navigations++);
    const killedAt = performance.now();
    process.kill(victim!, 'SIGKILL');
    await until(
      async () => !(await pids.innerText()).includes(String(victim)),
      'the killed pid to go',
      2_000,
    );
    const shownMs = performance.now() - killedAt;
    process.stderr.write(`dashboard: killed replica shown after ${shownMs.toFixed(0)} ms\n`);
    assert.ok(shownMs < 2_000);
    assert.equal(navigations, 0, 'no reload');
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('restarts the service when Restart is pressed on its page', async () => {
    await until(
      async () => (await healthyPids(rebound, 'web')).length === 2,
      'two healthy replicas again',
      10_000,
    );
    const before = await healthyPids(rebound, 'web');
    const { page, problems } = await openPage();
    await page.goto(`${rebound.url}/services/web`);
    await page.locator('tr[data-replica]').first().waitFor();
    await page.click('#restart');
    await page.locator('.status', { hasText: /Restart (succeeded|failed)/ }).waitFor({ timeout: 20_000 });
    assert.match(await page.locator('.status').innerText(), /Restart succeeded/);
    await until(
      async () => {
        const after = await healthyPids(rebound, 'web');
        return after.length === 2 && after.every((pid) => !before.includes(pid));
      },
      'two new healthy replicas',
      10_000,
    );
    const restarted = await healthyPids(rebound, 'web');
    process.stderr.write(
      `dashboard: restart replaced pids ${before.join(', ')} with ${restarted.join(', ')}\n`,
    );
    // The page shows the new processes too, from its live updates.
    await until(
      async () => {
        const shown = await page.locator('tr[data-replica] .pid').allInnerTexts();
        return restarted.every((pid) => shown.includes(String(pid)));
      },
      'the new pids on the service page',
      3_000,
    );
    await page.screenshot({ path: join(ARTIFACTS, 'service-restarted.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('lists the incident a crash opened, and shows its timeline', async () => {
    await until(
      async () => (await healthyPids(rebound, 'web')).length === 2,
      'two healthy replicas again',
      10_000,
    );
    const [victim] = await healthyPids(rebound, 'web');
    process.kill(victim!, 'SIGKILL');
    await until(
      async () => {
        const { body } = await rebound.api('/api/incidents');
        return (body.incidents as { service: string }[]).some((incident) => incident.service === 'web');
      },
      'an incident for web',
      5_000,
    );
    const { page, problems } = await openPage();
    await page.goto(`${rebound.url}/incidents`);
    const row = page.locator('main tr', { hasText: 'web' }).first();
    await row.waitFor({ timeout: 5_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'incidents-after-crash.png'), fullPage: true });
    await row.locator('a[href^="/incidents/"]').click();
    await page.waitForURL(/\/incidents\/[^/]+$/);
    // Whatever an entry's fields are called, the timeline shows at least one, about web.
    const entries = page.locator('main li');
    await entries.first().waitFor({ timeout: 5_000 });
    assert.ok((await entries.count()) >= 1);
    assert.match(await page.locator('main').innerText(), /web/);
    await page.screenshot({ path: join(ARTIFACTS, 'incident.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('scales the service when Scale is pressed on its page', async () => {
    const { page, problems } = await openPage();
    await page.goto(`${rebound.url}/services/web`);
    await page.locator('tr[data-replica]').first().waitFor();
    await page.fill('#scale-replicas', '3');
    await page.click('#scale');
    await page.locator('.status', { hasText: /Scale (succeeded|failed)/ }).waitFor({ timeout: 15_000 });
    assert.match(await page.locator('.status').innerText(), /Scale succeeded/);
    assert.equal((await replicas(rebound, 'web')).length, 3);
    await page.locator('tr[data-replica]').nth(2).waitFor({ timeout: 3_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'service-scaled.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it("lists an autoscaled service's scaling decisions and charts its replicas", async () => {
    const { page, problems } = await openPage();
    await page.goto(`${rebound.url}/services/search`);
    await page
      .locator('.autoscaling p', { hasText: 'Keeps cpu_util near 0.5 with 1 to 3 replicas' })
      .waitFor();
    await rebound.api('/api/events', {
      method: 'POST',
      body: { service: 'search', metrics: { cpu_util: 1 } },
    });
    // Read again every 5 s: the decision made ~0.5 s after the event shows within two reads.
    const decision = page.locator('.autoscaling table.decisions td', { hasText: 'scaled search 1 → 2' });
    await decision.waitFor({ timeout: 15_000 });
    assert.match(await decision.innerText(), /cpu_util 1 vs target 0\.5/);
    await page.locator('figure.chart figcaption', { hasText: 'Replicas' }).waitFor();
    await page.screenshot({ path: join(ARTIFACTS, 'service-autoscaled.png'), fullPage: true });
    assert.deepEqual(problems, []);
    await page.close();
  });

  it('asks for the token on a Reset (not on reads), then resets the breaker', async () => {
    const gatewayPort = await freePort();
    const guarded = await reboundUp(tokenConfig(gatewayPort));
    const replica = async (): Promise<{ state: string; port: number } | undefined> =>
      (await guarded.api('/api/services/api')).body.replicas[0];
    await until(async () => (await replica())?.state === 'healthy', 'the replica healthy', 15_000);
    // The policy turns the gateway's breaker on; a replica failing every call then opens it.
    const posted = await guarded.api('/api/events', {
      body: { service: 'api', metrics: { test_breaker: 1 } },
      token: TOKEN,
    });
    assert.equal(posted.status, 202);
    await until(async () => (await breakerState(guarded, 'api')) === 'closed', 'the breaker on', 5_000);
    const { port } = (await replica())!;
    await fetch(`http://127.0.0.1:${port}/admin/errors?rate=1`, { method: 'POST' });
    for (let call = 0; call < 3; call++) await (await fetch(`http://127.0.0.1:${gatewayPort}/`)).text();
    assert.equal(await breakerState(guarded, 'api'), 'open');

    const { page, problems } = await openPage();
    await page.goto(`${guarded.url}/circuit-breakers`);
    await page.locator('#connection[data-state="live"]').waitFor({ timeout: 5_000 });
    const circuit = page.locator('tr[data-circuit="gateway/api"]');
    await circuit.locator('.badge-open').waitFor({ timeout: 3_000 });
    const transitions = page.locator('#transitions tr');
    await transitions.first().filter({ hasText: 'open' }).waitFor({ timeout: 3_000 });
    assert.equal(await page.locator('#token-dialog').getAttribute('open'), null, 'reads need no token');
    assert.equal(problems.length, 0, `reads need no token: ${problems.join('; ')}`);
    await page.screenshot({ path: join(ARTIFACTS, 'circuit-breakers-open.png'), fullPage: true });

    await circuit.locator('button.reset').click();
    await page.locator('#token-dialog[open]').waitFor({ timeout: 3_000 });
    await page.screenshot({ path: join(ARTIFACTS, 'token-dialog.png') });
    await page.fill('#token-dialog input[name="token"]', TOKEN);
    await page.click('#token-dialog button[value="ok"]');
    await page.locator('.status', { hasText: /Reset (1 circuit|failed)/ }).waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('.status').innerText(), 'Reset 1 circuit');
    assert.equal(await breakerState(guarded, 'api'), 'closed');
    // Newest first: the reset, then the trip.
    await transitions.first().filter({ hasText: 'reset' }).waitFor({ timeout: 3_000 });
    assert.match(await transitions.nth(1).innerText(), /closed\s+open/);
    await page.screenshot({ path: join(ARTIFACTS, 'circuit-breakers-reset.png'), fullPage: true });
    assert.equal(await page.locator('#errors .error').count(), 0);
    // The only refusal was the button's first try, before the token was given.
    assert.deepEqual(
      problems.filter((problem) => !problem.includes('401')),
      [],
    );
    assert.equal(problems.filter((problem) => problem.startsWith('401: ')).length, 1);
    await page.close();
  });
});
