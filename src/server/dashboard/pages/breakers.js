// The circuit breakers: the registry's health gauge, how many circuits are in each state, every
// circuit's failure rate, and reset buttons (one circuit, or all).

import { badge, gauge, h, percent } from '../dom.js';

export function breakersPage(root, { act }) {
  const summary = h('section', { class: 'summary' }, h('p', {}, 'Waiting for the first live update…'));
  const rows = h('tbody');
  const resetAll = h('button', { type: 'button', id: 'reset-all' }, 'Reset every breaker');
  resetAll.addEventListener('click', () => act('/api/circuit-breakers/reset'));
  root.append(
    h('h1', {}, 'Circuit breakers'),
    summary,
    h('div', { class: 'actions' }, resetAll),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Kind', 'Name', 'State', 'Health', 'Failure rate', 'Trips', ''].map((t) => h('th', {}, t)),
        ),
      ),
      rows,
    ),
  );
  return {
    update({ breakers }) {
      const { aggregate, kinds } = breakers;
      summary.replaceChildren(
        gauge('Overall health', aggregate.overallHealth),
        h(
          'ul',
          { class: 'counts' },
          h('li', {}, `${aggregate.totalCircuits} circuits`),
          h('li', {}, `${aggregate.closedCircuits} closed`),
          h('li', {}, `${aggregate.halfOpenCircuits} half-open`),
          h('li', {}, `${aggregate.openCircuits} open`),
          h('li', {}, `${aggregate.isolatedCircuits} isolated`),
        ),
      );
      const circuits = Object.entries(kinds).flatMap(([kind, byName]) =>
        Object.entries(byName).map(([name, health]) => ({ kind, name, health })),
      );
      if (circuits.length === 0) {
        rows.replaceChildren(h('tr', {}, h('td', { colspan: 7 }, 'No circuit has carried a call yet.')));
        return;
      }
      rows.replaceChildren(
        ...circuits.map(({ kind, name, health }) => {
          const calls = health.totalSuccesses + health.totalFailures;
          const reset = h('button', { type: 'button' }, 'Reset');
          reset.addEventListener('click', () =>
            act(`/api/circuit-breakers/${encodeURIComponent(kind)}/${encodeURIComponent(name)}/reset`),
          );
          return h(
            'tr',
            {},
            h('td', {}, kind),
            h('td', {}, name),
            h('td', {}, badge(health.state)),
            h('td', {}, `${health.healthPercent.toFixed(0)}%`),
            h('td', {}, calls === 0 ? '–' : percent(health.totalFailures / calls)),
            h('td', {}, String(health.tripCount)),
            h('td', {}, reset),
          );
        }),
      );
    },
  };
}
