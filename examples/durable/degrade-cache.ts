// The 'cache' strategy serves a component's last good value when its live call fails. With
// `cache.store` the values are persisted in the store (store.kv), so a restarted process still has
// them; cache.ttlMs bounds how old a served value may be.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { manualClock } from 'rebound';
import { clearDegradeCache, degrade } from 'rebound/durable';
import { openStore, type Store } from 'rebound/store';

const directory = mkdtempSync(join(tmpdir(), 'rebound-degrade-'));
const url = `sqlite:${join(directory, 'state.db')}`;
const clock = manualClock(Date.parse('2025-06-01T12:00:00Z'));
let prometheusUp = true;

/** The dashboard's data: live when possible, else the last good values. */
function dashboard(store: Store) {
  return degrade({
    components: {
      metrics: async () => {
        if (!prometheusUp) throw new Error('prometheus unreachable');
        return { rps: 1_200, p99Ms: 180 };
      },
      deploys: async () => ['api 1.4.2'],
    },
    strategy: 'cache',
    cache: { store, ttlMs: 60 * 60_000 }, // namespace 'degrade' by default
    clock,
  });
}

// --- a live success refreshes the cached value, in memory and in the store ---
const store = await openStore(url);
const fresh = await dashboard(store);
assert.equal(fresh.level, 'full');
const cachedAt = clock.now();
assert.deepEqual(
  (await store.kv.list('degrade')).map((entry) => [entry.key, entry.updatedAt]),
  [
    ['deploys', cachedAt],
    ['metrics', cachedAt],
  ],
);
await store.close();

// --- the process restarts, and Prometheus is down: the value stored before is served ---
clock.advance(10 * 60_000);
prometheusUp = false;
const restarted = await openStore(url);
const served = await dashboard(restarted);
assert.deepEqual(served.components.metrics, {
  ok: true,
  value: { rps: 1_200, p99Ms: 180 },
  source: 'cache',
  error: served.components.metrics.error, // the live call's error, kept for logs
  cachedAt,
});
assert.match(String(served.components.metrics.error), /prometheus unreachable/);
assert.equal(served.level, 'moderate'); // 1 of 2 live; cached values are served, not live
assert.deepEqual(served.degraded, ['metrics']);
console.log(`after a restart, metrics from the store's cache (10 min old): level ${served.level}`);

// --- a value older than cache.ttlMs is not served ---
clock.advance(60 * 60_000);
const stale = await dashboard(restarted);
assert.equal(stale.components.metrics.source, 'none');
assert.equal(stale.components.metrics.ok, false);
console.log('70 min old, beyond cache.ttlMs (60 min): not served');

// --- clearDegradeCache forgets this process's copies, and with `persisted` the store's too ---
await clearDegradeCache({ store: restarted, persisted: true });
assert.deepEqual(await restarted.kv.list('degrade'), []);

await restarted.close();
rmSync(directory, { recursive: true, force: true });
