// Reads the Prometheus text a service exposes on /metrics into samples, and picks rebound's metrics out of them.
//
// A small parser of our own rather than a package: the npm parsers of this format that are widely
// known (parse-prometheus-text-format, prometheus-query's parser) are unmaintained, and what a
// scrape needs is one linear pass over lines. It reads the text exposition format 0.0.4 and the
// OpenMetrics 1.0 text that services emit in its place: comments (# HELP, # TYPE, # UNIT) are
// skipped, label values are unescaped (\\ \" \n), values may be NaN, +Inf or -Inf, a timestamp may
// follow the value, exemplars (` # {…} value`) are ignored and `# EOF` ends the text. A line it
// cannot read is skipped and counted, so one bad line never hides the rest of a scrape.

export interface PrometheusSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  /** Epoch milliseconds, when the line carried a timestamp (OpenMetrics seconds are converted). */
  timestampMs?: number;
}

export interface PrometheusParse {
  samples: PrometheusSample[];
  /** Lines that were neither a comment, blank, nor a readable sample. */
  malformed: number;
}

const METRIC_NAME_START = /[A-Za-z_:]/;
const METRIC_NAME_PART = /[A-Za-z0-9_:]/;
const LABEL_NAME_START = /[A-Za-z_]/;
const LABEL_NAME_PART = /[A-Za-z0-9_]/;
/** Go's strconv.ParseFloat syntax as Prometheus writes it: decimal, exponent, Inf and NaN in any case. */
const FLOAT = /^[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|inf(?:inity)?|nan)$/i;
const TIMESTAMP = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** Thrown inside the parser for a line it cannot read; never escapes parsePrometheusText. */
class MalformedLine extends Error {}

function parseFloatToken(token: string): number {
  if (!FLOAT.test(token)) throw new MalformedLine(token);
  const lower = token.toLowerCase();
  if (lower.endsWith('nan')) return Number.NaN;
  if (lower.includes('inf')) return lower.startsWith('-') ? -Infinity : Infinity;
  return Number(token);
}

/** One sample line, read left to right; `raw` timestamps are in the unit of the format (see below). */
function parseSampleLine(line: string): { sample: PrometheusSample; rawTimestamp?: number } {
  let position = 0;
  const isBlank = (character: string | undefined) => character === ' ' || character === '\t';
  const skipBlanks = () => {
    while (isBlank(line[position])) position++;
  };
  const readName = (start: RegExp, part: RegExp): string => {
    const from = position;
    if (!start.test(line[position] ?? '')) throw new MalformedLine(line);
    position++;
    while (position < line.length && part.test(line[position]!)) position++;
    return line.slice(from, position);
  };

  const name = readName(METRIC_NAME_START, METRIC_NAME_PART);
  const labels: Record<string, string> = {};
  const afterName = position;
  skipBlanks();
  if (line[position] !== '{') position = afterName;
  else {
    position++;
    skipBlanks();
    while (line[position] !== '}') {
      const label = readName(LABEL_NAME_START, LABEL_NAME_PART);
      skipBlanks();
      if (line[position] !== '=') throw new MalformedLine(line);
      position++;
      skipBlanks();
      if (line[position] !== '"') throw new MalformedLine(line);
      position++;
      let value = '';
      for (;;) {
        const character = line[position];
        if (character === undefined) throw new MalformedLine(line);
        position++;
        if (character === '"') break;
        if (character !== '\\') {
          value += character;
          continue;
        }
        const escaped = line[position++];
        if (escaped === '\\') value += '\\';
        else if (escaped === '"') value += '"';
        else if (escaped === 'n') value += '\n';
        else throw new MalformedLine(line);
      }
      // A label given twice is an error in Prometheus too; `in` would also see Object.prototype's keys.
      if (Object.hasOwn(labels, label)) throw new MalformedLine(line);
      Object.defineProperty(labels, label, { value, enumerable: true, writable: true, configurable: true });
      skipBlanks();
      if (line[position] === ',') {
        position++;
        skipBlanks();
      } else if (line[position] !== '}') throw new MalformedLine(line);
    }
    position++;
  }

  // What follows the name and labels: value, optional timestamp, optional OpenMetrics exemplar.
  // After a name a blank must come (it would be part of the name otherwise); after `}` Prometheus needs none.
  const rest = line.slice(position);
  if (line[position - 1] !== '}' && rest.length > 0 && !isBlank(rest[0])) throw new MalformedLine(line);
  const exemplar = rest.indexOf(' # ');
  const tokens = (exemplar === -1 ? rest : rest.slice(0, exemplar)).split(/[ \t]+/).filter(Boolean);
  if (tokens.length < 1 || tokens.length > 2) throw new MalformedLine(line);
  const value = parseFloatToken(tokens[0]!);
  if (tokens.length === 1) return { sample: { name, labels, value } };
  if (!TIMESTAMP.test(tokens[1]!)) throw new MalformedLine(line);
  return { sample: { name, labels, value }, rawTimestamp: Number(tokens[1]) };
}

