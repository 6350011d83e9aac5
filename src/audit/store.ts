/**
 * Audit storage port and its two adapters (D1 in workerd, memory for Node
 * tests). The port's SQL lives in this file only (schema:
 * infra/migrations/0001_init.sql + 0004_audit.sql).
 *
 * Rows: `id` (insertion order, the cursor), `at` (epoch seconds), `kind`,
 * `request_id`, `subject`, `workload`, `decision`, `event_id` (unique: queue
 * redelivery inserts nothing twice), `data` (the whole event as JSON). `change`
 * rows are written by the admin API in the batch of the change itself and have
 * no event id.
 */
import { TollgateError, isTollgateError } from '../errors.js';
import type { AuditEvent, AuditKind } from './events.js';

export interface AuditFilter {
  subject?: string;
  workload?: string;
  decision?: 'allow' | 'deny';
  kind?: AuditKind;
  /** Epoch seconds, inclusive. */
  from?: number;
  /** Epoch seconds, exclusive. */
  to?: number;
}

/** One stored record, as the query API returns it. */
export interface AuditRecord {
  /** Insertion order; newer records have larger numbers. */
  seq: number;
  /** Epoch seconds. */
  at: number;
  kind: string;
  requestId: string;
  subject: string | null;
  workload: string | null;
  decision: string | null;
  data: Record<string, unknown>;
}

export interface AuditPage {
  records: AuditRecord[];
  /** Pass as `before` for the next (older) page; null at the end. */
  next: number | null;
}

export interface AuditStore {
  /** Insert events; an event id already stored is skipped. All or nothing. */
  append(events: AuditEvent[]): Promise<void>;
  /** Newest first, `seq < before` when given. */
  query(filter: AuditFilter, options: { limit: number; before?: number }): Promise<AuditPage>;
  /** Delete records with `at < cutoff` in chunks of `chunk`, at most `maxChunks` chunks; returns how many went. */
  purge(cutoffSeconds: number, options?: { chunk?: number; maxChunks?: number }): Promise<number>;
}

export function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  return run().catch((cause: unknown) => {
    if (isTollgateError(cause)) throw cause;
    throw new TollgateError('internal', `storage error: ${what}`, { cause });
  });
}

export function rowOf(e: AuditEvent): [string, number, string, string, string | null, string | null, string | null, string] {
  return [
    e.id,
    Math.floor(e.at / 1000),
    e.requestId,
    e.kind,
    e.subject,
    e.kind === 'decision' ? e.workload : null,
    e.kind === 'decision' ? e.decision : null,
    JSON.stringify(e),
  ];
}

function parseData(text: unknown): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(String(text));
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { value: v };
  } catch {
    return {};
  }
}

export function recordOf(row: Record<string, unknown>): AuditRecord {
  const opt = (v: unknown) => (v === null || v === undefined ? null : String(v));
  return {
    seq: Number(row.id),
    at: Number(row.at),
    kind: String(row.kind),
    requestId: String(row.request_id),
    subject: opt(row.subject),
    workload: opt(row.workload),
    decision: opt(row.decision),
    data: parseData(row.data),
  };
}

/** In-memory adapter (Node tests, benchmarks). Same contract as D1. */
export function createMemoryAuditStore(): AuditStore & { rows(): AuditRecord[] } {
  const rows: (AuditRecord & { eventId: string | null })[] = [];
  const ids = new Set<string>();
  let seq = 0;
  const matches = (r: AuditRecord, f: AuditFilter) =>
    (f.subject === undefined || r.subject === f.subject) &&
    (f.workload === undefined || r.workload === f.workload) &&
    (f.decision === undefined || r.decision === f.decision) &&
    (f.kind === undefined || r.kind === f.kind) &&
    (f.from === undefined || r.at >= f.from) &&
    (f.to === undefined || r.at < f.to);
  return {
    async append(events) {
      for (const e of events) {
        if (ids.has(e.id)) continue;
        ids.add(e.id);
        const [eventId, at, requestId, kind, subject, workload, decision, data] = rowOf(e);
        rows.push({ seq: ++seq, at, kind, requestId, subject, workload, decision, data: parseData(data), eventId });
      }
    },
    async query(filter, { limit, before }) {
      const hits = rows.filter((r) => (before === undefined || r.seq < before) && matches(r, filter)).reverse();
      const records = hits.slice(0, limit).map(({ eventId: _e, ...r }) => structuredClone(r));
      return { records, next: hits.length > limit ? records[records.length - 1]!.seq : null };
    },
    async purge(cutoff, options = {}) {
      const max = (options.chunk ?? 1000) * (options.maxChunks ?? 50);
      let n = 0;
      for (let i = 0; i < rows.length && n < max; ) {
        if (rows[i]!.at < cutoff) {
          rows.splice(i, 1);
          n++;
        } else i++;
      }
      return n;
    },
    rows: () => rows.map(({ eventId: _e, ...r }) => structuredClone(r)),
  };
}
