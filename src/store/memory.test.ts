// The memory adapter: the shared contract, and what is particular to memory.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storeContract } from './contract.ts';
import { openStore } from './index.ts';

storeContract('memory', () => openStore('memory:'));

describe('memory store', () => {
  it('gives every open its own empty store', async () => {
    const first = await openStore('memory:');
    const second = await openStore('memory:');
    await first.kv.set('ns', 'k', '1', 1);
    assert.equal(await second.kv.get('ns', 'k'), undefined);
    assert.equal(first.kind, 'memory');
    assert.equal(first.url, 'memory:');
    await Promise.all([first.close(), second.close()]);
  });

  it('keeps no reference to a record it was given', async () => {
    const store = await openStore('memory:');
    const claim = {
      key: 'k',
      name: 'n',
      paramsHash: 'h',
      owner: 'o',
      now: 1,
      leaseUntil: 10,
      expiresAt: 100,
    };
    await store.idempotency.claim(claim);
    claim.owner = 'changed';
    assert.equal((await store.idempotency.get('k'))?.owner, 'o');
    await store.close();
  });
});