/**
 * Every sample of a Prometheus text exposition (0.0.4) or OpenMetrics text, in the order written,
 * and how many lines could not be read. Never throws. Timestamps are milliseconds in 0.0.4 and
 * seconds in OpenMetrics; a text that ends with `# EOF` is OpenMetrics, so its timestamps are
 * multiplied by 1000.
 */
export function parsePrometheusText(text: string): PrometheusParse {
  const samples: PrometheusSample[] = [];
  const timestamps: { sample: PrometheusSample; raw: number }[] = [];
  let malformed = 0;
  let openMetrics = false;
  for (const rawLine of text.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const trimmed = line.trim();
    if (trimmed === '') continue;
    if (trimmed.startsWith('#')) {
      if (/^#[ \t]*EOF[ \t]*$/.test(trimmed)) {
        openMetrics = true;
        break;
      }
      continue;
    }
    try {
      const { sample, rawTimestamp } = parseSampleLine(line.replace(/^[ \t]+/, ''));
      samples.push(sample);
      if (rawTimestamp !== undefined) timestamps.push({ sample, raw: rawTimestamp });
    } catch (error) {
      if (!(error instanceof MalformedLine)) throw error;
      malformed++;
    }
  }
  for (const { sample, raw } of timestamps) {
    sample.timestampMs = Math.round(openMetrics ? raw * 1000 : raw);
  }
  return { samples, malformed };
}

/** The metric names rebound's policies and views use, as a service may expose them itself. */
export const SERVICE_METRIC_NAMES = [
  'cpu_util',
  'memory_util',
  'latency_p50',
  'latency_p95',
  'latency_p99',
  'error_rate',
  'throughput',
  'queue_depth',
] as const;

/**
 * The metrics of a scrape as rebound reads them, by name. The rule is one: every sample without
 * labels is taken under its own name, as it is. That covers a service exposing rebound's names
 * (cpu_util, latency_p99, error_rate, … see SERVICE_METRIC_NAMES; fractions 0–1, milliseconds)
 * and the process metrics every Prometheus client exports unlabelled
 * (process_cpu_seconds_total, process_resident_memory_bytes), which pass through under their names.
 * Labelled samples are left out: which series of several would be "the" value is not ours to
 * guess. So are NaN and ±Inf (a summary with no observations reports NaN), because a policy
 * condition on them could never mean anything. A name written twice keeps its last value.
 */
export function serviceMetricsFromSamples(samples: readonly PrometheusSample[]): Record<string, number> {
  const metrics: Record<string, number> = {};
  for (const sample of samples) {
    if (!Number.isFinite(sample.value)) continue;
    if (Object.keys(sample.labels).length > 0) continue;
    // defineProperty: a sample named __proto__ is a metric like any other, never the prototype.
    Object.defineProperty(metrics, sample.name, {
      value: sample.value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return metrics;
}
