// The config of the hierarchy of controllers: a service's `group`, `groups` and `global`, resolved
// with their defaults, and every problem reported with its path.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfig } from './config.ts';
import { isConfigError } from './configErrors.ts';

function problems(yaml: string): string[] {
  try {
    parseConfig(yaml, { env: {} });
  } catch (error) {
    if (!isConfigError(error)) throw error;
    return error.problems.map((problem) => `${problem.path}: ${problem.message}`).sort();
  }
  return [];
}

describe('config: groups and the global controller', () => {
  it('resolves groups, each service group and global with their defaults', () => {
    const config = parseConfig(
      `services:
  checkout: { command: node a.js, group: shop }
  recommendations: { command: node b.js, group: shop, gateway: { port: 9002 }, fallback: {} }
  solo: { command: node c.js }
groups:
  shop: { shed: [recommendations] }
global:
  addCapacity: { command: "scripts/add-node.sh --zone 'eu 1'", timeoutMs: 5000 }
`,
      { env: {} },
    );
    assert.deepEqual(config.groups, {
      shop: { name: 'shop', shed: ['recommendations'], restoreAfterMs: 60_000 },
    });
    assert.equal(config.services.checkout!.group, 'shop');
    assert.equal(config.services.solo!.group, undefined);
    assert.deepEqual(config.global, {
      addCapacity: {
        command: "scripts/add-node.sh --zone 'eu 1'",
        argv: ['scripts/add-node.sh', '--zone', 'eu 1'],
        timeoutMs: 5000,
      },
      capacityCooldownMs: 60_000,
    });
    const plain = parseConfig('services: { a: { command: node a.js } }', { env: {} });
    assert.deepEqual(plain.groups, {});
    assert.deepEqual(plain.global, { addCapacity: undefined, capacityCooldownMs: 60_000 });
    const short = parseConfig(
      'services: { a: { command: node a.js, group: g } }\ngroups: { g: }\nglobal: { addCapacity: "echo hi" }',
      { env: {} },
    );
    assert.deepEqual(short.groups.g, { name: 'g', shed: [], restoreAfterMs: 60_000 });
    assert.deepEqual(short.global.addCapacity, {
      command: 'echo hi',
      argv: ['echo', 'hi'],
      timeoutMs: 30_000,
    });
  });

  it('reports every problem of groups, group and global with its path', () => {
    assert.deepEqual(
      problems(`services:
  checkout: { command: node a.js, group: shop, gateway: { port: 9001 } }
  recommendations: { command: node b.js, group: shop, gateway: { port: 9002 }, fallback: {} }
  other: { command: node c.js, group: shp }
groups:
  shop: { shed: [recommendations, checkout, other, nope, recommendations], restoreAfterMs: -1 }
  empty: {}
global: { addCapacity: "echo 'unterminated", capacityCooldownMs: 1.5, extra: 1 }
`),
      [
        'services.other.group: unknown group "shp" (known: shop, empty)',
        'groups.shop.shed.1: checkout needs a fallback to be shed (its gateway answers with its fallback)',
        'groups.shop.shed.2: other is not in group shop: give it `group: shop`',
        'groups.shop.shed.3: unknown service "nope"',
        'groups.shop.shed.4: "recommendations" is listed twice',
        'groups.shop.restoreAfterMs: must be >= 0, got -1',
        'groups.empty: has no member: give its services `group: empty`',
        'global.extra: is not a known field',
        'global.addCapacity: cannot be split into arguments: it has an unterminated single quote',
        'global.capacityCooldownMs: must be an integer, got 1.5',
      ].sort(),
    );
  });
});
