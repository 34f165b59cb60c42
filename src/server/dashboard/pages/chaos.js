// Chaos experiments: every run with its status and its journal (what was injected, observed and
// rolled back), newest as the API answers.

import { badge, h, ms, time } from '../dom.js';

export function chaosPage(root, { api, showError }) {
  const list = h('section', {}, h('p', {}, 'Loading…'));
  root.append(h('h1', {}, 'Chaos experiments'), list);
  let updates = 0;
  const load = () =>
    api('/api/chaos/runs').then(({ runs }) => {
      list.replaceChildren(
        ...(runs.length === 0
          ? [h('p', {}, 'No experiment has run.')]
          : runs.map((run) =>
              h(
                'details',
                { class: 'run' },
                h(
                  'summary',
                  {},
                  badge(run.status),
                  ` ${run.title} → ${run.target}, started ${time(run.startedAt)}`,
                  run.reason ? ` (${run.reason})` : '',
                  run.recoveryMs === null ? '' : `, recovered in ${ms(run.recoveryMs)}`,
                ),
                h('pre', {}, JSON.stringify(run, null, 2)),
              ),
            )),
      );
    }, showError);
  void load();
  return {
    update() {
      if (++updates % 5 === 0) void load();
    },
  };
}
