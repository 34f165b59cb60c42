// Building DOM nodes without innerHTML (so no text from the API is ever parsed as markup), and
// formatting the figures every page shows.

/* global document */

/**
 * `h('td', { class: 'x', dataset: { pid: '1' }, onclick }, 'text', child)`: an element with its
 * attributes (on* become listeners) and children (strings become text nodes; null/false are skipped).
 */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (name === 'dataset') Object.assign(element.dataset, value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(
    ...children.flat().filter((child) => child !== null && child !== undefined && child !== false),
  );
  return element;
}

/** `table(['Name', 'State'], tbody, { class: 'services' })`: a table with one row of headings. */
export function table(headings, body, attributes = {}) {
  return h(
    'table',
    attributes,
    h('thead', {}, h('tr', {}, ...headings.map((heading) => h('th', {}, heading)))),
    body,
  );
}

export function link(href, text) {
  return h('a', { href, 'data-link': true }, text);
}

export function badge(state) {
  return h('span', { class: `badge badge-${state}` }, state);
}

/** A 0–100 gauge with its figure beside it. */
export function gauge(label, percent) {
  const value = Number.isFinite(percent) ? Math.max(0, Math.min(100, percent)) : 0;
  return h(
    'div',
    { class: 'gauge' },
    h('span', { class: 'gauge-label' }, label),
    h('meter', { min: 0, max: 100, low: 50, high: 90, optimum: 100, value: value.toFixed(1) }),
    h('strong', {}, `${value.toFixed(0)}%`),
  );
}

export function ms(value) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '–';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function percent(ratio) {
  if (ratio === undefined || ratio === null || !Number.isFinite(ratio)) return '–';
  return `${(ratio * 100).toFixed(ratio < 0.1 ? 1 : 0)}%`;
}

export function perSecond(value) {
  if (value === undefined || value === null || !Number.isFinite(value)) return '–';
  return `${value.toFixed(value < 10 ? 1 : 0)}/s`;
}

export function time(iso) {
  if (!iso) return '–';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleTimeString();
}
