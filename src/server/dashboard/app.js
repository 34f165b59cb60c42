// The dashboard's shell: routes on location.pathname without reloading, keeps the live snapshot
// and five minutes of each service's figures from /api/stream, and shows every API error.

/* global document, window, history */

import { ApiError, api, openStream } from './api.js';
import { h } from './dom.js';
import { breakersPage } from './pages/breakers.js';
import { chaosPage } from './pages/chaos.js';
import { healingPage } from './pages/healing.js';
import { incidentPage, incidentsPage } from './pages/incidents.js';
import { overviewPage } from './pages/overview.js';
import { servicePage } from './pages/service.js';

/** How much history the service charts keep, client-side. */
const HISTORY_MS = 5 * 60_000;

const routes = [
  [/^\/$/, overviewPage],
  [/^\/services\/([^/]+)$/, servicePage],
  [/^\/circuit-breakers$/, breakersPage],
  [/^\/incidents$/, incidentsPage],
  [/^\/incidents\/([^/]+)$/, incidentPage],
  [/^\/healing$/, healingPage],
  [/^\/chaos$/, chaosPage],
];

const state = {
  /** The last snapshot: `{ services, breakers, healingStats, at }`. */
  latest: undefined,
  /** service name → `{ t, p50, p99, errors, throughput, replicas, healthy, inflight }`, t in seconds. */
  series: new Map(),
};
let current;

function showError(error) {
  const message =
    error instanceof ApiError ? `${error.code}: ${error.message}` : (error?.message ?? String(error));
  const item = h(
    'div',
    { class: 'error' },
    h('span', {}, message),
    h('button', { type: 'button', onclick: () => item.remove() }, 'dismiss'),
  );
  document.getElementById('errors').append(item);
}

function record(snapshot) {
  const t = Date.parse(snapshot.at) / 1000;
  for (const service of snapshot.services) {
    let series = state.series.get(service.name);
    if (!series) {
      series = {
        t: [],
        p50: [],
        p99: [],
        errors: [],
        throughput: [],
        replicas: [],
        healthy: [],
        inflight: [],
      };
      state.series.set(service.name, series);
    }
    const m = service.metrics ?? {};
    const replicas = service.replicas ?? [];
    series.t.push(t);
    series.p50.push(m.latency_p50 ?? null);
    series.p99.push(m.latency_p99 ?? null);
    series.errors.push(m.error_rate ?? null);
    series.throughput.push(m.throughput ?? null);
    series.replicas.push(replicas.length);
    series.healthy.push(replicas.filter((replica) => replica.state === 'healthy').length);
    series.inflight.push(m.inflight ?? null);
    while (series.t.length > 0 && series.t[0] < t - HISTORY_MS / 1000) {
      for (const values of Object.values(series)) values.shift();
    }
  }
}

/** What every page gets: the API, the live state, navigation and the error banner. */
const context = {
  api,
  state,
  showError,
  navigate,
  /** Runs a mutating call, showing its error; answers its result or undefined. */
  async act(path, body) {
    try {
      return await api(path, { method: 'POST', body: body ?? {} });
    } catch (error) {
      showError(error);
      return undefined;
    }
  },
};

function render() {
  current?.dispose?.();
  const root = document.getElementById('page');
  root.replaceChildren();
  const path = window.location.pathname;
  for (const link of document.querySelectorAll('nav a')) {
    const href = link.getAttribute('href');
    link.toggleAttribute('aria-current', href === '/' ? path === '/' : path.startsWith(href));
  }
  for (const [pattern, page] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    current = page(root, { ...context, params: match.slice(1).map(decodeURIComponent) });
    if (state.latest) current?.update?.(state.latest);
    return;
  }
  current = undefined;
  root.append(h('p', {}, `No page ${path}.`));
}

function navigate(path) {
  history.pushState(null, '', path);
  render();
}

document.addEventListener('click', (event) => {
  const anchor = event.target.closest?.('a[data-link]');
  if (!anchor || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  navigate(anchor.getAttribute('href'));
});
window.addEventListener('popstate', render);

const connection = document.getElementById('connection');
openStream(
  (name, data) => {
    if (name === 'snapshot') {
      state.latest = data;
      record(data);
      current?.update?.(data);
    } else if (name === 'problem') showError(new Error(`live updates: ${data.message}`));
  },
  (status, detail) => {
    connection.dataset.state = status;
    connection.textContent = status === 'error' ? `offline: ${detail?.message ?? detail}` : status;
  },
);
render();
