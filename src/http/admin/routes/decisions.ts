/**
 * Decisions (docs/audit.md): `POST /decisions:simulate` — the decision and
 * its full explanation for a subject, device context and request, on the
 * live policy, with no side effects (no decision record, nothing forwarded);
 * `POST /decisions:replay` — a candidate policy document against recorded
 * decisions (the last N, default 10,000, or a time range): which would flip.
 * auditor or admin.
 */
import { contentOfDocument, contentOfState, createReplay, decisionSubject, diffPolicy, type PolicyImport, type ReplayRecord } from '../../../admin/index.js';
import type { AuditFilter } from '../../../audit/index.js';
import { TollgateError } from '../../../errors.js';
import { compile, explain, type DecisionInput, type Explanation } from '../../../policy/index.js';
import { userSubject } from '../../../token/index.js';
import { denialDetails } from '../../denial.js';
import {
  COMMON_PROBLEMS,
  SECURITY,
  createRoute,
  now,
  problemResponses,
  rcOf,
  requirePermission,
  respond,
  validationError,
  z,
  type AdminApi,
} from '../framework.js';
import { parseTime } from './audit.js';
import { PolicyDocumentSchema, checkedDocument, validateCandidate } from './policy.js';

const TIME = z
  .union([z.int().min(0).max(253402300799), z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/, { error: 'must be an RFC 3339 date-time' })])
  .openapi({ description: 'Unix time (seconds) or an RFC 3339 date-time', example: '2026-01-07T10:00:00Z' });

function timeOf(v: number | string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  return typeof v === 'number' ? v : parseTime(v, name);
}

const short = (max: number) => z.string().min(1).max(max);

