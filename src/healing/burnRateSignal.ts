// A burn-rate alert that started firing, as an incident signal: what it says, how severe it is.

import type { Severity } from './configTypes.ts';
import type { BurnRateAlert } from './reliabilityMonitor.ts';

export interface BurnRateSignal {
  summary: string;
  title: string;
  /** A fast burn spends the budget in hours (high), a slow one in days (medium). */
  level: Severity;
  data: Record<string, unknown>;
}

export function burnRateSignal(alert: BurnRateAlert): BurnRateSignal {
  const summary =
    `${alert.service}: ${alert.alert} burn-rate alert firing: error budget burning at ` +
    `${alert.longBurnRate.toFixed(1)}× over ${alert.longWindowMs / 60_000} min and ` +
    `${alert.shortBurnRate.toFixed(1)}× over ${alert.shortWindowMs / 60_000} min (threshold ${alert.threshold}×)`;
  return {
    summary,
    title: `${alert.service}: error budget burning (${alert.alert} burn-rate alert)`,
    level: alert.alert === 'fast' ? 'high' : 'medium',
    data: { ...alert },
  };
}
