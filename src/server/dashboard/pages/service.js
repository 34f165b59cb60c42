// A service's page: live latency, error-rate, throughput and replica charts (uPlot, the last five
// minutes kept client-side), its replicas, its autoscaler's latest decisions when it is
// autoscaled, and the Restart and Scale operator actions.

/* global window, ResizeObserver */

import { badge, h, link, ms, percent, perSecond, table, time } from '../dom.js';

const CHARTS = [
  {
    title: 'Latency',
    tick: (tick) => `${tick} ms`,
    floor: 10,
    series: [
      { label: 'p50', key: 'p50', stroke: '#3a7bd5', value: (_u, v) => ms(v) },
      { label: 'p99', key: 'p99', stroke: '#d5473a', value: (_u, v) => ms(v) },
    ],
  },
  {
    title: 'Error rate',
    tick: (tick) => `${+(tick * 100).toFixed(2)}%`,
    floor: 0.05,
    series: [{ label: 'errors', key: 'errors', stroke: '#d5473a', value: (_u, v) => percent(v) }],
  },
  {
    title: 'Throughput',
    tick: (tick) => `${tick}/s`,
    floor: 1,
    series: [{ label: 'requests', key: 'throughput', stroke: '#2d9d5a', value: (_u, v) => perSecond(v) }],
  },
  {
    title: 'Replicas',
    tick: (tick) => String(tick),
    floor: 2,
    series: [
      { label: 'replicas', key: 'replicas', stroke: '#3a7bd5', value: (_u, v) => count(v) },
      { label: 'healthy', key: 'healthy', stroke: '#2d9d5a', value: (_u, v) => count(v) },
      { label: 'in flight', key: 'inflight', stroke: '#8a5cc2', value: (_u, v) => count(v) },
    ],
  },
];

/** Autoscaling decisions listed on the page, newest first. */
const DECISIONS_SHOWN = 10;
/** How often the decisions are read again (they change at most once per autoscaler interval). */
const DECISIONS_EVERY_MS = 5000;

function count(value) {
  return value === undefined || value === null || !Number.isFinite(value) ? '–' : String(value);
}

