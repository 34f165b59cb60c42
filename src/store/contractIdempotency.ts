// The store contract, idempotency part: claims, leases, expiry and owner fencing.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertSameText, EXACT_VALUES, largeJson, type OpenStore, withStore } from './contractSupport.ts';
import type { IdempotencyClaim, IdempotencyRecord } from './types.ts';

const LEASE_UNTIL = 61_000;
const EXPIRES_AT = 86_401_000;

function claimOf(overrides: Partial<IdempotencyClaim> = {}): IdempotencyClaim {
  return {
    key: 'key-1',
    name: 'set_pod_memory',
    paramsHash: 'hash-1',
    owner: 'owner-a',
    now: 1_000,
    leaseUntil: LEASE_UNTIL,
    expiresAt: EXPIRES_AT,
    ...overrides,
  };
}

export function idempotencyContract(open: OpenStore): void {
  describe('idempotency', () => {
    it('claims an absent key and stores an in-progress record with every field', () =>
      withStore(open, async (store) => {
        assert.equal(await store.idempotency.get('key-1'), undefined);
        assert.deepEqual(await store.idempotency.claim(claimOf()), { claimed: true, takenOver: false });
        const expected: IdempotencyRecord = {
          key: 'key-1',
          name: 'set_pod_memory',
          paramsHash: 'hash-1',
          status: 'in-progress',
          owner: 'owner-a',
          result: null,
          createdAt: 1_000,
          leaseUntil: LEASE_UNTIL,
          expiresAt: EXPIRES_AT,
        };
        assert.deepEqual(await store.idempotency.get('key-1'), expected);
      }));

    it('refuses a claim while the first is in progress under its lease, answering the holder', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf());
        const second = await store.idempotency.claim(
          claimOf({ owner: 'owner-b', paramsHash: 'hash-2', now: LEASE_UNTIL - 1 }),
        );
        assert.equal(second.claimed, false);
        assert.ok(!second.claimed);
        assert.equal(second.record.owner, 'owner-a');
        assert.equal(second.record.paramsHash, 'hash-1');
        assert.equal(second.record.status, 'in-progress');
        // The holder claiming again is refused too: a claim is not re-entrant.
        assert.equal((await store.idempotency.claim(claimOf({ now: 2_000 }))).claimed, false);
      }));

    it('lets exactly one of many concurrent claims win', () =>
      withStore(open, async (store) => {
        const owners = Array.from({ length: 25 }, (_, index) => `owner-${index}`);
        const outcomes = await Promise.all(
          owners.map((owner) => store.idempotency.claim(claimOf({ owner }))),
        );
        const winners = outcomes.flatMap((outcome, index) => (outcome.claimed ? [owners[index]] : []));
        assert.equal(winners.length, 1);
        for (const outcome of outcomes) {
          if (!outcome.claimed) assert.equal(outcome.record.owner, winners[0]);
        }
        assert.equal((await store.idempotency.get('key-1'))?.owner, winners[0]);
      }));

    it('takes over a claim whose lease lapsed, exactly at leaseUntil, and fences the old owner', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf());
        const takeover = await store.idempotency.claim(
          claimOf({ owner: 'owner-b', paramsHash: 'hash-2', now: LEASE_UNTIL, leaseUntil: 200_000 }),
        );
        assert.deepEqual(takeover, { claimed: true, takenOver: true });
        const record = await store.idempotency.get('key-1');
        assert.equal(record?.owner, 'owner-b');
        assert.equal(record?.paramsHash, 'hash-2');
        assert.equal(record?.createdAt, LEASE_UNTIL);
        assert.equal(record?.leaseUntil, 200_000);

        assert.equal(await store.idempotency.complete('key-1', 'owner-a', '"late"', EXPIRES_AT), false);
        assert.equal(await store.idempotency.renew('key-1', 'owner-a', 500_000), false);
        await store.idempotency.release('key-1', 'owner-a');
        const after = await store.idempotency.get('key-1');
        assert.equal(after?.owner, 'owner-b');
        assert.equal(after?.status, 'in-progress');
        assert.equal(after?.result, null);
        assert.equal(after?.leaseUntil, 200_000);
      }));

    it('keeps a completed record past its lease, until it expires', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf());
        assert.equal(await store.idempotency.complete('key-1', 'owner-a', '{"ok":true}', EXPIRES_AT), true);
        const later = await store.idempotency.claim(claimOf({ owner: 'owner-b', now: EXPIRES_AT - 1 }));
        assert.ok(!later.claimed);
        assert.equal(later.record.status, 'completed');
        assert.equal(later.record.result, '{"ok":true}');
        assert.equal(later.record.owner, 'owner-a');
      }));

    it('treats a record as absent from its expiresAt on: a new claim takes it over afresh', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf());
        await store.idempotency.complete('key-1', 'owner-a', '{"ok":true}', 5_000);
        const fresh = await store.idempotency.claim(
          claimOf({
            owner: 'owner-b',
            paramsHash: 'hash-2',
            now: 5_000,
            leaseUntil: 65_000,
            expiresAt: 90_000,
          }),
        );
        assert.deepEqual(fresh, { claimed: true, takenOver: true });
        assert.deepEqual(await store.idempotency.get('key-1'), {
          key: 'key-1',
          name: 'set_pod_memory',
          paramsHash: 'hash-2',
          status: 'in-progress',
          owner: 'owner-b',
          result: null,
          createdAt: 5_000,
          leaseUntil: 65_000,
          expiresAt: 90_000,
        });
      }));

    it('lets an in-progress record that expired before its lease be claimed', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf({ leaseUntil: 100_000, expiresAt: 10_000 }));
        const outcome = await store.idempotency.claim(claimOf({ owner: 'owner-b', now: 10_000 }));
        assert.deepEqual(outcome, { claimed: true, takenOver: true });
      }));

    it('completes only for the owner of an in-progress claim', () =>
      withStore(open, async (store) => {
        assert.equal(await store.idempotency.complete('key-1', 'owner-a', '1', EXPIRES_AT), false);
        await store.idempotency.claim(claimOf());
        assert.equal(await store.idempotency.complete('key-1', 'owner-b', '"stranger"', EXPIRES_AT), false);
        assert.equal((await store.idempotency.get('key-1'))?.status, 'in-progress');
        assert.equal(await store.idempotency.complete('key-1', 'owner-a', '{"n":1}', 99_000_000), true);
        const record = await store.idempotency.get('key-1');
        assert.equal(record?.status, 'completed');
        assert.equal(record?.result, '{"n":1}');
        assert.equal(record?.owner, 'owner-a');
        assert.equal(record?.expiresAt, 99_000_000);
        assert.equal(record?.createdAt, 1_000);
        // Completing twice is refused: the stored result never changes.
        assert.equal(await store.idempotency.complete('key-1', 'owner-a', '{"n":2}', 99_000_000), false);
        assert.equal((await store.idempotency.get('key-1'))?.result, '{"n":1}');
      }));

    it('renews only an in-progress claim of its owner, and a renewed lease holds off takeover', () =>
      withStore(open, async (store) => {
        assert.equal(await store.idempotency.renew('key-1', 'owner-a', 200_000), false);
        await store.idempotency.claim(claimOf());
        assert.equal(await store.idempotency.renew('key-1', 'owner-b', 200_000), false);
        assert.equal(await store.idempotency.renew('key-1', 'owner-a', 200_000), true);
        assert.equal((await store.idempotency.get('key-1'))?.leaseUntil, 200_000);
        const refused = await store.idempotency.claim(claimOf({ owner: 'owner-b', now: 199_999 }));
        assert.equal(refused.claimed, false);
        await store.idempotency.complete('key-1', 'owner-a', 'true', EXPIRES_AT);
        assert.equal(await store.idempotency.renew('key-1', 'owner-a', 300_000), false);
      }));

    it('releases only an in-progress claim of its owner', () =>
      withStore(open, async (store) => {
        await store.idempotency.release('absent', 'owner-a');
        await store.idempotency.claim(claimOf());
        await store.idempotency.release('key-1', 'owner-b');
        assert.equal((await store.idempotency.get('key-1'))?.owner, 'owner-a');
        await store.idempotency.release('key-1', 'owner-a');
        assert.equal(await store.idempotency.get('key-1'), undefined);
        // Released means absent: the next claim is a plain claim, not a takeover.
        assert.deepEqual(await store.idempotency.claim(claimOf({ owner: 'owner-b', now: 2_000 })), {
          claimed: true,
          takenOver: false,
        });
        await store.idempotency.complete('key-1', 'owner-b', '"done"', EXPIRES_AT);
        await store.idempotency.release('key-1', 'owner-b');
        assert.equal((await store.idempotency.get('key-1'))?.result, '"done"');
      }));

    it('get answers a stored record as it is, expired or not, until purged', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf({ expiresAt: 2_000 }));
        assert.equal((await store.idempotency.get('key-1'))?.expiresAt, 2_000);
        assert.equal(await store.idempotency.purgeExpired(1_999), 0);
        assert.equal(await store.idempotency.purgeExpired(2_000), 1);
        assert.equal(await store.idempotency.get('key-1'), undefined);
      }));

    it('purgeExpired deletes every record expired at now, in progress or completed, and counts them', () =>
      withStore(open, async (store) => {
        for (const [key, expiresAt] of [
          ['a', 1_500],
          ['b', 3_000],
          ['c', 3_001],
          ['d', 9_000],
        ] as const) {
          await store.idempotency.claim(claimOf({ key, owner: `owner-${key}`, expiresAt }));
        }
        await store.idempotency.complete('b', 'owner-b', '"b"', 3_000);
        assert.equal(await store.idempotency.purgeExpired(3_000), 2);
        assert.equal(await store.idempotency.get('a'), undefined);
        assert.equal(await store.idempotency.get('b'), undefined);
        assert.equal((await store.idempotency.get('c'))?.key, 'c');
        assert.equal((await store.idempotency.get('d'))?.key, 'd');
        assert.equal(await store.idempotency.purgeExpired(3_000), 0);
      }));

    it('keeps keys separate, whatever characters they hold', () =>
      withStore(open, async (store) => {
        const keys = ['a', 'A', 'a ', "it's", 'ключ-😀', 'x'.repeat(64), '%_*'];
        for (const key of keys) await store.idempotency.claim(claimOf({ key, owner: `owner:${key}` }));
        for (const key of keys) assert.equal((await store.idempotency.get(key))?.owner, `owner:${key}`);
        assert.equal(await store.idempotency.get('%'), undefined);
      }));

    it('keeps results byte for byte, including unicode and 1 MB of JSON', () =>
      withStore(open, async (store) => {
        const values = [...EXACT_VALUES, { label: '1 MB', text: largeJson() }];
        for (const [index, { text }] of values.entries()) {
          await store.idempotency.claim(claimOf({ key: `key-${index}` }));
          assert.equal(await store.idempotency.complete(`key-${index}`, 'owner-a', text, EXPIRES_AT), true);
        }
        for (const [index, { label, text }] of values.entries()) {
          assertSameText((await store.idempotency.get(`key-${index}`))?.result, text, label);
          const hit = await store.idempotency.claim(claimOf({ key: `key-${index}`, owner: 'owner-b' }));
          assert.ok(!hit.claimed);
          assertSameText(hit.record.result, text, `${label} (claim)`);
        }
      }));

    it('answers copies: changing a returned record changes nothing stored', () =>
      withStore(open, async (store) => {
        await store.idempotency.claim(claimOf());
        const record = (await store.idempotency.get('key-1'))!;
        record.owner = 'mallory';
        record.status = 'completed';
        const refused = await store.idempotency.claim(claimOf({ owner: 'owner-b' }));
        assert.ok(!refused.claimed);
        refused.record.owner = 'mallory';
        const stored = await store.idempotency.get('key-1');
        assert.equal(stored?.owner, 'owner-a');
        assert.equal(stored?.status, 'in-progress');
      }));
  });
}
