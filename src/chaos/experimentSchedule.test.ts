import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Clock, InvalidOptionsError, manualClock } from '../policies/index.ts';
import { chaosRuns } from './experimentRuns.ts';
import { type ScheduleEvent, experimentScheduler, withBlastRadius } from './experimentSchedule.ts';
import { parseExperiment } from './experimentSchema.ts';
import { fakeTarget, settle } from './test-support/experimentFakeTarget.ts';

const killOne = parseExperiment(`
title: kill one
target: payment-api
method: [{ fault: { kill: {} } }]
`);

const killTwo = parseExperiment(`
title: kill two
target: payment-api
method: [{ fault: { kill: { replicas: 2 } } }]
`);

const longLatency = parseExperiment(`
title: long latency
target: payment-api
method: [{ fault: { latency: { ms: 500 } }, durationMs: 600000 }]
`);

/** Monday 6 January 2025, 02:59:30 UTC. */
const MONDAY = Date.UTC(2025, 0, 6, 2, 59, 30);

function setup() {
  const clock = manualClock(MONDAY);
  const fake = fakeTarget(clock);
  let next = 0;
  const runs = chaosRuns({ target: fake.target, clock, newId: () => `run-${++next}` });
  const events: ScheduleEvent[] = [];
  const onEvent = (event: ScheduleEvent) => events.push(event);
  return { clock, fake, runs, events, onEvent };
}

/** Starts of the runs, as milliseconds after MONDAY. */
async function startedAt(runs: ReturnType<typeof chaosRuns>): Promise<number[]> {
  return (await runs.list()).map((journal) => Date.parse(journal.startedAt) - MONDAY).sort((a, b) => a - b);
}

