// pidController(): a discrete PID loop with per-second gains, a clamped output, anti-windup and the
// derivative taken on the measurement. Pure: time comes in with every update, nothing is scheduled.

import { OptionProblems } from '../policies/index.ts';

export interface PidGains {
  /** Proportional gain: output per unit of error. */
  kp: number;
  /** Integral gain: output per unit of error × second. */
  ki: number;
  /** Derivative gain: output per unit of measurement change per second. */
  kd: number;
}

export interface PidControllerOptions extends PidGains {
  /** The value the measurement should reach; writable later through `setpoint`. */
  setpoint: number;
  /** Lowest output. */
  min: number;
  /** Highest output; must be above `min`. */
  max: number;
}

export interface PidController {
  /**
   * Feeds one measurement taken at `atMs` and answers the output, clamped to [min, max]. The first
   * update after creation or `reset()` has no derivative and no integral (there is no interval yet).
   * A time at or before the previous update's counts as no time passing: no integral and no
   * derivative for that update, and the later updates measure their interval from the latest time seen.
   */
  update(measurement: number, atMs: number): number;
  /** Forgets the integral, the previous measurement and the previous time. */
  reset(): void;
  /** Writable; a change causes no derivative kick (the derivative is on the measurement). */
  setpoint: number;
}

export function pidController(options: PidControllerOptions): PidController {
  validate(options);
  const { kp, ki, kd, min, max } = options;
  let setpoint = options.setpoint;
  let integral = 0;
  let previous: { measurement: number; atMs: number } | undefined;

  return {
    get setpoint() {
      return setpoint;
    },
    set setpoint(value: number) {
      const problems = new OptionProblems();
      problems.number('pidController.setpoint', value, { finite: true });
      problems.throwIfAny();
      setpoint = value;
    },

    update(measurement, atMs) {
      if (!Number.isFinite(measurement) || !Number.isFinite(atMs)) {
        const problems = new OptionProblems();
        problems.number('pidController.update measurement', measurement, { finite: true });
        problems.number('pidController.update atMs', atMs, { finite: true });
        problems.throwIfAny();
      }
      const error = setpoint - measurement;
      const seconds = previous === undefined ? 0 : Math.max(0, atMs - previous.atMs) / 1000;
      const proportional = kp * error;
      const derivative =
        previous === undefined || seconds === 0 ? 0 : (-kd * (measurement - previous.measurement)) / seconds;

      // Anti-windup by conditional integration: the integral grows only as far as brings the output
      // to the bound the error pushes towards, never past it, so nothing is stored while the output
      // is saturated and the loop answers a reversal at once instead of first unwinding the excess.
      if (seconds > 0 && ki > 0 && error !== 0) {
        const candidate = integral + error * seconds;
        const unclamped = proportional + ki * candidate + derivative;
        if (error > 0 && unclamped > max) {
          integral = Math.max(integral, (max - proportional - derivative) / ki);
        } else if (error < 0 && unclamped < min) {
          integral = Math.min(integral, (min - proportional - derivative) / ki);
        } else {
          integral = candidate;
        }
      }

      previous = { measurement, atMs: previous === undefined ? atMs : Math.max(previous.atMs, atMs) };
      const output = proportional + ki * integral + derivative;
      return Math.min(max, Math.max(min, output));
    },

    reset() {
      integral = 0;
      previous = undefined;
    },
  };
}

/** Checks PID gains at `path`: finite and not negative (a reverse-acting loop negates its measurement). */
export function checkPidGains(problems: OptionProblems, path: string, gains: Partial<PidGains>): void {
  for (const gain of ['kp', 'ki', 'kd'] as const) {
    problems.number(`${path}.${gain}`, gains[gain], { finite: true, min: 0 });
  }
}

function validate(options: PidControllerOptions): void {
  const problems = new OptionProblems();
  if (typeof options !== 'object' || options === null) {
    problems.add(`pidController options must be an object, got ${String(options)}`);
    problems.throwIfAny();
  }
  checkPidGains(problems, 'pidController', options);
  problems.number('pidController.setpoint', options.setpoint, { finite: true });
  problems.number('pidController.min', options.min, { finite: true });
  problems.number('pidController.max', options.max, { finite: true });
  if (Number.isFinite(options.min) && Number.isFinite(options.max) && options.min >= options.max) {
    problems.add(`pidController.min must be below max, got min ${options.min} and max ${options.max}`);
  }
  problems.throwIfAny();
}
