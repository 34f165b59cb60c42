import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AutoscalerDecision } from '../control/index.ts';
import { manualClock } from '../policies/index.ts';
import { parseConfig } from './config.ts';
import type { ActionName } from './configTypes.ts';
import type { AttemptView } from './controlPlaneTypes.ts';
import { type ControlActRequest, ControlHierarchy, type ControlSituation } from './hierarchy.ts';
import type { ActionOutcome, Signal } from './policyEngine.ts';

const CONFIG = `
services:
  checkout:
    command: node a.js
    group: shop
    gateway: { port: 9001 }
    fallback: {}
  recommendations:
    command: node b.js
    group: shop
    gateway: { port: 9002 }
    fallback: {}
  search:
    command: node c.js
    group: shop
    gateway: { port: 9003 }
    fallback: {}
    failover: { target: solo }
  solo:
    command: node d.js
groups:
  shop: { shed: [recommendations, search], restoreAfterMs: 5000 }
global:
  capacityCooldownMs: 10000
`;

const SIGNAL: Signal = { service: 'checkout', metrics: { latency_p99: 900 }, source: 'gateway' };

function attempt(service: string, ...actions: ActionName[]): AttemptView {
  return {
    id: `a-${actions.join('-')}`,
    source: 'policy',
    policy: 'Slow',
    service,
    trigger: { source: 'gateway', metrics: {}, conditions: ['latency_p99 > 500'] },
    actions: actions.map((type) => ({ type, status: 'failed', message: '', startedAt: '', endedAt: '' })),
    status: 'failed',
    outcome: 'failed',
    verified: null,
    startedAt: '',
    endedAt: '',
  };
}

function saturation(replicas = 4): AutoscalerDecision {
  return {
    replicas,
    value: 9,
    atMs: 0,
    ratio: 4.5,
    recommended: 8,
    desired: replicas,
    reason: 'at-max',
  } as never;
}

/** A hierarchy on CONFIG (with `extra` appended) over fake actions that record every call. */
function setup(extra = '', options: { refuse?: Set<string>; deny?: Set<string>; throwOn?: string } = {}) {
  const clock = manualClock(1_000_000);
  const config = parseConfig(CONFIG + extra, { env: {} });
  const acted: ControlActRequest[] = [];
  const pages: { situation: ControlSituation; reason: string }[] = [];
  const restored: string[] = [];
  const fallback = new Set<string>();
  const critical = new Set<string>();
  const hierarchy = new ControlHierarchy({
    config,
    clock,
    actions: {
      async act(request): Promise<ActionOutcome> {
        acted.push(request);
        const key = `${request.action.type} ${request.service}`;
        if (options.throwOn === key) throw new Error('actuator broke');
        if (options.refuse?.has(key))
          return { ok: false, message: 'rate limit: 2 actions per minute reached' };
        if (request.action.type === 'fallback-mode') fallback.add(request.service);
        return { ok: true, message: `${request.action.type} done` };
      },
      permitted: (service, action) => !options.deny?.has(`${action} ${service}`),
      restore: (service) => {
        restored.push(service);
        return fallback.delete(service);
      },
      page: async (situation, reason) => {
        pages.push({ situation, reason });
      },
      isCritical: (service) => critical.has(service),
      fallbackMode: (service) => fallback.has(service),
      failedOver: () => false,
    },
  });
  const did = () => acted.map((request) => `${request.level}: ${request.action.type} ${request.service}`);
  return { clock, hierarchy, acted, pages, restored, fallback, critical, did };
}

