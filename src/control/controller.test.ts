import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { manualClock } from '../policies/clock.ts';
import { InvalidOptionsError } from '../policies/errors.ts';
import { type ControlOutcome, controller, type Decision } from './controller.ts';

interface Situation {
  type: string;
  node?: string;
  cpu?: number;
  imbalance?: number;
  global_usage?: number;
}

const START = Date.parse('2026-01-01T00:00:00.000Z');

/** A controller that decides `action` for one type of situation and counts its calls. */
function level(
  name: string,
  type: string,
  action: string,
  extra: { parent?: ReturnType<typeof controller<Situation>>; accepts?: (s: Situation) => boolean } = {},
) {
  const calls: string[] = [];
  const made = controller<Situation>({
    name,
    ...extra,
    clock: manualClock(START),
    decide: (situation) => {
      calls.push(situation.type);
      return situation.type === type ? { action, reason: `${name} handles ${type}` } : null;
    },
  });
  return { controller: made, calls };
}

describe('controller', () => {
  it('answers with its own decision first, stamped with its name and the ISO time', async () => {
    const clock = manualClock(START);
    const service = controller<Situation>({
      name: 'service',
      clock,
      decide: (s) => (s.type === 'crash' ? { action: 'restart', reason: 'replica exited' } : null),
    });
    clock.advance(1500);
    const outcome = await service.handle({ type: 'crash' });
    assert.deepEqual(outcome, {
      level: 'service',
      action: 'restart',
      reason: 'replica exited',
      at: '2026-01-01T00:00:01.500Z',
    });
    assert.deepEqual(service.decisions(), [outcome]);
  });

  it('delegates to the children that accept the situation, in creation order', async () => {
    const group = level('group', 'none', 'shed');
    const api = level('api', 'overload', 'scale_api', {
      parent: group.controller,
      accepts: (s) => s.node === 'api',
    });
    const worker = level('worker', 'overload', 'scale_worker', {
      parent: group.controller,
      accepts: (s) => s.node === 'worker',
    });
    const outcome = await group.controller.handle({ type: 'overload', node: 'worker' });
    assert.equal(outcome.level, 'worker');
    assert.equal(outcome.action, 'scale_worker');
    assert.deepEqual(api.calls, [], 'a child that does not accept is not asked');
    assert.deepEqual(group.controller.children, [api.controller, worker.controller]);
    assert.deepEqual(group.controller.decisions(), []);
    assert.equal(worker.controller.decisions().length, 1);
  });

  it('without accepts a child takes everything, and delegation goes down the whole subtree', async () => {
    const top = level('top', 'none', 'x');
    const middle = level('middle', 'none', 'y', { parent: top.controller });
    const leaf = level('leaf', 'deep', 'fix_deep', { parent: middle.controller });
    const outcome = await top.controller.handle({ type: 'deep' });
    assert.equal(outcome.level, 'leaf');
    assert.deepEqual([top.calls, middle.calls, leaf.calls], [['deep'], ['deep'], ['deep']]);
  });

  it('escalates to its parent, and the parent never hands the situation back down the same branch', async () => {
    const region = level('region', 'none', 'x');
    const node1 = level('node-1', 'none', 'y', { parent: region.controller });
    const node2 = level('node-2', 'local', 'fix_node2', { parent: region.controller });
    const outcome = await node1.controller.handle({ type: 'local' });
    assert.equal(outcome.level, 'node-2', 'a sibling branch may take it');
    assert.deepEqual(node1.calls, ['local'], 'node-1 decided once, not again when the region delegated');
    assert.deepEqual(region.calls, ['local']);
    assert.deepEqual(node2.calls, ['local']);
  });

  it('answers no_action at the top when no level decides, and records it there', async () => {
    const top = level('global', 'none', 'x');
    const child = level('region', 'none', 'y', { parent: top.controller });
    const outcome = await child.controller.handle({ type: 'unknown' });
    assert.deepEqual(outcome, {
      level: 'global',
      action: 'no_action',
      reason: 'No applicable control policy',
      at: '2026-01-01T00:00:00.000Z',
    });
    assert.deepEqual(top.controller.decisions(), [outcome]);
    assert.deepEqual(child.controller.decisions(), []);
  });

  it('keeps decisions per level, newest last, bounded by maxDecisions', async () => {
    const clock = manualClock(START);
    let count = 0;
    const busy = controller<Situation>({
      name: 'busy',
      clock,
      maxDecisions: 3,
      decide: () => ({ action: `a${++count}`, reason: 'always' }),
    });
    for (let index = 0; index < 5; index++) {
      await busy.handle({ type: 't' });
      clock.advance(1000);
    }
    assert.deepEqual(
      busy.decisions().map((d) => [d.action, d.at]),
      [
        ['a3', '2026-01-01T00:00:02.000Z'],
        ['a4', '2026-01-01T00:00:03.000Z'],
        ['a5', '2026-01-01T00:00:04.000Z'],
      ],
    );
  });

  it('reports a decide that throws (or rejects) and treats it as no decision', async () => {
    const errors: [string, string][] = [];
    const onError = (error: unknown, name: string) => errors.push([name, (error as Error).message]);
    const top = controller<Situation>({
      name: 'top',
      onError,
      clock: manualClock(START),
      decide: () => ({ action: 'page_human', reason: 'nobody below could' }),
    });
    const broken = controller<Situation>({
      name: 'broken',
      parent: top,
      decide: () => {
        throw new Error('boom');
      },
    });
    const rejecting = controller<Situation>({
      name: 'rejecting',
      parent: broken,
      decide: () => Promise.reject(new Error('async boom')),
    });
    const outcome = await broken.handle({ type: 'x' });
    assert.equal(outcome.level, 'top');
    assert.equal(outcome.action, 'page_human');
    assert.deepEqual(errors, [
      ['broken', 'boom'],
      ['rejecting', 'async boom'],
    ]);
    assert.deepEqual(rejecting.decisions(), []);
  });

  it('treats a malformed decision and an accepts that throws as errors, not decisions', async () => {
    const errors: string[] = [];
    const top = controller<Situation>({
      name: 'top',
      onError: (_error, name) => errors.push(name),
      decide: () => ({ action: 42 }) as unknown as Decision,
    });
    controller<Situation>({
      name: 'picky',
      parent: top,
      accepts: () => {
        throw new Error('bad accepts');
      },
      decide: () => ({ action: 'never', reason: 'never asked' }),
    });
    const outcome = await top.handle({ type: 'x' });
    assert.equal(outcome.action, 'no_action');
    assert.deepEqual(errors, ['top', 'picky']);
  });

  it('passes details through to the outcome', async () => {
    const scaler = controller<Situation>({
      name: 'api',
      decide: () => ({ action: 'scale', reason: 'busy', details: { replicas: 4 } }),
    });
    const outcome: ControlOutcome = await scaler.handle({ type: 'load' });
    assert.deepEqual(outcome.details, { replicas: 4 });
  });

  it('validates its options once, listing every problem', () => {
    assert.throws(
      () =>
        controller({
          name: '',
          decide: 'no' as never,
          maxDecisions: 0,
          parent: {} as never,
        }),
      (error: unknown) =>
        error instanceof InvalidOptionsError &&
        error.problems.length === 4 &&
        ['name', 'decide', 'maxDecisions', 'parent'].every((field) =>
          error.problems.some((problem) => problem.startsWith(`controller.${field} `)),
        ),
    );
  });

  it("reproduces the seeds' example: global, us-east, node-1", async () => {
    const clock = manualClock(START);
    const global = controller<Situation>({
      name: 'global',
      clock,
      decide: (ctx) =>
        ctx.type === 'capacity' && (ctx.global_usage ?? 0) > 0.9
          ? { action: 'add_capacity', reason: 'Global capacity limit approaching' }
          : null,
    });
    const region = controller<Situation>({
      name: 'us-east',
      parent: global,
      decide: (ctx) =>
        ctx.type === 'load_imbalance' && (ctx.imbalance ?? 0) > 0.3
          ? { action: 'rebalance_shards', reason: 'Shard load imbalance across nodes' }
          : null,
    });
    const node = controller<Situation>({
      name: 'node-1',
      parent: region,
      decide: (ctx) =>
        ctx.type === 'node_health' && (ctx.cpu ?? 0) > 0.95
          ? { action: 'restart_service', reason: 'Node CPU saturated' }
          : null,
    });

    clock.advance(1000);
    assert.deepEqual(await node.handle({ type: 'load_imbalance', imbalance: 0.5 }), {
      level: 'us-east',
      action: 'rebalance_shards',
      reason: 'Shard load imbalance across nodes',
      at: '2026-01-01T00:00:01.000Z',
    });
    assert.equal((await node.handle({ type: 'node_health', cpu: 0.99 })).action, 'restart_service');
    assert.equal((await node.handle({ type: 'capacity', global_usage: 0.95 })).level, 'global');
    assert.equal((await node.handle({ type: 'capacity', global_usage: 0.5 })).action, 'no_action');
    assert.deepEqual(
      [global, region, node].map((c) => c.decisions().map((d) => d.action)),
      [['add_capacity', 'no_action'], ['rebalance_shards'], ['restart_service']],
    );
  });
});
