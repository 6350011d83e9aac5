/**
 * The audit trail (docs/audit.md): `GET /audit` — filtered, newest first,
 * cursor pages; `GET /audit/export` — the same filters as NDJSON, streamed
 * page by page from D1 (one record per line, nothing buffered whole).
 * auditor or admin.
 */
import { AUDIT_KINDS, type AuditFilter, type AuditRecord, type AuditStore } from '../../../audit/index.js';
import { TollgateError } from '../../../errors.js';
import {
  COMMON_PROBLEMS,
  DEFAULT_LIMIT,
  SECURITY,
  createRoute,
  decodeCursor,
  encodeCursor,
  pageQuery,
  pageSchema,
  problemResponses,
  rcOf,
  requirePermission,
  respond,
  validationError,
  z,
  type AdminApi,
  type AdminResponse,
} from '../framework.js';

const LIST = 'audit';
const EXPORT_PAGE = 500;

const TIME = /^(\d{1,12}|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))$/;
const timeParam = (name: 'from' | 'to', description: string) =>
  z
    .string()
    .regex(TIME, { error: `${name} must be epoch seconds or an RFC 3339 date-time (2026-01-07T10:00:00Z)` })
    .optional()
    .openapi({ param: { name, in: 'query' }, description, example: '2026-01-07T00:00:00Z' });

export const AuditQuery = {
  subject: z.string().min(1).max(512).optional().openapi({ param: { name: 'subject', in: 'query' }, description: 'Tollgate subject (`user:<h>:<sub>`, `service:<id>`); for change records, the actor' }),
  workload: z.string().min(1).max(256).optional().openapi({ param: { name: 'workload', in: 'query' }, description: 'Workload id (decision records)' }),
  decision: z.enum(['allow', 'deny']).optional().openapi({ param: { name: 'decision', in: 'query' } }),
  kind: z.enum(AUDIT_KINDS as [string, ...string[]]).optional().openapi({ param: { name: 'kind', in: 'query' }, description: 'decision, sign-in, sign-out, revocation or change' }),
  from: timeParam('from', 'Only records at or after this time'),
  to: timeParam('to', 'Only records before this time'),
};

export const AuditRecordSchema = z
  .object({
    seq: z.int().openapi({ description: 'Insertion order (newer records have larger numbers)' }),
    at: z.int().openapi({ description: 'Unix time, seconds' }),
    time: z.string().openapi({ description: 'The same as RFC 3339' }),
    kind: z.string(),
    request_id: z.string(),
    subject: z.string().nullable(),
    workload: z.string().nullable(),
    decision: z.string().nullable(),
    data: z.record(z.string(), z.unknown()).openapi({ description: 'The whole record (decision: reasons, roles, device, policy version and hash, jti, normalised input; change: action, resource, before, after)' }),
  })
  .openapi('AuditRecord');

/** Epoch seconds of a validated `from` / `to`. */
export function parseTime(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = /^\d+$/.test(value) ? Number(value) : Math.floor(Date.parse(value) / 1000);
  if (!Number.isSafeInteger(n) || n < 0) throw validationError([{ path: [name], message: `${name} is not a valid time` }], 'query');
  return n;
}

export function auditFilter(q: Record<string, string | undefined>): AuditFilter {
  const f: AuditFilter = {};
  if (q.subject !== undefined) f.subject = q.subject;
  if (q.workload !== undefined) f.workload = q.workload;
  if (q.decision !== undefined) f.decision = q.decision as 'allow' | 'deny';
  if (q.kind !== undefined) f.kind = q.kind as AuditFilter['kind'];
  const from = parseTime(q.from, 'from');
  const to = parseTime(q.to, 'to');
  if (from !== undefined) f.from = from;
  if (to !== undefined) f.to = to;
  if (from !== undefined && to !== undefined && from >= to) throw validationError([{ path: ['to'], message: 'to must be later than from' }], 'query');
  return f;
}