describe('the hierarchy of rebound up', () => {
  it('has a controller per service, per group and a global one, parents as the config says', () => {
    const { hierarchy } = setup();
    const views = hierarchy.views();
    const shape = Object.fromEntries(
      views.map((view) => [view.name, [view.level, view.parent, view.children]]),
    );
    assert.deepEqual(shape, {
      global: ['global', null, ['group:shop', 'service:solo']],
      'group:shop': ['group', 'global', ['service:checkout', 'service:recommendations', 'service:search']],
      'service:checkout': ['service', 'group:shop', []],
      'service:recommendations': ['service', 'group:shop', []],
      'service:search': ['service', 'group:shop', []],
      'service:solo': ['service', 'global', []],
    });
    assert.deepEqual(
      hierarchy.views({ level: 'group' }).map((view) => view.name),
      ['group:shop'],
    );
  });

  describe('a failed healing', () => {
    it('is restarted at the service level when no policy restarted it, and paged at the global level too', async () => {
      const { hierarchy, did, pages } = setup();
      const outcomes = await hierarchy.healingFailed('checkout', [attempt('checkout', 'scale-up')], SIGNAL);
      assert.deepEqual(
        outcomes.map((outcome) => `${outcome.level} ${outcome.action}`),
        ['service:checkout restart-service', 'global page'],
      );
      assert.deepEqual(did(), ['service:checkout: restart-service checkout']);
      assert.equal(pages.length, 1);
      assert.match(pages[0]!.reason, /service:checkout tried restart-service/);
      const views = Object.fromEntries(hierarchy.views().map((view) => [view.name, view.decisions]));
      assert.equal(views['service:checkout']!.length, 1);
      assert.equal(views.global![0]!.action, 'page');
    });

    it('is left to the group when the policies restarted already: a service it may shed sheds itself', async () => {
      const { hierarchy, did } = setup();
      const tried = [attempt('recommendations', 'restart-service')];
      const outcomes = await hierarchy.healingFailed('recommendations', tried, SIGNAL);
      assert.deepEqual(
        outcomes.map((outcome) => `${outcome.level} ${outcome.action}`),
        ['group:shop shed', 'global page'],
      );
      assert.deepEqual(did(), ['group:shop: fallback-mode recommendations']);
    });

    it('fails over at the group level when the service has a failover target the policies did not use', async () => {
      const { hierarchy, did } = setup();
      await hierarchy.healingFailed('search', [attempt('search', 'restart-service')], SIGNAL);
      assert.deepEqual(did(), ['group:shop: failover search']);
    });

    it('pages at once when no level below has anything left (critical, or not permitted)', async () => {
      const { hierarchy, did, pages, critical } = setup('', { deny: new Set(['restart-service solo']) });
      const outcomes = await hierarchy.healingFailed('solo', [attempt('solo', 'scale-up')], SIGNAL);
      assert.deepEqual(
        outcomes.map((outcome) => `${outcome.level} ${outcome.action}`),
        ['global page'],
      );
      assert.match(outcomes[0]!.reason, /no level below had anything left to try/);
      critical.add('checkout');
      await hierarchy.healingFailed('checkout', [attempt('checkout', 'scale-up')], SIGNAL);
      assert.deepEqual(did(), []);
      assert.equal(pages.length, 2);
    });

    it('hands on an action refused by the limits (or throwing) to the next level', async () => {
      const refused = setup('', { refuse: new Set(['restart-service solo']) });
      const outcomes = await refused.hierarchy.healingFailed('solo', [attempt('solo', 'scale-up')], SIGNAL);
      assert.deepEqual(refused.did(), ['service:solo: restart-service solo']);
      assert.deepEqual(
        outcomes.map((outcome) => `${outcome.level} ${outcome.action}`),
        ['global page'],
      );
      assert.deepEqual(
        refused.hierarchy.views({ level: 'service' }).flatMap((view) => view.decisions),
        [],
      );

      const broken = setup('', { throwOn: 'restart-service solo' });
      const answer = await broken.hierarchy.healingFailed('solo', [attempt('solo', 'scale-up')], SIGNAL);
      assert.deepEqual(
        answer.map((outcome) => outcome.action),
        ['page'],
      );
    });
  });

  describe('a service out of capacity', () => {
    it('sheds the first shed sibling at the group level, never the saturated service itself', async () => {
      const { hierarchy, did, acted } = setup();
      const outcome = await hierarchy.saturated('recommendations', saturation());
      assert.equal(outcome?.level, 'group:shop');
      assert.equal(outcome?.action, 'shed');
      assert.deepEqual(outcome?.details, {
        service: 'search',
        message: 'fallback-mode done',
        saturated: 'recommendations',
      });
      assert.deepEqual(did(), ['group:shop: fallback-mode search']);
      assert.match(acted[0]!.reason, /recommendations is out of capacity \(4\.5× its target at 4 replicas/);
      assert.equal(hierarchy.isShed('search'), true);
    });

    it('escalates once per cooldown; with nothing left to shed the global level adds capacity', async () => {
      const { hierarchy, clock, did } = setup('  addCapacity: { command: "echo more" }\n');
      assert.equal((await hierarchy.saturated('checkout', saturation()))?.action, 'shed');
      assert.equal(await hierarchy.saturated('checkout', saturation()), undefined);
      assert.deepEqual(did(), ['group:shop: fallback-mode recommendations']);
      clock.advance(9_999);
      assert.equal(await hierarchy.saturated('checkout', saturation()), undefined);
      clock.advance(1);
      assert.equal((await hierarchy.saturated('checkout', saturation()))?.action, 'shed');
      clock.advance(10_000);
      const global = await hierarchy.saturated('checkout', saturation());
      assert.equal(global?.level, 'global');
      assert.equal(global?.action, 'add-capacity');
      assert.deepEqual(did(), [
        'group:shop: fallback-mode recommendations',
        'group:shop: fallback-mode search',
        'global: exec checkout',
      ]);
    });

    it('pages at the global level without addCapacity, and for a service in no group', async () => {
      const { hierarchy, pages, did } = setup();
      const outcome = await hierarchy.saturated('solo', saturation());
      assert.equal(outcome?.level, 'global');
      assert.equal(outcome?.action, 'page');
      assert.match(outcome!.reason, /no global\.addCapacity configured/);
      assert.equal(pages[0]!.situation.type, 'capacity');
      assert.deepEqual(did(), []);
    });

    it('restores a shed service once its cause has not been saturated for restoreAfterMs', async () => {
      const { hierarchy, clock, restored, fallback } = setup();
      await hierarchy.saturated('checkout', saturation());
      assert.equal(fallback.has('recommendations'), true);
      // Still saturated (reported within the cooldown): not restored.
      for (let second = 0; second < 8; second++) {
        clock.advance(1000);
        await hierarchy.saturated('checkout', saturation());
        assert.deepEqual(await hierarchy.tick(), []);
      }
      clock.advance(4_999);
      assert.deepEqual(await hierarchy.tick(), []);
      clock.advance(1);
      const [outcome] = await hierarchy.tick();
      assert.equal(outcome?.level, 'group:shop');
      assert.equal(outcome?.action, 'restore');
      assert.deepEqual(restored, ['recommendations']);
      assert.equal(fallback.has('recommendations'), false);
      assert.equal(hierarchy.isShed('recommendations'), false);
      assert.deepEqual(await hierarchy.tick(), []);
    });
  });

  it('shows the decisions of an earlier run first, newest last', async () => {
    const { hierarchy } = setup();
    hierarchy.remember([
      { level: 'global', action: 'page', reason: 'earlier', at: '2025-01-01T00:00:00.000Z' },
      { level: 'group:gone', action: 'shed', reason: 'a group no longer configured', at: '' },
    ]);
    await hierarchy.saturated('solo', saturation());
    const global = hierarchy.views({ level: 'global' })[0]!;
    assert.deepEqual(
      global.decisions.map((decision) => decision.reason.slice(0, 7)),
      ['earlier', 'solo is'],
    );
  });
});
