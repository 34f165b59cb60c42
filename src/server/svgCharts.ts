// Small SVG bar charts for the reliability report, without a dependency: one horizontal bar per
// item, an optional limit marker per bar, coloured by whether the item met its limit. The output
// depends only on the input, so a report of the same data is the same file.

export interface BarChartItem {
  /** Shown left of the bar (shortened when long) and in full in its tooltip. */
  label: string;
  /** The bar's length; null draws no bar, only `note`. */
  value: number | null;
  /** Where a marker is drawn across the bar, e.g. the expected recovery time. */
  limit?: number | null;
  /** Green when true, red when false, grey when unknown. */
  met?: boolean | null;
  /** Shown instead of the value when there is none, e.g. "not recovered". */
  note?: string;
}

export interface BarChartOptions {
  title: string;
  items: readonly BarChartItem[];
  /** Values and ticks as text, e.g. `412 ms`. */
  formatValue: (value: number) => string;
  /** What the limit markers stand for, in the legend; default "limit". */
  limitLabel?: string;
  /** Shown when there is no item; default "no data". */
  emptyText?: string;
  /**
   * Tick steps to choose from, ascending, e.g. durations that are round for people (15 s, 1 min);
   * the default is 1, 2 or 5 × 10ⁿ.
   */
  steps?: readonly number[];
  /** Default 720. */
  width?: number;
}

export const CHART_COLORS = Object.freeze({
  met: '#2e7d32',
  missed: '#c62828',
  unknown: '#9e9e9e',
  limit: '#212121',
  axis: '#616161',
  grid: '#e0e0e0',
  text: '#212121',
});

const LABEL_WIDTH = 250;
const VALUE_WIDTH = 110;
const ROW_HEIGHT = 24;
const BAR_HEIGHT = 14;
const TOP = 56;
const AXIS_HEIGHT = 32;
const MAX_LABEL_CHARS = 36;
const MIN_BAR_WIDTH = 2;

