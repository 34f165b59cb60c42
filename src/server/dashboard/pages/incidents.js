// Incidents: the list (newest first as the API answers), and one incident with its timeline and
// the operator's buttons: acknowledge, resolve, add a note.

import { badge, h, link, table, time } from '../dom.js';

export function incidentsPage(root, { api, showError }) {
  const rows = h('tbody');
  root.append(
    h('h1', {}, 'Incidents'),
    table(['Opened', 'Service', 'Severity', 'Status', 'Title', 'Resolved', 'Acknowledged'], rows),
  );
  let updates = 0;
  const load = () =>
    api('/api/incidents').then(({ incidents }) => {
      rows.replaceChildren(
        ...(incidents.length === 0
          ? [h('tr', {}, h('td', { colspan: 7 }, 'No incident so far.'))]
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
                h('td', {}, time(incident.acknowledgedAt)),
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

export function incidentPage(root, { api, act, params, showError }) {
  const id = params[0];
  const path = `/api/incidents/${encodeURIComponent(id)}`;
  const details = h('section', {}, h('p', {}, 'Loading…'));
  const status = h('p', { class: 'status', 'aria-live': 'polite' });
  const ack = h('button', { type: 'button', id: 'incident-ack' }, 'Acknowledge');
  const resolve = h('button', { type: 'button', id: 'incident-resolve' }, 'Resolve');
  const noteText = h('textarea', { id: 'incident-note', rows: 2, maxlength: 4000, 'aria-label': 'note' });
  const addNote = h('button', { type: 'button', id: 'incident-add-note' }, 'Add note');
  const actions = h(
    'div',
    { class: 'actions' },
    ack,
    resolve,
    h('label', { class: 'note' }, 'Note ', noteText),
    addNote,
  );

  const show = (incident) => {
    ack.disabled = incident.acknowledgedAt !== null;
    resolve.disabled = incident.status === 'resolved';
    details.replaceChildren(
      h(
        'p',
        {},
        badge(incident.severity),
        ' ',
        badge(incident.status),
        ` ${incident.title} (${incident.service}), opened ${time(incident.openedAt)}`,
        incident.resolvedAt ? `, resolved ${time(incident.resolvedAt)}` : '',
        incident.acknowledgedAt ? `, acknowledged ${time(incident.acknowledgedAt)}` : '',
      ),
      h('h2', {}, 'Timeline'),
      h('ol', { class: 'timeline' }, ...incident.timeline.map(timelineEntry)),
    );
  };
  const run = async (button, what, suffix, body) => {
    button.disabled = true;
    status.textContent = `${what}…`;
    const answer = await act(`${path}/${suffix}`, body);
    if (answer) {
      status.textContent = `${what}: done`;
      show(answer);
    } else {
      status.textContent = `${what}: failed`;
      button.disabled = false;
    }
    return answer;
  };
  ack.addEventListener('click', () => void run(ack, 'Acknowledging', 'ack'));
  resolve.addEventListener('click', () => void run(resolve, 'Resolving', 'resolve'));
  addNote.addEventListener('click', async () => {
    const text = noteText.value.trim();
    if (text === '') {
      status.textContent = 'Write a note first';
      return;
    }
    if (await run(addNote, 'Adding the note', 'notes', { text })) noteText.value = '';
    addNote.disabled = false;
  });

  root.append(
    h('p', {}, link('/incidents', '← all incidents')),
    h('h1', {}, `Incident ${id}`),
    actions,
    status,
    details,
  );
  api(path).then(show, (error) => {
    actions.hidden = true;
    details.replaceChildren(h('p', {}, 'This incident could not be loaded.'));
    showError(error);
  });
  return {};
}

/** One entry: its time, kind and summary, and its structured facts as `key: value` pairs. */
function timelineEntry(entry) {
  const facts = Object.entries(entry.data ?? {});
  return h(
    'li',
    { class: `timeline-${entry.kind}` },
    h('time', {}, time(entry.at)),
    ' ',
    h('strong', {}, entry.kind),
    ` ${entry.summary}`,
    facts.length === 0
      ? null
      : h(
          'dl',
          { class: 'timeline-data' },
          ...facts.flatMap(([key, value]) => [
            h('dt', {}, key),
            h('dd', {}, typeof value === 'string' ? value : JSON.stringify(value)),
          ]),
        ),
  );
}
