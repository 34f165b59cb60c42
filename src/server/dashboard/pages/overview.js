// The overview: every service with its state, replicas and key figures, and an overall health gauge
// (the share of services healthy or degraded), redrawn from each live snapshot.

import { badge, gauge, h, link, ms, percent, perSecond, table } from '../dom.js';

const UP = new Set(['healthy', 'degraded']);

export function overviewPage(root) {
  const summary = h('section', { class: 'summary' }, h('p', {}, 'Waiting for the first live update…'));
  const rows = h('tbody');
  root.append(
    h('h1', {}, 'Services'),
    summary,
    table(['Service', 'State', 'Replicas', 'Processes', 'p99', 'Error rate', 'Throughput'], rows, {
      class: 'services',
    }),
  );
  return {
    update({ services, healingStats }) {
      const up = services.filter((service) => UP.has(service.state)).length;
      summary.replaceChildren(
        gauge('Overall health', services.length === 0 ? 100 : (up / services.length) * 100),
        h('p', {}, `${up} of ${services.length} services healthy or degraded`),
        h(
          'p',
          {},
          `Healing: ${healingStats.attempts} attempts, ${percent(healingStats.successRate)} succeeded, `,
          `mean recovery ${ms(healingStats.meanRecoveryMs)}`,
        ),
      );
      rows.replaceChildren(
        ...services.map((service) => {
          const healthy = service.replicas.filter((replica) => replica.state === 'healthy').length;
          const m = service.metrics ?? {};
          return h(
            'tr',
            { dataset: { service: service.name } },
            h('td', {}, link(`/services/${encodeURIComponent(service.name)}`, service.name)),
            h('td', {}, badge(service.state)),
            h('td', { class: 'replicas' }, `${healthy}/${service.replicas.length}`),
            h(
              'td',
              { class: 'pids' },
              ...service.replicas.map((replica) =>
                h(
                  'span',
                  { class: `pid pid-${replica.state}`, title: `${replica.id}: ${replica.state}` },
                  replica.pid === undefined ? replica.state : String(replica.pid),
                ),
              ),
            ),
            h('td', {}, ms(m.latency_p99)),
            h('td', {}, percent(m.error_rate)),
            h('td', {}, perSecond(m.throughput)),
          );
        }),
      );
    },
  };
}