/** A horizontal bar chart as a standalone SVG document. */
export function barChart(options: BarChartOptions): string {
  const width = options.width ?? 720;
  const items = options.items;
  if (items.length === 0) return emptyChart(options.title, options.emptyText ?? 'no data', width);

  const plotLeft = LABEL_WIDTH;
  const plotWidth = width - LABEL_WIDTH - VALUE_WIDTH;
  const height = TOP + items.length * ROW_HEIGHT + AXIS_HEIGHT;
  const largest = Math.max(0, ...items.flatMap((item) => [item.value ?? 0, item.limit ?? 0]));
  const { max, step } = axisScale(largest, options.steps);
  const x = (value: number) => plotLeft + (Math.max(0, value) / max) * plotWidth;
  const hasLimits = items.some((item) => item.limit != null);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(options.title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plotLeft}" y="20" font-size="14" font-weight="bold" fill="${CHART_COLORS.text}">${escapeXml(options.title)}</text>`,
  );
  parts.push(legend(plotLeft, 40, hasLimits ? (options.limitLabel ?? 'limit') : undefined));

  const plotBottom = TOP + items.length * ROW_HEIGHT;
  const ticks = Math.round(max / step);
  for (let index = 0; index <= ticks; index++) {
    const tick = Number((index * step).toPrecision(12));
    const tickX = fixed(x(tick));
    parts.push(
      `<line x1="${tickX}" y1="${TOP - 4}" x2="${tickX}" y2="${plotBottom}" stroke="${CHART_COLORS.grid}" stroke-width="1"/>`,
      `<text x="${tickX}" y="${plotBottom + 16}" text-anchor="middle" fill="${CHART_COLORS.axis}">${escapeXml(options.formatValue(tick))}</text>`,
    );
  }
  parts.push(
    `<line x1="${plotLeft}" y1="${plotBottom}" x2="${plotLeft + plotWidth}" y2="${plotBottom}" stroke="${CHART_COLORS.axis}" stroke-width="1"/>`,
  );

  items.forEach((item, index) => {
    const rowTop = TOP + index * ROW_HEIGHT;
    const barY = rowTop + (ROW_HEIGHT - BAR_HEIGHT) / 2;
    const textY = rowTop + ROW_HEIGHT / 2 + 4;
    const valueText = item.value === null ? (item.note ?? 'no value') : options.formatValue(item.value);
    const limitText =
      item.limit == null ? '' : `, ${options.limitLabel ?? 'limit'} ${options.formatValue(item.limit)}`;
    parts.push(`<g class="item">`, `<title>${escapeXml(`${item.label}: ${valueText}${limitText}`)}</title>`);
    parts.push(
      `<text x="${plotLeft - 8}" y="${textY}" text-anchor="end" fill="${CHART_COLORS.text}">${escapeXml(shorten(item.label))}</text>`,
    );
    let valueX = plotLeft + 6;
    if (item.value !== null) {
      // A measured 0 still shows: a bar at least 2 px long says "measured", where no bar says "not".
      const barWidth = Math.max(MIN_BAR_WIDTH, fixed(x(item.value) - plotLeft));
      parts.push(
        `<rect class="bar" x="${plotLeft}" y="${fixed(barY)}" width="${barWidth}" height="${BAR_HEIGHT}" fill="${colorOf(item.met)}"/>`,
      );
      valueX = plotLeft + barWidth + 6;
    }
    if (item.limit != null) {
      const limitX = fixed(x(item.limit));
      parts.push(
        `<line class="limit" x1="${limitX}" y1="${fixed(barY - 3)}" x2="${limitX}" y2="${fixed(barY + BAR_HEIGHT + 3)}" stroke="${CHART_COLORS.limit}" stroke-width="2"/>`,
      );
      // Past the marker, unless the text would then run off the chart (a note beside a far marker).
      const pastMarker = limitX + 6;
      if (pastMarker + textWidth(valueText) <= width || item.value !== null)
        valueX = Math.max(valueX, pastMarker);
    }
    parts.push(
      `<text x="${fixed(valueX)}" y="${textY}" fill="${CHART_COLORS.text}">${escapeXml(valueText)}</text>`,
      `</g>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

/** Text safe inside an SVG element or attribute; characters XML does not allow are dropped. */
export function escapeXml(text: string): string {
  return (
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/"/g, '&quot;')
      .replace(/'/g, '&#39;')
  );
}

/**
 * The axis: from 0 to a round maximum in 2 to 5 round steps: the smallest of `steps` that needs at
 * most 5, or 1, 2 or 5 × 10ⁿ when none does (or none is given).
 */
export function axisScale(largest: number, steps: readonly number[] = []): { max: number; step: number } {
  if (!(largest > 0) || !Number.isFinite(largest)) return { max: 1, step: 0.25 };
  const rough = largest / 5;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step =
    steps.find((candidate) => candidate >= rough) ??
    [1, 2, 5, 10].map((factor) => factor * power).find((candidate) => candidate >= rough)!;
  return { max: Number((Math.ceil(largest / step - 1e-9) * step).toPrecision(12)), step };
}

function emptyChart(title: string, text: string, width: number): string {
  const height = 80;
  return `${[
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="14" font-weight="bold" fill="${CHART_COLORS.text}">${escapeXml(title)}</text>`,
    `<text class="empty" x="${width / 2}" y="56" text-anchor="middle" fill="${CHART_COLORS.axis}">${escapeXml(text)}</text>`,
    '</svg>',
  ].join('\n')}\n`;
}

function legend(left: number, y: number, limitLabel: string | undefined): string {
  const entries: string[] = [];
  let at = left;
  for (const [label, color] of [
    ['met', CHART_COLORS.met],
    ['missed', CHART_COLORS.missed],
    ['no verdict', CHART_COLORS.unknown],
  ] as const) {
    entries.push(
      `<rect x="${at}" y="${y - 9}" width="10" height="10" fill="${color}"/>`,
      `<text x="${at + 14}" y="${y}" fill="${CHART_COLORS.text}">${label}</text>`,
    );
    at += 24 + label.length * 7;
  }
  if (limitLabel !== undefined) {
    entries.push(
      `<line x1="${at + 4}" y1="${y - 10}" x2="${at + 4}" y2="${y + 2}" stroke="${CHART_COLORS.limit}" stroke-width="2"/>`,
      `<text x="${at + 12}" y="${y}" fill="${CHART_COLORS.text}">${escapeXml(limitLabel)}</text>`,
    );
  }
  return `<g class="legend">\n${entries.join('\n')}\n</g>`;
}

/** About how wide 12 px sans-serif text is: enough to keep a note inside the chart. */
function textWidth(text: string): number {
  return [...text].length * 6.5;
}

function colorOf(met: boolean | null | undefined): string {
  if (met === true) return CHART_COLORS.met;
  if (met === false) return CHART_COLORS.missed;
  return CHART_COLORS.unknown;
}

function shorten(label: string): string {
  const chars = [...label];
  return chars.length <= MAX_LABEL_CHARS
    ? label
    : `${chars
        .slice(0, MAX_LABEL_CHARS - 1)
        .join('')
        .trimEnd()}…`;
}

/** Coordinates to one decimal, so the text does not carry floating-point noise. */
function fixed(value: number): number {
  return Math.round(value * 10) / 10;
}
