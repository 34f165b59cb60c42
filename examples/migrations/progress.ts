// Monitoring: each status line carries context gathered from the target (version, size, tables)
// and, with --report-url, each event is posted to a monitoring endpoint. Gathered with degrade():
// a slow or failing source never fails or stalls the migration, its last good value (kept in the
// state store) is shown instead, marked as cached, or it is left out.

import type { Policy } from 'rebound';
import { type Component, type ComponentResult, degrade, type DegradeStrategy } from 'rebound/durable';
import type { Store } from 'rebound/store';
import { describeError, type Target } from './target.ts';

export interface ProgressEvent {
  event: 'start' | 'change' | 'finish';
  workflowId?: string;
  direction?: 'up' | 'down';
  migration?: string;
  /** 'done' | 'already' | 'replayed' for a change. */
  outcome?: string;
  index?: number;
  total?: number;
  durationMs?: number;
}

export interface MonitorOptions {
  target: Target;
  /** The circuit breaker around the target: while it is open, context comes from the cache at once. */
  guard: Policy;
  /** Keeps last good values across runs; a dry run has none. */
  store?: Store;
  reportUrl?: string;
  /** Each source gets this long. */
  timeoutMs?: number;
}

export class Monitor {
  private readonly options: MonitorOptions;

  constructor(options: MonitorOptions) {
    this.options = options;
  }

  /** Gathers the context and posts the event; returns the status line fragment. Never throws. */
  async context(event: ProgressEvent): Promise<string> {
    const { target, guard, store, reportUrl } = this.options;
    const components: Record<string, Component> = {
      version: () => guard.execute(() => target.version()),
      size: () => guard.execute(() => target.sizeBytes()),
      tables: () => guard.execute(() => target.tableCount()),
    };
    const strategy: Record<string, DegradeStrategy> = { version: 'cache', size: 'cache', tables: 'cache' };
    if (reportUrl !== undefined) {
      components.report = ({ signal }) => post(reportUrl, { ...event, target: target.display }, signal);
      strategy.report = 'partial';
    }
    try {
      const result = await degrade({
        components,
        strategy,
        timeoutMs: this.options.timeoutMs ?? 2_000,
        ...(store ? { cache: { store, namespace: `migrations ${target.key}` } } : {}),
      });
      const parts = [
        show(result.components.version, (version) => String(version), 'version ?'),
        show(result.components.size, (bytes) => formatBytes(Number(bytes)), 'size ?'),
        show(
          result.components.tables,
          (count) => `${String(count)} ${count === 1 ? 'table' : 'tables'}`,
          'tables ?',
        ),
      ];
      const report = result.components.report;
      if (report !== undefined && report.source !== 'live') {
        parts.push(`report failed (${describeError(rootCause(report.error))})`);
      }
      if (result.level !== 'full') parts.push(`[monitoring ${result.level}: ${result.degraded.join(', ')}]`);
      return parts.join(' · ');
    } catch (error) {
      // degrade() itself never fails with these options; should it, a status line is not worth a failure.
      return `[monitoring unavailable: ${describeError(error)}]`;
    }
  }
}

function show(
  result: ComponentResult<unknown> | undefined,
  format: (value: unknown) => string,
  missing: string,
): string {
  if (result === undefined || !result.ok) return missing;
  if (result.source !== 'cache') return format(result.value);
  const ageSeconds = Math.round((Date.now() - (result.cachedAt ?? Date.now())) / 1000);
  return `${format(result.value)} (cached ${ageSeconds} s ago)`;
}

async function post(url: string, body: object, signal: AbortSignal): Promise<number> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal,
  });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${url} answered ${response.status} ${response.statusText}`);
  return response.status;
}

// fetch() fails with "fetch failed" and the reason (ECONNREFUSED…) as its cause.
function rootCause(error: unknown): unknown {
  let current = error;
  while (current instanceof Error && current.cause !== undefined) current = current.cause;
  return current;
}

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '? B';
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(0)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
