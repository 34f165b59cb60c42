// How the reliability report writes things: durations, shares, times, verdicts, and text from
// users or services made safe for a Markdown table cell or line.

/** A duration for people: `412 ms`, `1.5 s`, `4 min 5 s`, `2 h 10 min`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trim((ms / 1000).toFixed(1))} s`;
  if (ms < 3_600_000) {
    const seconds = Math.round(ms / 1000);
    const rest = seconds % 60;
    return rest === 0 ? `${Math.floor(seconds / 60)} min` : `${Math.floor(seconds / 60)} min ${rest} s`;
  }
  const minutes = Math.round(ms / 60_000);
  const rest = minutes % 60;
  return rest === 0 ? `${Math.floor(minutes / 60)} h` : `${Math.floor(minutes / 60)} h ${rest} min`;
}

/**
 * A share 0–1 as a percentage. Cut toward 0, not rounded, past `digits` decimals: 0.99999 is
 * `99.999%` and never `100%` while a request failed.
 */
export function formatPercent(share: number, digits = 3): string {
  if (!Number.isFinite(share)) return '—';
  const scale = 10 ** digits;
  const cut = Math.trunc(share * 100 * scale + Math.sign(share) * 1e-6) / scale;
  return `${trim(cut.toFixed(digits))}%`;
}

/** An ISO 8601 time as `2025-01-01 12:00:03Z` (seconds are enough for a report). */
export function formatTime(iso: string): string {
  const match = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(iso);
  return match ? `${match[1]} ${match[2]}Z` : iso;
}

/** A whole number with thousands separators, the same on every machine: `12,345`. */
export function formatCount(count: number): string {
  return String(Math.round(count)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** ✅ met, ❌ not met, — no verdict. */
export function verdict(met: boolean | null | undefined): string {
  if (met === true) return '✅';
  if (met === false) return '❌';
  return '—';
}

/**
 * Text from users or services on one Markdown line: line breaks become spaces, and `|` (a table
 * cell's end), a `<` that would start raw HTML, a backslash and a leading `#`, `>`, `+` or `-` are
 * escaped.
 */
export function inline(text: string): string {
  return (
    text
      .replace(/\r\n?|\n/g, ' ')
      .replace(/\\/g, '\\\\')
      .replace(/\|/g, '\\|')
      // Only a `<` that could open a tag or an autolink: `latency_p99 < 500` stays readable.
      .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
      .replace(/^([#>+-])/, '\\$1')
  );
}

/**
 * A code span for text outside a table (in a table, GFM would still end the cell at a `|`): one
 * line, and backticks become quotes, so the span cannot be closed early.
 */
export function code(text: string): string {
  return `\`${text.replace(/\r\n?|\n/g, ' ').replace(/`/g, "'")}\``;
}

/** A Markdown table; every cell is already Markdown (pass user text through `inline`). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) =>
    `| ${cells.map((cell) => (cell === '' ? ' ' : cell)).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** `1 service`, `2 services`. */
export function plural(count: number, one: string, many = `${one}s`): string {
  return `${formatCount(count)} ${count === 1 ? one : many}`;
}

function trim(text: string): string {
  return text.includes('.') ? text.replace(/\.?0+$/, '') : text;
}