describe('experimentScheduler', () => {
  it('an interval fires every period from start(), and list() shows the next and the last run', async () => {
    const { clock, runs, events, onEvent } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      onEvent,
      schedules: [{ name: 'kill', experiment: killOne, every: 60_000 }],
    });
    assert.equal(scheduler.list()[0]!.nextRunAt, null, 'nothing is due before start()');
    scheduler.start();
    assert.equal(scheduler.list()[0]!.nextRunAt, new Date(MONDAY + 60_000).toISOString());
    await clock.tickAsync(59_999);
    assert.equal(events.length, 0);
    await clock.tickAsync(1);
    assert.deepEqual(events, [{ schedule: 'kill', kind: 'started', runId: 'run-1' }]);
    await clock.tickAsync(120_000);
    assert.deepEqual(await startedAt(runs), [60_000, 120_000, 180_000]);
    const [view] = scheduler.list();
    assert.deepEqual(view, {
      name: 'kill',
      title: 'kill one',
      target: 'payment-api',
      every: 60_000,
      cron: null,
      timezone: null,
      enabled: true,
      nextRunAt: new Date(MONDAY + 240_000).toISOString(),
      lastRun: {
        id: 'run-3',
        at: new Date(MONDAY + 180_000).toISOString(),
        outcome: 'started',
        reason: null,
      },
    });
    assert.equal((await runs.get('run-3'))?.status, 'completed');
    scheduler.stop();
  });

  it('does not drift when its timer fires late: each period is measured from the due time', async () => {
    const { clock, runs } = setup();
    // Every timer of the scheduler's clock fires 250 ms after it was asked to.
    const late: Clock = { ...clock, setTimeout: (callback, ms) => clock.setTimeout(callback, ms + 250) };
    const scheduler = experimentScheduler({
      runs,
      clock: late,
      schedules: [{ name: 'kill', experiment: killOne, every: 60_000 }],
    });
    scheduler.start();
    await clock.tickAsync(181_000);
    assert.deepEqual(
      await startedAt(runs),
      [60_250, 120_250, 180_250],
      'late by 250 ms each, not 250 more each',
    );
    assert.equal(scheduler.list()[0]!.nextRunAt, new Date(MONDAY + 240_000).toISOString());
    scheduler.stop();
  });

  it('after a long stall it runs once, not once per missed period', async () => {
    let first = true;
    const { clock, runs } = setup();
    // The process is busy: the first timer fires five periods late.
    const stalled: Clock = {
      ...clock,
      setTimeout(callback, ms) {
        const delay = first ? ms + 300_000 : ms;
        first = false;
        return clock.setTimeout(callback, delay);
      },
    };
    const scheduler = experimentScheduler({
      runs,
      clock: stalled,
      schedules: [{ name: 'kill', experiment: killOne, every: 60_000 }],
    });
    scheduler.start();
    await clock.tickAsync(360_000);
    assert.deepEqual(await startedAt(runs), [360_000]);
    assert.equal(
      scheduler.list()[0]!.nextRunAt,
      new Date(MONDAY + 420_000).toISOString(),
      'the missed periods are skipped; the next one stays on the original grid',
    );
    await clock.tickAsync(60_000);
    assert.deepEqual(await startedAt(runs), [360_000, 420_000]);
    scheduler.stop();
  });

  it('a cron schedule fires at the minute its pattern names, in its time zone', async () => {
    const { clock, runs, events, onEvent } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      onEvent,
      schedules: [{ name: 'weekdays', experiment: killOne, cron: '0 3 * * 1-5', timezone: 'UTC' }],
    });
    scheduler.start();
    assert.equal(scheduler.list()[0]!.nextRunAt, '2025-01-06T03:00:00.000Z');
    assert.equal(clock.pendingTimers, 1, 'one timer');
    await clock.tickAsync(29_999);
    assert.equal(events.length, 0);
    await clock.tickAsync(1);
    assert.equal(events.length, 1);
    assert.equal((await runs.list())[0]!.startedAt, '2025-01-06T03:00:00.000Z');
    assert.equal(scheduler.list()[0]!.nextRunAt, '2025-01-07T03:00:00.000Z');
    scheduler.stop();
  });

  it('a cron in another time zone follows that zone', async () => {
    const { clock, runs } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      schedules: [{ name: 'paris', experiment: killOne, cron: '0 3 * * *', timezone: 'Europe/Paris' }],
    });
    scheduler.start();
    // 03:00 in Paris in January is 02:00 UTC: today's has passed, tomorrow's is next.
    assert.equal(scheduler.list()[0]!.nextRunAt, '2025-01-07T02:00:00.000Z');
    scheduler.stop();
  });

  it('reaches an occurrence beyond the longest timer Node can hold by re-arming, without running early', async () => {
    const { clock, runs, events, onEvent } = setup();
    const delays: number[] = [];
    const recording: Clock = {
      ...clock,
      setTimeout: (callback, ms) => (delays.push(ms), clock.setTimeout(callback, ms)),
    };
    const scheduler = experimentScheduler({
      runs,
      clock: recording,
      onEvent,
      schedules: [{ name: 'yearly', experiment: killOne, cron: '0 0 1 1 *', timezone: 'UTC' }],
    });
    scheduler.start();
    const due = Date.parse('2026-01-01T00:00:00.000Z');
    assert.equal(scheduler.list()[0]!.nextRunAt, new Date(due).toISOString());
    await clock.tickAsync(2 ** 31 - 1);
    assert.equal(events.length, 0, 'the capped timer fired with nothing due');
    assert.equal(clock.pendingTimers, 1, 'and was armed again');
    assert.deepEqual(delays, [2 ** 31 - 1, 2 ** 31 - 1], 'never longer than a Node timer can hold');
    await clock.tickAsync(due - clock.now() - 1);
    assert.equal(events.length, 0);
    await clock.tickAsync(1);
    assert.equal(events.length, 1);
    assert.equal((await runs.list())[0]!.startedAt, '2026-01-01T00:00:00.000Z');
    assert.ok(delays.length > 10 && delays.every((ms) => ms <= 2 ** 31 - 1), String(delays));
    scheduler.stop();
  });

  it('an occurrence is skipped, and said so, while another run holds the target', async () => {
    const { clock, runs, fake, events, onEvent } = setup();
    const busy = runs.start(longLatency);
    const scheduler = experimentScheduler({
      runs,
      clock,
      onEvent,
      schedules: [{ name: 'kill', experiment: killOne, every: 60_000 }],
    });
    scheduler.start();
    await clock.tickAsync(60_000);
    assert.equal(events.length, 1);
    assert.equal(events[0]!.kind, 'skipped');
    assert.match(
      events[0]!.reason!,
      new RegExp(`another run \\(${busy.id}\\) is in progress on payment-api`),
    );
    assert.deepEqual(scheduler.list()[0]!.lastRun, {
      id: null,
      at: new Date(MONDAY + 60_000).toISOString(),
      outcome: 'skipped',
      reason: events[0]!.reason,
    });
    assert.deepEqual(
      fake.state.injected.map((fault) => fault.kind),
      ['latency'],
      'the skipped occurrence injected nothing',
    );
    assert.equal(scheduler.list()[0]!.nextRunAt, new Date(MONDAY + 120_000).toISOString(), 'it keeps going');
    scheduler.stop();
    await runs.stopAll();
    await settle(runs.done(busy.id)!, clock);
  });

  it('any other error starting a run is a skipped occurrence too, never thrown out of the timer', async () => {
    const { clock, events, onEvent } = setup();
    let calls = 0;
    const broken = {
      ...chaosRuns({ target: fakeTarget(clock).target, clock }),
      start(): never {
        calls++;
        throw new Error('store unavailable');
      },
    };
    const scheduler = experimentScheduler({
      runs: broken,
      clock,
      onEvent,
      schedules: [{ name: 'kill', experiment: killOne, every: 60_000 }],
    });
    scheduler.start();
    await clock.tickAsync(120_000);
    assert.equal(calls, 2);
    assert.deepEqual(
      events.map((event) => [event.kind, event.reason]),
      [
        ['skipped', 'the run could not start: store unavailable'],
        ['skipped', 'the run could not start: store unavailable'],
      ],
    );
    scheduler.stop();
  });

  it('keeps one timer for every schedule, and stop() clears it', async () => {
    const { clock, runs } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      schedules: [
        { name: 'a', experiment: killOne, every: 60_000 },
        { name: 'b', experiment: { ...killOne, target: 'orders' }, every: 45_000 },
        { name: 'c', experiment: killOne, cron: '*/5 * * * *', timezone: 'UTC' },
      ],
    });
    scheduler.start();
    assert.equal(clock.pendingTimers, 1);
    assert.equal(scheduler.list()[1]!.nextRunAt, new Date(MONDAY + 45_000).toISOString());
    scheduler.stop();
    assert.equal(clock.pendingTimers, 0);
    assert.deepEqual(
      scheduler.list().map((view) => view.nextRunAt),
      [null, null, null],
    );
    await clock.tickAsync(600_000);
    assert.deepEqual(await runs.list(), [], 'nothing runs after stop()');
  });

  it('a disabled schedule is listed but never runs', async () => {
    const { clock, runs } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      schedules: [{ name: 'off', experiment: killOne, every: 1_000, enabled: false }],
    });
    scheduler.start();
    assert.equal(clock.pendingTimers, 0, 'no timer for nothing to do');
    await clock.tickAsync(10_000);
    assert.deepEqual(await runs.list(), []);
    const [view] = scheduler.list();
    assert.equal(view!.enabled, false);
    assert.equal(view!.nextRunAt, null);
    assert.equal(view!.lastRun, null);
    scheduler.stop();
  });

  it("the schedule's blast radius, merged with the experiment's, refuses a run that kills too many", async () => {
    const { clock, runs, fake, events, onEvent } = setup();
    const scheduler = experimentScheduler({
      runs,
      clock,
      onEvent,
      schedules: [
        { name: 'two', experiment: withBlastRadius(killTwo, { maxReplicas: 1 }), every: 60_000 },
        {
          name: 'half',
          experiment: withBlastRadius({ ...killTwo, target: 'orders' }, { maxPercent: 50 }),
          every: 60_000,
        },
      ],
    });
    fake.state.services.push('orders');
    scheduler.start();
    await clock.tickAsync(60_000);
    assert.deepEqual(
      events.map((event) => event.kind),
      ['started', 'started'],
    );
    const journals = await Promise.all(events.map((event) => settle(runs.done(event.runId!)!, clock)));
    assert.deepEqual(
      journals.map((journal) => [journal.status, journal.reason]),
      [
        ['aborted', 'refused to start: kill of 2 replicas exceeds blastRadius.maxReplicas 1'],
        [
          'aborted',
          'refused to start: kill of 2 of 2 replicas exceeds blastRadius.maxPercent 50% (at most 1)',
        ],
      ],
    );
    assert.deepEqual(fake.state.injected, [], 'nothing injected');
    scheduler.stop();
  });

  it('withBlastRadius keeps the stricter limit of each field', () => {
    const own = { ...killOne, blastRadius: { maxReplicas: 3, maxPercent: 20 } };
    assert.deepEqual(withBlastRadius(own, { maxReplicas: 1, maxPercent: 50 }).blastRadius, {
      maxReplicas: 1,
      maxPercent: 20,
    });
    assert.deepEqual(withBlastRadius(killOne, { maxPercent: 50 }).blastRadius, { maxPercent: 50 });
    assert.equal(withBlastRadius(own, undefined), own);
  });

  it('validates its options once, listing every problem', () => {
    const { clock, runs } = setup();
    assert.throws(
      () =>
        experimentScheduler({
          runs,
          clock,
          schedules: [
            { name: 'a', experiment: killOne },
            { name: 'a', experiment: killOne, every: 10 },
            { name: 'c', experiment: killOne, every: 1_000, cron: '* * * * *' },
            { name: 'd', experiment: killOne, cron: '0 3 * * 8' },
            { name: 'e', experiment: killOne, cron: '0 3 * * *', timezone: 'Nowhere/City' },
            { name: 'f', experiment: killOne, every: 2_000, timezone: 'UTC' },
          ],
        }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'schedules[0] must have exactly one of every and cron',
          'schedules[1].name duplicates the name of schedules[0]',
          'schedules[1].every must be >= 1000, got 10',
          'schedules[2] must have exactly one of every and cron',
          'schedules[3].cron: Invalid value for dayOfWeek: 8',
          'schedules[4].timezone: unknown time zone "Nowhere/City", expected an IANA name such as Europe/Paris or UTC',
          'schedules[5].timezone applies only to a cron schedule',
        ]);
        return true;
      },
    );
  });
});