export function servicePage(root, { params, state, act, api, showError }) {
  const name = params[0];
  const path = `/api/services/${encodeURIComponent(name)}`;
  const header = h('div', { class: 'service-header' }, h('h1', {}, name));
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const restart = h('button', { type: 'button', id: 'restart' }, 'Restart');
  const replicasInput = h('input', {
    type: 'number',
    min: 0,
    id: 'scale-replicas',
    'aria-label': 'replicas',
  });
  const scale = h('button', { type: 'button', id: 'scale' }, 'Scale');
  const rows = h('tbody');
  const charts = h('section', { class: 'charts' });
  const autoscaling = h('section', { class: 'autoscaling', hidden: true });
  let found = true;
  let decisionsReadAt = 0;

  restart.addEventListener('click', async () => {
    restart.disabled = true;
    status.textContent = `Restarting ${name}…`;
    const answer = await act(`${path}/restart`);
    restart.disabled = false;
    status.textContent = answer ? `Restart ${answer.attempt.status}` : 'Restart failed';
  });
  scale.addEventListener('click', async () => {
    const replicas = Number(replicasInput.value);
    status.textContent = `Scaling ${name} to ${replicas}…`;
    const answer = await act(`${path}/scale`, { replicas });
    status.textContent = answer ? `Scale ${answer.attempt.status}` : 'Scale failed';
  });

  root.append(
    h('p', {}, link('/', '← all services')),
    header,
    h('div', { class: 'actions' }, restart, h('label', {}, 'Replicas ', replicasInput), scale),
    status,
    charts,
    autoscaling,
    h('h2', {}, 'Replicas'),
    table(['Replica', 'pid', 'Port', 'State', 'Restarts', 'Started'], rows, { class: 'replicas' }),
  );

  const plots = window.uPlot ? CHARTS.map((chart) => makeChart(chart, charts)) : [];
  if (!window.uPlot) showError(new Error('the chart library (uPlot) did not load'));
  const resize = new ResizeObserver(() => {
    for (const plot of plots) plot.setSize({ width: chartWidth(charts), height: 180 });
  });
  resize.observe(charts);

  // The page is usable before the first snapshot arrives, and says so when the service is unknown.
  api(path).then(
    (service) => {
      if (replicasInput.value === '') replicasInput.value = String(service.replicas.length);
    },
    (error) => {
      found = false;
      showError(error);
    },
  );

  return {
    update(snapshot) {
      const service = snapshot.services.find((candidate) => candidate.name === name);
      if (!service) {
        if (found) header.replaceChildren(h('h1', {}, name), h('span', {}, 'not in the config'));
        return;
      }
      header.replaceChildren(h('h1', {}, name), badge(service.state));
      if (service.autoscale && Date.now() - decisionsReadAt >= DECISIONS_EVERY_MS) {
        decisionsReadAt = Date.now();
        api(`/api/healing?service=${encodeURIComponent(name)}&limit=100`).then(
          ({ attempts }) => showAutoscaling(autoscaling, service, attempts),
          showError,
        );
      }
      const series = state.series.get(name);
      if (series) for (const plot of plots) plot.setData([series.t, ...plot.keys.map((key) => series[key])]);
      rows.replaceChildren(
        ...service.replicas.map((replica) =>
          h(
            'tr',
            { dataset: { replica: replica.id } },
            h('td', {}, replica.id),
            h('td', { class: 'pid' }, replica.pid === undefined ? '–' : String(replica.pid)),
            h('td', {}, String(replica.port)),
            h('td', {}, badge(replica.state)),
            h('td', {}, String(replica.restarts)),
            h('td', {}, time(replica.startedAt)),
          ),
        ),
      );
    },
    dispose() {
      resize.disconnect();
      for (const plot of plots) plot.destroy();
    },
  };
}

/** The autoscaler's settings and its latest decisions (the healing log's attempts of policy "autoscale"). */
function showAutoscaling(section, service, attempts) {
  const { metric, target, min, max, scaleDownStabilizationMs } = service.autoscale;
  const decisions = attempts.filter((attempt) => attempt.policy === 'autoscale').slice(0, DECISIONS_SHOWN);
  section.hidden = false;
  section.replaceChildren(
    h('h2', {}, 'Autoscaling'),
    h(
      'p',
      {},
      `Keeps ${metric} near ${target} with ${min} to ${max} replicas; scales down only to the highest `,
      `recommendation of the last ${Math.round(scaleDownStabilizationMs / 1000)} s.`,
    ),
    decisions.length === 0
      ? h('p', { class: 'empty' }, 'No scaling decision yet.')
      : table(
          ['When', 'Decision'],
          h(
            'tbody',
            {},
            ...decisions.map((attempt) =>
              h(
                'tr',
                { dataset: { status: attempt.status } },
                h('td', {}, time(attempt.startedAt)),
                h('td', {}, attempt.outcome),
              ),
            ),
          ),
          { class: 'decisions' },
        ),
  );
}

function chartWidth(container) {
  return Math.max(280, Math.min(560, container.clientWidth - 16));
}

function makeChart(chart, container) {
  const holder = h('figure', { class: 'chart' }, h('figcaption', {}, chart.title));
  container.append(holder);
  const plot = new window.uPlot(
    {
      width: chartWidth(container),
      height: 180,
      series: [
        {},
        ...chart.series.map(({ label, stroke, value }) => ({
          label,
          stroke,
          value,
          width: 2,
          spanGaps: true,
        })),
      ],
      axes: [{}, { size: 64, values: (_u, ticks) => ticks.map(chart.tick) }],
      // From 0 to at least `floor`, so that a flat zero line (no errors) does not fill the chart.
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, Math.max(chart.floor, max * 1.1)] } },
    },
    [[], ...chart.series.map(() => [])],
    holder,
  );
  plot.keys = chart.series.map((series) => series.key);
  return plot;
}
