// The dashboard in a real browser (Debian's chromium driven by playwright-core) against a real
// `rebound up`: every page opens with no console error or failed request, a killed replica shows on
// the overview within 2 s without a reload, and Restart on the service page restarts it.
// Screenshots of every page go to test-artifacts/dashboard/.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { ensureTools, which } from '../scripts/debian.ts';
import { freePort, reboundUp, root, type RunningRebound, stopStarted } from './support/reboundUp.ts';
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
policies: []
`;

const PAGES: Record<string, string> = {
  overview: '/',
  service: '/services/web',
  'circuit-breakers': '/circuit-breakers',
  incidents: '/incidents',
  healing: '/healing',
  chaos: '/chaos',
};

interface Replica {
  pid?: number;
  state: string;
}

let browser: Browser;
let rebound: RunningRebound;
let trafficRunning = true;

/** Requests through the gateway until the tests end, so that the charts have something to show. */
async function traffic(port: number): Promise<void> {
  while (trafficRunning) {
    await fetch(`http://127.0.0.1:${port}/`).then(
      (response) => response.arrayBuffer(),
      () => undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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

async function healthyPids(): Promise<number[]> {
  const { body } = await rebound.api('/api/services/web');
  return (body.replicas as Replica[]).filter((r) => r.state === 'healthy' && r.pid).map((r) => r.pid!);
}

describe('dashboard in a browser', { timeout: 60_000 }, () => {
  before(async () => {
    ensureTools([{ binary: 'chromium', package: 'chromium' }], (line) => process.stderr.write(`${line}\n`));
    browser = await chromium.launch({ executablePath: which('chromium')!, args: ['--no-sandbox'] });
    const gatewayPort = await freePort();
    rebound = await reboundUp(config(gatewayPort));
    await until(async () => (await healthyPids()).length === 2, 'two healthy replicas', 15_000);
    void traffic(gatewayPort);
    mkdirSync(ARTIFACTS, { recursive: true });
  });
  after(async () => {
    trafficRunning = false;
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
    const [victim] = await healthyPids();
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
    await until(async () => (await healthyPids()).length === 2, 'two healthy replicas again', 10_000);
    const before = await healthyPids();
    const { page, problems } = await openPage();
    await page.goto(`${rebound.url}/services/web`);
    await page.locator('tr[data-replica]').first().waitFor();
    await page.click('#restart');
    await page.locator('.status', { hasText: /Restart (succeeded|failed)/ }).waitFor({ timeout: 20_000 });
    assert.match(await page.locator('.status').innerText(), /Restart succeeded/);
    await until(
      async () => {
        const after = await healthyPids();
        return after.length === 2 && after.every((pid) => !before.includes(pid));
      },
      'two new healthy replicas',
      10_000,
    );
    const restarted = await healthyPids();
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
});
