/**
 * Policy as code (docs/audit.md, "Policy as code"): `GET /policy` exports the
 * whole configuration as one canonical JSON document, ETag = the
 * configuration version; `PUT /policy` imports one atomically (admin,
 * If-Match on that version): the diff becomes ops that commit with their
 * audit record and the version bump in one gated D1 batch, then KV is told.
 * `?dry_run=true` answers the diff and changes nothing; an import that changes
 * nothing (export → import) is a no-op: no batch, no record, no bump.
 */
import {
  applyOps,
  checkDocument,
  contentOfDocument,
  contentOfState,
  diffPolicy,
  exportPolicy,
  importOps,
  SECTIONS,
  type PolicyDiff,
  type PolicyExport,
  type PolicyImport,
} from '../../../admin/index.js';
import type { ChangeRecord, ConfigState } from '../../../store/index.js';
import { TollgateError } from '../../../errors.js';
import * as S from '../schemas.js';
import {
  COMMON_PROBLEMS,
  ETAG_HEADER,
  IF_MATCH_HEADER,
  SECURITY,
  adminRequest,
  createRoute,
  ifMatchVersions,
  problemResponses,
  rcOf,
  requirePermission,
  respond,
  services,
  z,
  type AdminApi,
  type AdminContext,
} from '../framework.js';

const MAX_ITEMS = 10_000;

/** The export / import document (the resources' own wire schemas, ids required). */
export const PolicyDocumentSchema = z
  .strictObject({
    version: z.string().max(32).optional().openapi({ description: 'The configuration version it was exported at (informational; If-Match decides)' }),
    roles: z.array(S.RoleCreate).max(MAX_ITEMS),
    deny_rules: z.array(S.DenyRuleCreate.extend({ id: S.Id })).max(MAX_ITEMS),
    bindings: z.array(S.BindingCreate.extend({ id: S.Id })).max(MAX_ITEMS),
    workloads: z.array(S.WorkloadCreate).max(MAX_ITEMS),
  })
  .openapi('PolicyDocument', { description: 'The whole configuration. Export order is canonical (by id); export → import is a no-op.' });

const SectionDiff = (item: z.ZodType) =>
  z.object({ added: z.array(item), removed: z.array(item), changed: z.array(z.object({ id: z.string(), before: item, after: item })) });

export const PolicyDiffSchema = z
  .object({
    roles: SectionDiff(S.RoleCreate),
    deny_rules: SectionDiff(S.DenyRuleCreate),
    bindings: SectionDiff(S.BindingCreate),
    workloads: SectionDiff(S.WorkloadCreate),
    summary: z.object({ added: z.int(), removed: z.int(), changed: z.int() }),
    empty: z.boolean(),
  })
  .openapi('PolicyDiff');

const ImportResult = z
  .object({
    dry_run: z.boolean(),
    changed: z.boolean().openapi({ description: 'Whether the configuration changed (false for a dry run and for an empty diff)' }),
    version: z.string().openapi({ description: 'The configuration version after the request' }),
    diff: PolicyDiffSchema,
  })
  .openapi('PolicyImportResult');

/** The document's body, validated: also the candidate format of `POST /decisions:replay`. */
export function checkedDocument(c: AdminContext, doc: PolicyImport): PolicyImport {
  checkDocument(doc, { originAuthority: rcOf(c).deps.config.originAuthority });
  return doc;
}

/** 422 unless `candidate` is a valid whole configuration (compile() and the catalog rules). */
export function validateCandidate(c: AdminContext, state: ConfigState, doc: PolicyImport): ConfigState {
  const next = applyOps(state, importOps(contentOfState(state), contentOfDocument(doc)));
  services(c).config.validate(next);
  return next;
}

/** One record for the whole import: what was there before, what is there after (wire form, touched resources only). */
function importRecord(c: AdminContext, diff: PolicyDiff, base: string): ChangeRecord {
  const req = adminRequest(c);
  const before: Record<string, unknown[]> = {};
  const after: Record<string, unknown[]> = {};
  for (const s of SECTIONS) {
    const d = diff[s] as PolicyDiff['roles'];
    before[s] = [...d.removed, ...d.changed.map((x) => x.before)];
    after[s] = [...d.added, ...d.changed.map((x) => x.after)];
  }
  return {
    at: req.now,
    requestId: req.requestId,
    actor: req.actor,
    kind: 'change',
    action: 'import',
    resource: 'policy',
    id: 'policy',
    before: { version: base, ...before },
    after: { summary: diff.summary, ...after },
  };
}

const tags = ['Policy'];

export function registerPolicy(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/policy',
      tags,
      summary: 'Export the whole policy',
      description: 'Roles, deny rules, bindings and workloads as one document in canonical order. The ETag is the configuration version: send it as If-Match to `PUT /policy`.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      responses: {
        200: { description: 'The policy document', headers: ETAG_HEADER, content: { 'application/json': { schema: PolicyDocumentSchema } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const state = await rcOf(c).deps.admin.store.state();
      const doc: PolicyExport = exportPolicy(contentOfState(state), state.version);
      return respond(c, doc, { version: Number(state.version) });
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/policy',
      tags,
      summary: 'Import the whole policy',
      description:
        'Replaces the configuration with the document, atomically (one D1 batch with its audit record and the version bump). Needs If-Match with the ETag of `GET /policy` (428 without, 412 when the configuration changed since). `?dry_run=true` returns the diff without applying it (If-Match optional then). A document equal to the current policy changes nothing (no new version).',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: {
        query: z.object({
          dry_run: z.enum(['true', 'false']).optional().openapi({ param: { name: 'dry_run', in: 'query' }, description: 'Only compute the diff' }),
        }),
        headers: IF_MATCH_HEADER,
        body: { content: { 'application/json': { schema: PolicyDocumentSchema } }, required: true },
      },
      responses: {
        200: { description: 'The diff and the resulting version', headers: ETAG_HEADER, content: { 'application/json': { schema: ImportResult } } },
        ...problemResponses(...COMMON_PROBLEMS, 409, 412, 413, 415, 422, 428),
      },
    }),
    async (c) => {
      const dryRun = (c.req.valid('query' as never) as { dry_run?: string }).dry_run === 'true';
      // 428 before 422, as for every other write: the precondition is checked before the content.
      const ifMatch = dryRun && c.req.header('if-match') === undefined ? null : ifMatchVersions(c);
      const body = checkedDocument(c, c.req.valid('json' as never) as PolicyImport);
      const store = rcOf(c).deps.admin.store;
      const stale = () => new TollgateError('precondition-failed', 'the policy has changed since it was read (If-Match does not match its ETag); export it again');
      const candidate = contentOfDocument(body);

      const state = await store.state();
      if (ifMatch !== null && !ifMatch.includes(Number(state.version))) throw stale();
      const diff = diffPolicy(contentOfState(state), candidate);
      validateCandidate(c, state, body);
      if (dryRun || diff.empty) {
        return respond(c, { dry_run: dryRun, changed: false, version: state.version, diff }, { version: Number(state.version) });
      }

      const { version, result } = await services(c).config.write(adminRequest(c), (now) => {
        if (ifMatch === null || !ifMatch.includes(Number(now.version))) throw stale();
        const current = contentOfState(now);
        const d = diffPolicy(current, candidate);
        const ops = importOps(current, candidate);
        services(c).config.validate(applyOps(now, ops));
        return { ops, audit: [importRecord(c, d, now.version)], result: d };
      });
      return respond(c, { dry_run: false, changed: true, version, diff: result }, { version: Number(version) });
    },
  );

  api.all('/policy', () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: 'GET, HEAD, PUT' } });
  });
}
