// Chaos inside `rebound up`: experiment runs against the control plane's services, and the
// schedules of `chaos.schedules` that start them; both say what they do in the log.

import { type ChaosRuns, chaosRuns, type ExperimentScheduler, experimentScheduler } from '../chaos/index.ts';
import type { ReboundConfig } from './configTypes.ts';
import { controlPlaneChaosTarget } from './chaosTarget.ts';
import type { ControlPlaneContext } from './controlPlaneContext.ts';
import type { ControlPlane } from './controlPlaneTypes.ts';

export interface ControlPlaneChaosOptions extends Pick<
  ControlPlaneContext,
  'clock' | 'log' | 'store' | 'gateways' | 'incidents' | 'metricsOf'
> {
  plane: ControlPlane;
  /** Read once: a reload leaves the schedules as they were. */
  schedules: ReboundConfig['chaos']['schedules'];
}

export function controlPlaneChaos(options: ControlPlaneChaosOptions): {
  runs: ChaosRuns;
  schedules: ExperimentScheduler;
} {
  const { clock, log, incidents } = options;
  const runs = chaosRuns({
    target: controlPlaneChaosTarget({
      plane: options.plane,
      gateways: options.gateways,
      metrics: options.metricsOf,
      hasOpenIncident: (service) => incidents.openFor(service) !== undefined,
    }),
    store: options.store,
    clock,
    onProgress: ({ journal, message }) => log(`rebound: chaos ${journal.id} (${journal.title}): ${message}`),
  });
  const schedules = experimentScheduler({
    runs,
    schedules: options.schedules,
    clock,
    onEvent: (event) =>
      log(
        event.kind === 'started'
          ? `rebound: chaos schedule ${event.schedule} started run ${event.runId}`
          : `rebound: chaos schedule ${event.schedule} skipped: ${event.reason}`,
      ),
  });
  return { runs, schedules };
}
