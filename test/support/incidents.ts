// Every incident of a running `rebound up` with its timeline (the list answers them without one).

import type { IncidentView } from '../../src/healing/index.ts';
import type { RunningRebound } from './reboundUp.ts';

export async function incidentsWithTimelines(rebound: Pick<RunningRebound, 'api'>): Promise<IncidentView[]> {
  const { body } = await rebound.api('/api/incidents');
  const incidents: IncidentView[] = [];
  for (const { id } of body.incidents as { id: string }[]) {
    incidents.push((await rebound.api(`/api/incidents/${encodeURIComponent(id)}`)).body as IncidentView);
  }
  return incidents;
}