export function auditRecordToWire(r: AuditRecord) {
  return {
    seq: r.seq,
    at: r.at,
    time: new Date(r.at * 1000).toISOString(),
    kind: r.kind,
    request_id: r.requestId,
    subject: r.subject,
    workload: r.workload,
    decision: r.decision,
    data: r.data,
  };
}

function beforeOf(cursor: string | undefined): number | undefined {
  if (cursor === undefined) return undefined;
  const seq = Number(decodeCursor(LIST, cursor));
  if (!Number.isSafeInteger(seq) || seq < 1) {
    throw new TollgateError('bad-request', 'the cursor is not valid for this list', {
      details: { errors: [{ in: 'query', pointer: '/cursor', detail: 'must be a next_cursor value from an earlier page of this list' }] },
    });
  }
  return seq;
}

/** NDJSON of every record matching `filter`, newest first, fetched from storage a page at a time as the client reads. */
export function ndjsonStream(store: AuditStore, filter: AuditFilter, onError: (err: unknown) => void): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let before: number | undefined;
  let done = false;
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (done) return controller.close();
        try {
          const page = await store.query(filter, { limit: EXPORT_PAGE, ...(before !== undefined ? { before } : {}) });
          if (page.records.length > 0) {
            controller.enqueue(encoder.encode(page.records.map((r) => JSON.stringify(auditRecordToWire(r))).join('\n') + '\n'));
          }
          if (page.next === null) {
            done = true;
            controller.close();
          } else before = page.next;
        } catch (err) {
          // Headers are gone already: end the stream in error (the client sees a truncated body) and log.
          onError(err);
          controller.error(new Error('audit export failed'));
        }
      },
    },
    { highWaterMark: 0 },
  );
}

const tags = ['Audit'];

export function registerAudit(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/audit',
      tags,
      summary: 'Query the audit trail',
      description:
        'Decisions (one per request on a workload host), sign-ins, sign-outs, revocations and admin changes. Newest first; all filters combine (AND); cursor pages. `from` inclusive, `to` exclusive.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { query: z.object({ ...AuditQuery, ...pageQuery }) },
      responses: {
        200: { description: 'A page of records', content: { 'application/json': { schema: pageSchema('AuditPage', AuditRecordSchema) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const q = c.req.valid('query' as never) as Record<string, string | undefined>;
      const filter = auditFilter(q);
      const before = beforeOf(q.cursor);
      const limit = q.limit === undefined ? DEFAULT_LIMIT : Number(q.limit);
      const page = await rcOf(c).deps.auditLog.query(filter, { limit, ...(before !== undefined ? { before } : {}) });
      return respond(c, {
        items: page.records.map(auditRecordToWire),
        next_cursor: page.next === null ? null : encodeCursor(LIST, String(page.next)),
      });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/audit/export',
      tags,
      summary: 'Export the audit trail as NDJSON',
      description: 'Every record matching the filters, newest first, one JSON object per line (the same objects as `GET /audit`), streamed.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { query: z.object(AuditQuery) },
      responses: {
        200: { description: 'NDJSON', content: { 'application/x-ndjson': { schema: z.string().openapi({ description: 'One AuditRecord per line' }) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const rc = rcOf(c);
      const q = c.req.valid('query' as never) as Record<string, string | undefined>;
      const filter = auditFilter(q);
      rc.deps.logger.info('audit-export', { request_id: rc.requestId, subject: c.get('principal').subject });
      const body = ndjsonStream(rc.deps.auditLog, filter, (err) =>
        rc.deps.logger.error('audit-export-failed', { request_id: rc.requestId, error: err instanceof Error ? err.name : 'unknown' }),
      );
      return new Response(body, {
        headers: {
          'content-type': 'application/x-ndjson; charset=utf-8',
          'content-disposition': 'attachment; filename="tollgate-audit.ndjson"',
          'cache-control': 'no-store',
        },
      }) as AdminResponse as never; // a stream, not one of the typed JSON responses
    },
  );

  const allow = () => () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: 'GET, HEAD' } });
  };
  api.all('/audit', allow());
  api.all('/audit/export', allow());
}
