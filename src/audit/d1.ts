/** D1 adapter of the audit store (Workers only: the binding type lives here). */
import { guarded, recordOf, rowOf, type AuditFilter, type AuditStore } from './store.js';

export const AUDIT_SQL = {
  insert: `INSERT OR IGNORE INTO audit (event_id, at, request_id, kind, subject, workload, decision, data)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)`,
  select: `SELECT id, at, request_id, kind, subject, workload, decision, data FROM audit`,
  purgeChunk: `DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ?1 ORDER BY id LIMIT ?2)`,
} as const;

/** WHERE clause from fixed fragments (values are always bound, never spliced). */
function whereOf(filter: AuditFilter, before: number | undefined): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const add = (fragment: string, value: unknown) => {
    params.push(value);
    parts.push(fragment.replace('?', `?${params.length}`));
  };
  if (filter.subject !== undefined) add('subject = ?', filter.subject);
  if (filter.workload !== undefined) add('workload = ?', filter.workload);
  if (filter.decision !== undefined) add('decision = ?', filter.decision);
  if (filter.kind !== undefined) add('kind = ?', filter.kind);
  if (filter.from !== undefined) add('at >= ?', filter.from);
  if (filter.to !== undefined) add('at < ?', filter.to);
  if (before !== undefined) add('id < ?', before);
  return { sql: parts.length > 0 ? ` WHERE ${parts.join(' AND ')}` : '', params };
}

export function createD1AuditStore(DB: D1Database): AuditStore {
  return {
    append: (events) =>
      guarded('append audit records', async () => {
        if (events.length === 0) return;
        const stmt = DB.prepare(AUDIT_SQL.insert);
        await DB.batch(events.map((e) => stmt.bind(...rowOf(e))));
      }),

    query: (filter, { limit, before }) =>
      guarded('query audit records', async () => {
        const { sql, params } = whereOf(filter, before);
        params.push(limit + 1);
        const { results } = await DB.prepare(`${AUDIT_SQL.select}${sql} ORDER BY id DESC LIMIT ?${params.length}`)
          .bind(...params)
          .all<Record<string, unknown>>();
        const records = results.slice(0, limit).map(recordOf);
        return { records, next: results.length > limit ? records[records.length - 1]!.seq : null };
      }),

    purge: (cutoff, options = {}) =>
      guarded('purge audit records', async () => {
        const chunk = options.chunk ?? 1000;
        const maxChunks = options.maxChunks ?? 50;
        let total = 0;
        for (let i = 0; i < maxChunks; i++) {
          const r = await DB.prepare(AUDIT_SQL.purgeChunk).bind(cutoff, chunk).run();
          const n = r.meta.changes ?? 0;
          total += n;
          if (n < chunk) break;
        }
        return total;
      }),
  };
}

