import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidOptionsError } from '../policies/index.ts';
import { pidController } from './pidController.ts';

const close = (actual: number, expected: number) =>
  assert.ok(Math.abs(actual - expected) < 1e-9, `expected ${expected}, got ${actual}`);

describe('pidController', () => {
  it('integrates error × seconds over uneven intervals', () => {
    const pid = pidController({ kp: 0, ki: 2, kd: 0, setpoint: 1, min: -100, max: 100 });
    close(pid.update(0, 10_000), 0); // first update: no interval yet
    close(pid.update(0, 10_500), 2 * 0.5);
    close(pid.update(0, 12_000), 2 * (0.5 + 1.5));
    close(pid.update(0.5, 12_250), 2 * (0.5 + 1.5 + 0.5 * 0.25));
  });

  it('takes the derivative per second of the measurement, over uneven intervals', () => {
    const pid = pidController({ kp: 0, ki: 0, kd: 3, setpoint: 0, min: -100, max: 100 });
    close(pid.update(0, 0), 0);
    close(pid.update(1, 500), -3 * (1 / 0.5));
    close(pid.update(2, 2_500), -3 * (1 / 2));
    close(pid.update(2, 3_000), 0);
  });

  it('sums the three terms', () => {
    const pid = pidController({ kp: 0.5, ki: 0.25, kd: 1, setpoint: 2, min: -100, max: 100 });
    close(pid.update(1, 0), 0.5 * 1);
    // error 1.5 for 2 s; measurement fell by 0.5 in 2 s.
    close(pid.update(0.5, 2_000), 0.5 * 1.5 + 0.25 * 3 + 1 * 0.25);
  });

  it('clamps the output to [min, max]', () => {
    const pid = pidController({ kp: 10, ki: 0, kd: 0, setpoint: 0, min: -1, max: 2 });
    assert.equal(pid.update(-5, 0), 2);
    assert.equal(pid.update(5, 1_000), -1);
    close(pid.update(-0.1, 2_000), 1);
  });

  it('stops integrating while saturated, so it recovers at once where a plain integrator lags', () => {
    const options = { kp: 0, ki: 1, kd: 0, setpoint: 1, min: -1, max: 1 };
    const pid = pidController(options);
    let plainIntegral = 0;
    const plain = (error: number, seconds: number) => {
      plainIntegral += error * seconds;
      return Math.min(options.max, Math.max(options.min, options.ki * plainIntegral));
    };
    pid.update(0, 0);
    for (let second = 1; second <= 100; second++) {
      assert.equal(pid.update(0, second * 1_000), 1);
      plain(1, 1);
    }
    // The measurement overshoots: error −1 from now on.
    const recovered: number[] = [];
    const plainRecovered: number[] = [];
    for (let second = 101; second <= 105; second++) {
      recovered.push(pid.update(2, second * 1_000));
      plainRecovered.push(plain(-1, 1));
    }
    assert.deepEqual(recovered, [0, -1, -1, -1, -1]);
    assert.deepEqual(plainRecovered, [1, 1, 1, 1, 1], 'the plain integrator is still wound up');
  });

  it('integrates up to the bound, not past it, when one interval would saturate', () => {
    const pid = pidController({ kp: 0, ki: 1, kd: 0, setpoint: 1, min: -1, max: 1 });
    pid.update(0, 0);
    assert.equal(pid.update(0, 3_000), 1); // integral stopped at 1, not 3
    close(pid.update(1.5, 4_000), 0.5); // one second at −0.5
  });

  it('stores nothing while the proportional term alone saturates, and integrates once back inside', () => {
    const pid = pidController({ kp: 5, ki: 1, kd: 0, setpoint: 0, min: -1, max: 1 });
    assert.equal(pid.update(-1, 0), 1);
    assert.equal(pid.update(-1, 1_000), 1); // P = 5: the integral stays 0
    close(pid.update(0.1, 2_000), -0.5 - 0.1); // P −0.5, integral −0.1 (a stored +1 would give +0.4)
    close(pid.update(0.1, 3_000), -0.5 - 0.2);
  });

  it('causes no derivative kick when the setpoint changes', () => {
    const pid = pidController({ kp: 1, ki: 0, kd: 10, setpoint: 0.7, min: -100, max: 100 });
    close(pid.update(0.5, 0), 0.2);
    close(pid.update(0.5, 1_000), 0.2);
    pid.setpoint = 0.9;
    assert.equal(pid.setpoint, 0.9);
    close(pid.update(0.5, 2_000), 0.4); // proportional only; an error derivative would add 10 × 0.2
  });

  it('has no derivative and no integral on the first update', () => {
    const pid = pidController({ kp: 0, ki: 5, kd: 5, setpoint: 0, min: -100, max: 100 });
    assert.equal(pid.update(42, 1_000_000), 0);
  });

  it('forgets the integral and the previous sample on reset()', () => {
    const pid = pidController({ kp: 0, ki: 1, kd: 1, setpoint: 1, min: -100, max: 100 });
    pid.update(0, 0);
    close(pid.update(0, 4_000), 4);
    pid.reset();
    assert.equal(pid.update(0.5, 5_000), 0, 'first update again: no integral, no derivative');
    close(pid.update(0.5, 6_000), 0.5);
  });

  it('treats a zero or backwards interval as no time passing', () => {
    const pid = pidController({ kp: 0, ki: 1, kd: 1, setpoint: 1, min: -100, max: 100 });
    pid.update(0, 10_000);
    close(pid.update(0, 12_000), 2);
    close(pid.update(0.5, 12_000), 2); // same time: no integral, no derivative
    close(pid.update(0.5, 11_000), 2); // backwards: the same
    // Measured from 12 000 (the latest time seen) and from the latest measurement 0.5.
    close(pid.update(0.5, 13_000), 2.5);
  });

  it('lists every problem with its options at once', () => {
    assert.throws(
      () => pidController({ kp: -1, ki: Number.NaN, kd: Infinity, setpoint: Infinity, min: 1, max: 1 }),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.deepEqual(error.problems, [
          'pidController.kp must be >= 0, got -1',
          'pidController.ki must be a number, got NaN',
          'pidController.kd must be finite, got Infinity',
          'pidController.setpoint must be finite, got Infinity',
          'pidController.min must be below max, got min 1 and max 1',
        ]);
        return true;
      },
    );
  });

  it('refuses a non-finite setpoint, measurement or time', () => {
    const pid = pidController({ kp: 1, ki: 0, kd: 0, setpoint: 0, min: -1, max: 1 });
    assert.throws(() => {
      pid.setpoint = Number.NaN;
    }, /pidController.setpoint must be a number, got NaN/);
    assert.equal(pid.setpoint, 0);
    assert.throws(
      () => pid.update(Number.NaN, Infinity),
      (error: unknown) => {
        assert.ok(error instanceof InvalidOptionsError);
        assert.equal(error.problems.length, 2);
        return true;
      },
    );
    close(pid.update(0.5, 0), -0.5);
  });
});
