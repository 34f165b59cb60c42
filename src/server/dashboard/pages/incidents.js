// Incidents: the list (newest first as the API answers), and one incident with its timeline.

import { badge, h, link, time } from '../dom.js';

export function incidentsPage(root, { api, showError }) {
  const rows = h('tbody');
  root.append(
    h('h1', {}, 'Incidents'),
    h(
      'table',
      {},
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...['Opened', 'Service', 'Severity', 'Status', 'Title', 'Resolved'].map((t) => h('th', {}, t)),
        ),
      ),
      rows,
    ),
  );
  let updates = 0;
  const load = () =>
    api('/api/incidents').then(({ incidents }) => {
      rows.replaceChildren(
        ...(incidents.length === 0
          ? [h('tr', {}, h('td', { colspan: 6 }, 'No incident so far.'))]
          : incidents.map((incident) =>
              h(
                'tr',
                {},
                h('td', {}, time(incident.openedAt)),
                h('td', {}, incident.service),
                h('td', {}, badge(incident.severity)),
                h('td', {}, badge(incident.status)),
                h('td', {}, link(`/incidents/${encodeURIComponent(incident.id)}`, incident.title)),
                h('td', {}, time(incident.resolvedAt)),
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

export function incidentPage(root, { api, params, showError }) {
  const id = params[0];
  const details = h('section', {}, h('p', {}, 'Loading…'));
  root.append(h('p', {}, link('/incidents', '← all incidents')), h('h1', {}, `Incident ${id}`), details);
  api(`/api/incidents/${encodeURIComponent(id)}`).then(
    (incident) => {
      details.replaceChildren(
        h(
          'p',
          {},
          badge(incident.severity),
          ' ',
          badge(incident.status),
          ` ${incident.title} (${incident.service}), opened ${time(incident.openedAt)}`,
        ),
        h('h2', {}, 'Timeline'),
        h(
          'ol',
          { class: 'timeline' },
          ...incident.timeline.map((entry) =>
            h(
              'li',
              { class: `timeline-${entry.kind}` },
              h('time', {}, time(entry.at)),
              ' ',
              h('strong', {}, entry.kind),
              ` ${entry.message}`,
            ),
          ),
        ),
      );
    },
    (error) => {
      details.replaceChildren(h('p', {}, 'This incident could not be loaded.'));
      showError(error);
    },
  );
  return {};
}