export const SimulateRequest = z
  .strictObject({
    subject: z
      .strictObject({
        kind: z.enum(['user', 'service']).default('user'),
        id: short(512).optional().openapi({ description: 'Tollgate subject (`user:<h>:<sub>` / `service:<id>`); derived from `sub` when absent' }),
        sub: short(256).optional().openapi({ description: 'IdP `sub` (users) or service id' }),
        email: short(256).optional(),
        groups: z.array(short(256)).max(256).default([]),
      })
      .refine((s) => s.id !== undefined || s.sub !== undefined, { error: 'give the subject’s id or sub' }),
    device: z.strictObject({ id: short(256), trust: z.enum(['none', 'low', 'medium', 'high']) }).optional(),
    auth: z
      .strictObject({
        amr: z.array(short(64)).max(32).optional(),
        acr: short(256).optional(),
        auth_time: TIME.optional(),
      })
      .optional(),
    request: z
      .strictObject({
        workload: short(256).optional().openapi({ description: 'Workload id' }),
        host: short(261).optional().openapi({ description: 'Or the host name the request is sent to' }),
        method: z.string().regex(/^[A-Za-z][A-Za-z-]{0,31}$/, { error: 'must be an HTTP method' }),
        path: z.string().min(1).max(8192).regex(/^\//, { error: 'must start with /' }),
        query: z.string().max(4096).optional(),
        ip: short(64).optional(),
        country: z.string().regex(/^[A-Za-z]{2}$/).optional(),
      })
      .refine((r) => (r.workload === undefined) !== (r.host === undefined), { error: 'give exactly one of workload and host' }),
    time: TIME.optional().openapi({ description: 'When to decide (default: now)' }),
  })
  .openapi('SimulateRequest');

export const ReplayRequest = z
  .strictObject({
    policy: PolicyDocumentSchema,
    limit: z.int().min(1).max(10_000).optional().openapi({ description: 'The newest N recorded decisions (default 10,000)' }),
    from: TIME.optional(),
    to: TIME.optional(),
    max_examples: z.int().min(0).max(100).optional().openapi({ description: 'Examples per flip direction (default 20)' }),
  })
  .openapi('ReplayRequest');

const snake = (k: string) => k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`);

/** Deep copy with snake_case keys (the admin API's wire form); condition names too. */
export function toSnake(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toSnake);
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[snake(k)] = k === 'condition' && typeof x === 'string' ? snake(x) : toSnake(x);
    return out;
  }
  return v;
}

const DecisionSchema = z.object({
  effect: z.enum(['allow', 'deny']),
  reasons: z.array(z.string()),
  roles: z.array(z.string()),
  matched: z.record(z.string(), z.string()).optional(),
  failed: z.array(z.object({ role_id: z.string(), grant_id: z.string(), reasons: z.array(z.string()) })),
  ttl: z.int(),
});

const SimulateResult = z
  .object({
    decision: DecisionSchema,
    details: z.array(z.object({ reason: z.string(), detail: z.string(), action: z.string().optional() })).openapi({ description: 'Each reason in words (as the deny page says it)' }),
    explanation: z.record(z.string(), z.unknown()).openapi({
      description: 'policy_version, workload {id, known}, bindings [{id, role_id, subject, status}], grants [{role_id, grant_id, binding_valid, target, conditions [{condition, required, actual, passed, reason}], outcome, reasons}], deny_rules [{id, subject, target, scope, requirements, applies, reasons}]',
    }),
    input: z.record(z.string(), z.unknown()).openapi({ description: 'The decision input that was evaluated' }),
  })
  .openapi('SimulateResult');

const Example = z.object({
  request_id: z.string(),
  subject: z.string().nullable(),
  workload: z.string(),
  method: z.string(),
  path: z.string(),
  at: z.int().openapi({ description: 'Unix time, milliseconds' }),
  old: z.object({ decision: z.string(), reasons: z.array(z.string()) }),
  new: z.object({ decision: z.string(), reasons: z.array(z.string()), matched: z.record(z.string(), z.string()).optional() }),
});

const ReplayResult = z
  .object({
    evaluated: z.int(),
    skipped: z.int().openapi({ description: 'Records without a replayable input (no session, truncated)' }),
    unchanged: z.int(),
    reasons_changed: z.int().openapi({ description: 'Same effect, different reasons' }),
    flips: z.object({ allow_to_deny: z.int(), deny_to_allow: z.int() }),
    by_workload: z.record(z.string(), z.object({ allow_to_deny: z.int(), deny_to_allow: z.int() })),
    examples: z.object({ allow_to_deny: z.array(Example), deny_to_allow: z.array(Example) }),
    range: z.object({ from: z.int().nullable(), to: z.int().nullable() }).openapi({ description: 'Recorded times (ms) of the oldest and newest evaluated record' }),
    policy_diff: z.object({ added: z.int(), removed: z.int(), changed: z.int() }).openapi({ description: 'The candidate against the current policy' }),
  })
  .openapi('ReplayResult');

const tags = ['Decisions'];
const PAGE = 1000;

export function registerDecisions(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'post',
      path: '/decisions:simulate',
      tags,
      summary: 'Simulate a decision and explain it',
      description:
        'Evaluates the request on the live policy exactly as the gateway would and explains the outcome: which bindings select the subject (valid, expired, not yet valid), which grants cover the workload (method, path, each condition passed or failed), which deny rules apply. No side effects: nothing is recorded as a decision and nothing is forwarded.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { body: { content: { 'application/json': { schema: SimulateRequest } }, required: true } },
      responses: {
        200: { description: 'The decision and its explanation', content: { 'application/json': { schema: SimulateResult } } },
        ...problemResponses(...COMMON_PROBLEMS, 413, 415),
      },
    }),
    async (c) => {
      const rc = rcOf(c);
      const body = c.req.valid('json' as never) as z.output<typeof SimulateRequest>;
      const snapshot = await rc.deps.snapshots.get();
      let workload = body.request.workload;
      if (workload === undefined) {
        const w = snapshot.catalog.byHost(body.request.host!.toLowerCase());
        if (!w) throw validationError([{ path: ['request', 'host'], message: 'no workload is served on this host' }], 'json');
        workload = w.id;
      }
      const s = body.subject;
      let id = s.id;
      if (id === undefined) id = s.kind === 'service' ? `service:${s.sub}` : await userSubject(rc.deps.config.oidc.issuer, s.sub!);
      const subject = decisionSubject(id, s.email, s.groups, s.kind === 'user' ? s.sub : undefined);
      if (subject.kind !== s.kind) throw validationError([{ path: ['subject', 'id'], message: `is not a ${s.kind} subject` }], 'json');
      const input: DecisionInput = {
        subject,
        request: { workload, method: body.request.method.toUpperCase(), path: body.request.path },
        now: timeOf(body.time, 'time') ?? now(c),
      };
      if (body.request.query !== undefined) input.request.query = body.request.query;
      if (body.request.ip !== undefined) input.request.ip = body.request.ip;
      if (body.request.country !== undefined) input.request.country = body.request.country.toUpperCase();
      if (body.device) input.device = { ...body.device };
      if (body.auth) {
        input.auth = {};
        if (body.auth.amr) input.auth.amr = body.auth.amr;
        if (body.auth.acr !== undefined) input.auth.acr = body.auth.acr;
        const at = timeOf(body.auth.auth_time, 'auth_time');
        if (at !== undefined) input.auth.authTime = at;
      }
      const e: Explanation = explain({ policy: snapshot.policy, document: snapshot.document, knownWorkload: (w) => snapshot.catalog.byId(w) !== undefined }, input);
      rc.deps.logger.info('decision-simulated', { request_id: rc.requestId, by: c.get('principal').subject, workload, effect: e.decision.effect });
      const { decision, ...explanation } = e;
      return respond(c, {
        decision: toSnake(decision),
        details: denialDetails(decision, snapshot.document),
        explanation: toSnake(explanation),
        input: toSnake(input),
      });
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/decisions:replay',
      tags,
      summary: 'Replay recorded decisions against a candidate policy',
      description:
        'Re-evaluates recorded decisions (the newest `limit`, default 10,000, optionally within `from`/`to`) against the candidate — a document in the format of `GET /policy` — each at its recorded time with its recorded facts, and reports which would flip (allow → deny, deny → allow), with counts per workload and examples. Changes nothing.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { body: { content: { 'application/json': { schema: ReplayRequest } }, required: true } },
      responses: {
        200: { description: 'What would change', content: { 'application/json': { schema: ReplayResult } } },
        ...problemResponses(...COMMON_PROBLEMS, 413, 415, 422),
      },
    }),
    async (c) => {
      const rc = rcOf(c);
      const body = c.req.valid('json' as never) as z.output<typeof ReplayRequest>;
      const doc = checkedDocument(c, body.policy as PolicyImport);
      const state = await rc.deps.admin.store.state();
      validateCandidate(c, state, doc);
      const candidate = contentOfDocument(doc);
      let compiled;
      try {
        compiled = compile(
          { roles: candidate.roles, bindings: candidate.bindings, denyRules: candidate.denyRules },
          { version: 'candidate', assertionTtl: rc.deps.config.assertionTtlSeconds, workloads: candidate.workloads.map((w) => w.id) },
        );
      } catch (cause) {
        throw new TollgateError('policy-invalid', 'the candidate policy does not compile', { cause });
      }
      const filter: AuditFilter = { kind: 'decision' };
      const from = timeOf(body.from, 'from');
      const to = timeOf(body.to, 'to');
      if (from !== undefined) filter.from = from;
      if (to !== undefined) filter.to = to;
      if (from !== undefined && to !== undefined && from >= to) throw validationError([{ path: ['to'], message: 'to must be later than from' }], 'json');

      const acc = createReplay(compiled, { maxExamples: body.max_examples ?? 20 });
      let remaining = body.limit ?? 10_000;
      let before: number | undefined;
      while (remaining > 0) {
        const page = await rc.deps.auditLog.query(filter, { limit: Math.min(PAGE, remaining), ...(before !== undefined ? { before } : {}) });
        for (const r of page.records) acc.add(r.data as unknown as ReplayRecord);
        remaining -= page.records.length;
        if (page.next === null) break;
        before = page.next;
      }
      const report = acc.report();
      rc.deps.logger.info('decisions-replayed', { request_id: rc.requestId, by: c.get('principal').subject, evaluated: report.evaluated, ...report.flips });
      return respond(c, { ...(toSnake(report) as object), by_workload: toSnakeValues(report.byWorkload), policy_diff: diffPolicy(contentOfState(state), candidate).summary });
    },
  );

  const allow = () => () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: 'POST' } });
  };
  api.all('/decisions:simulate', allow());
  api.all('/decisions:replay', allow());
}

/** Workload ids are data, not field names: keep them, snake-case only the counters. */
function toSnakeValues(v: Record<string, object>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toSnake(x)]));
}
