// The healing log: every attempt (policy, operator or supervisor) with its actions and outcome, and
// the success rate and mean recovery time; refreshed every few live updates.

import { badge, h, ms, percent, table, time } from '../dom.js';

const REFRESH_EVERY = 5;

export function healingPage(root, { api, showError }) {
  const stats = h('section', { class: 'summary' });
  const rows = h('tbody');
  root.append(
    h('h1', {}, 'Healing'),
    stats,
    table(['Started', 'Service', 'Source', 'Policy', 'Actions', 'Status', 'Outcome'], rows),
  );
  let updates = 0;
  let loading = false;
  async function load() {
    if (loading) return;
    loading = true;
    try {
      const [log, figures] = await Promise.all([api('/api/healing?limit=100'), api('/api/healing/stats')]);
      stats.replaceChildren(
        h(
          'ul',
          { class: 'counts' },
          h('li', {}, `${figures.attempts} attempts`),
          h('li', {}, `${figures.succeeded} succeeded`),
          h('li', {}, `${figures.failed} failed`),
          h('li', {}, `${figures.escalations} escalated`),
          h('li', {}, `success rate ${percent(figures.successRate)}`),
          h('li', {}, `mean recovery ${ms(figures.meanRecoveryMs)}`),
        ),
      );
      rows.replaceChildren(
        ...(log.attempts.length === 0
          ? [h('tr', {}, h('td', { colspan: 7 }, 'Nothing healed yet.'))]
          : log.attempts.map((attempt) =>
              h(
                'tr',
                {},
                h('td', {}, time(attempt.startedAt)),
                h('td', {}, attempt.service),
                h('td', {}, attempt.source),
                h('td', {}, attempt.policy ?? '–'),
                h('td', {}, attempt.actions.map((action) => `${action.type} (${action.status})`).join(', ')),
                h('td', {}, badge(attempt.status)),
                h('td', {}, attempt.outcome ?? '–'),
              ),
            )),
      );
    } catch (error) {
      showError(error);
    } finally {
      loading = false;
    }
  }
  void load();
  return {
    update() {
      if (++updates % REFRESH_EVERY === 0) void load();
    },
  };
}
