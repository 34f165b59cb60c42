// The circuit breakers: the registry's health gauge, how many circuits are in each state, the
// failure rate of each kind and of every circuit, the recent state transitions (newest first), and
// reset buttons (one circuit, or all).

import { badge, gauge, h, percent, table, time } from '../dom.js';

const STATES = [
  ['closed', 'closedCircuits'],
  ['half-open', 'halfOpenCircuits'],
  ['open', 'openCircuits'],
  ['isolated', 'isolatedCircuits'],
];

function failureRate(failures, successes) {
  const calls = failures + successes;
  return calls === 0 ? '–' : percent(failures / calls);
}

export function breakersPage(root, { act, api, showError }) {
  const summary = h('section', { class: 'summary' }, h('p', {}, 'Waiting for the first live update…'));
  const distribution = h('div', { class: 'distribution', 'aria-label': 'circuits by state' });
  const kindRows = h('tbody');
  const rows = h('tbody');
  const transitionRows = h('tbody', { id: 'transitions' });
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const resetAll = h('button', { type: 'button', id: 'reset-all' }, 'Reset every breaker');
  const reset = async (path, what) => {
    status.textContent = `Resetting ${what}…`;
    const answer = await act(path);
    status.textContent = answer
      ? `Reset ${answer.reset} circuit${answer.reset === 1 ? '' : 's'}`
      : 'Reset failed';
  };
  resetAll.addEventListener('click', () => reset('/api/circuit-breakers/reset', 'every breaker'));
  root.append(
    h('h1', {}, 'Circuit breakers'),
    summary,
    distribution,
    h('div', { class: 'actions' }, resetAll),
    status,
    h('h2', {}, 'Failure rate by kind'),
    table(['Kind', 'Circuits', 'Open or isolated', 'Calls', 'Failure rate', 'Trips'], kindRows),
    h('h2', {}, 'Circuits'),
    table(['Kind', 'Name', 'State', 'Health', 'Failure rate', 'Trips', ''], rows),
    h('h2', {}, 'State transitions'),
    table(['Time', 'Kind', 'Name', 'From', 'To', 'Why'], transitionRows),
  );

  // The history is fetched when the live count of transitions says there is something new.
  let shownTotal = -1;
  let loading = false;
  const loadTransitions = async (total) => {
    if (loading || total === shownTotal) return;
    loading = true;
    try {
      const { transitions, total: now } = await api('/api/circuit-breakers/transitions');
      shownTotal = now;
      transitionRows.replaceChildren(
        ...(transitions.length === 0
          ? [h('tr', {}, h('td', { colspan: 6 }, 'No circuit has changed state since rebound started.'))]
          : transitions.map((transition) =>
              h(
                'tr',
                {},
                h('td', {}, time(transition.at)),
                h('td', {}, transition.kind),
                h('td', {}, transition.name),
                h('td', {}, badge(transition.from)),
                h('td', {}, badge(transition.to)),
                h('td', {}, transition.reason),
              ),
            )),
      );
    } catch (error) {
      showError(error);
    } finally {
      loading = false;
    }
  };

  return {
    update({ breakers, breakerTransitions }) {
      void loadTransitions(breakerTransitions);
      const { aggregate, kinds } = breakers;
      summary.replaceChildren(
        gauge('Overall health', aggregate.overallHealth),
        h(
          'p',
          {},
          `${aggregate.totalCircuits} circuit${aggregate.totalCircuits === 1 ? '' : 's'}, average health ${aggregate.averageHealth.toFixed(0)}%`,
        ),
      );
      distribution.replaceChildren(
        ...STATES.map(([state, key]) => {
          const count = aggregate[key];
          const share = aggregate.totalCircuits === 0 ? 0 : (count / aggregate.totalCircuits) * 100;
          const fill = h('span', { class: `bar-fill bar-${state}` });
          // Through the CSSOM: the CSP refuses style attributes.
          fill.style.width = `${share}%`;
          return h(
            'div',
            { class: 'distribution-row', dataset: { state } },
            h('span', { class: 'distribution-label' }, state),
            h('span', { class: 'bar' }, fill),
            h('strong', {}, String(count)),
          );
        }),
      );
      const circuits = Object.entries(kinds).flatMap(([kind, byName]) =>
        Object.entries(byName).map(([name, health]) => ({ kind, name, health })),
      );
      if (circuits.length === 0) {
        kindRows.replaceChildren(h('tr', {}, h('td', { colspan: 6 }, 'No circuit yet.')));
        rows.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, 'No circuit has carried a call yet.')));
        return;
      }
      kindRows.replaceChildren(
        ...Object.entries(kinds).map(([kind, byName]) => {
          const all = Object.values(byName);
          const sum = (field) => all.reduce((total, health) => total + health[field], 0);
          const down = all.filter((health) => health.state === 'open' || health.state === 'isolated').length;
          return h(
            'tr',
            { dataset: { kind } },
            h('td', {}, kind),
            h('td', {}, String(all.length)),
            h('td', {}, String(down)),
            h('td', {}, String(sum('totalSuccesses') + sum('totalFailures'))),
            h('td', { class: 'failure-rate' }, failureRate(sum('totalFailures'), sum('totalSuccesses'))),
            h('td', {}, String(sum('tripCount'))),
          );
        }),
      );
      rows.replaceChildren(
        ...circuits.map(({ kind, name, health }) => {
          const button = h('button', { type: 'button', class: 'reset' }, 'Reset');
          button.addEventListener('click', () =>
            reset(
              `/api/circuit-breakers/${encodeURIComponent(kind)}/${encodeURIComponent(name)}/reset`,
              `${kind} ${name}`,
            ),
          );
          return h(
            'tr',
            { dataset: { circuit: `${kind}/${name}` } },
            h('td', {}, kind),
            h('td', {}, name),
            h('td', {}, badge(health.state)),
            h('td', {}, `${health.healthPercent.toFixed(0)}%`),
            h('td', {}, failureRate(health.totalFailures, health.totalSuccesses)),
            h('td', {}, String(health.tripCount)),
            h('td', {}, button),
          );
        }),
      );
    },
  };
}
