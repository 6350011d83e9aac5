/**
 * CRUD for the configuration resources — roles, bindings, deny rules,
 * workloads — from one description each. List (cursor pages), get (ETag),
 * create (POST, 201 + Location + ETag), update (PUT, If-Match), delete
 * (If-Match, 204). Every change: compile()-checked, committed with its audit
 * record in one batch, then published (src/admin/config.ts).
 */
import { fromWire, toWire, type WireKinds } from '../../../admin/index.js';
import type { ConfigKind } from '../../../store/index.js';
import { TollgateError } from '../../../errors.js';
import * as S from '../schemas.js';
import {
  ADMIN_BASE_PATH,
  COMMON_PROBLEMS,
  ETAG_HEADER,
  IF_MATCH_HEADER,
  IdParam,
  SECURITY,
  adminRequest,
  createRoute,
  ifMatchVersions,
  noContent,
  pageArgs,
  pageBody,
  pageQuery,
  pageSchema,
  problemResponses,
  rcOf,
  requirePermission,
  respond,
  services,
  validationError,
  z,
  type AdminApi,
  type AdminContext,
} from '../framework.js';

interface ResourceSpec {
  kind: ConfigKind;
  /** Path segment under /admin/v1, e.g. "/roles". */
  path: string;
  /** Singular and plural names for summaries. */
  one: string;
  many: string;
  create: z.ZodType;
  update: z.ZodType;
  item: z.ZodType;
  /** OpenAPI schema name of a page. */
  pageName: string;
  /** Prefix of generated ids (when the body may omit `id`). */
  idPrefix?: string;
  /** Extra list filters (query parameters, already validated) → store filter. */
  listQuery?: Record<string, z.ZodType>;
  listFilter?: (q: Record<string, string | undefined>) => Record<string, string | undefined>;
  description: string;
}

const SPECS: ResourceSpec[] = [
  {
    kind: 'role',
    path: '/roles',
    one: 'role',
    many: 'roles',
    create: S.RoleCreate,
    update: S.RoleUpdate,
    item: S.Role,
    pageName: 'RolePage',
    description: 'Roles hold grants (workload, methods, path globs, conditions) and may hold the admin permissions `admin` and `auditor`.',
  },
  {
    kind: 'binding',
    path: '/bindings',
    one: 'binding',
    many: 'bindings',
    create: S.BindingCreate,
    update: S.BindingUpdate,
    item: S.Binding,
    pageName: 'BindingPage',
    idPrefix: 'b-',
    listQuery: {
      role_id: S.Id.optional().openapi({ param: { name: 'role_id', in: 'query' }, description: 'Only bindings to this role' }),
      subject: z.string().min(1).max(256).optional().openapi({ param: { name: 'subject', in: 'query' }, description: 'Only bindings of this subject value' }),
    },
    listFilter: (q) => ({ roleId: q.role_id, subject: q.subject }),
    description: 'Bindings attach a subject (user, email, group, service) to a role, optionally only from `not_before` until `expires_at` (just-in-time access).',
  },
  {
    kind: 'deny-rule',
    path: '/deny-rules',
    one: 'deny rule',
    many: 'deny rules',
    create: S.DenyRuleCreate,
    update: S.DenyRuleUpdate,
    item: S.DenyRule,
    pageName: 'DenyRulePage',
    idPrefix: 'd-',
    description: 'Deny rules select subjects by their own selector and win over any grant.',
  },
  {
    kind: 'workload',
    path: '/workloads',
    one: 'workload',
    many: 'workloads',
    create: S.WorkloadCreate,
    update: S.WorkloadUpdate,
    item: S.Workload,
    pageName: 'WorkloadPage',
    description: 'Workloads: the host names the gateway serves them on and the endpoints it forwards to.',
  },
];

function wireOf(kind: ConfigKind, value: unknown, version: number): unknown {
  return { ...(toWire[kind] as (v: unknown) => object)(value), version };
}

function domainOf(kind: ConfigKind, wire: unknown): never {
  return (fromWire[kind] as (w: unknown) => never)(wire);
}

function newId(c: AdminContext, prefix: string): string {
  // Base64url may start with "-" or "_": the prefix keeps ids within ID_PATTERN.
  return `${prefix}${rcOf(c).deps.random.id(12)}`;
}

function register(api: AdminApi, spec: ResourceSpec): void {
  const { kind, path, one, many } = spec;
  const list = kind;
  const tags = [many[0]!.toUpperCase() + many.slice(1)];
  const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } }, required: true });
  const itemPath = `${path}/{id}`;
  const location = (id: string) => `${ADMIN_BASE_PATH}${path}/${encodeURIComponent(id)}`;

  api.openapi(
    createRoute({
      method: 'get',
      path,
      tags,
      summary: `List ${many}`,
      description: `${spec.description} Ordered by id; cursor pages.`,
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      // Strict: a misspelt filter (?role=…) is a 400, not an unfiltered list.
      request: { query: z.strictObject({ ...pageQuery, ...(spec.listQuery ?? {}) }) },
      responses: {
        200: { description: `A page of ${many}`, content: { 'application/json': { schema: pageSchema(spec.pageName, spec.item) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const q = c.req.valid('query' as never) as Record<string, string | undefined>;
      const page = await services(c).config.list(kind, pageArgs(list, q), (spec.listFilter ? spec.listFilter(q) : undefined) as never);
      return respond(c, pageBody(list, page, (v) => v.value.id, (v) => wireOf(kind, v.value, v.version)));
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path,
      tags,
      summary: `Create a ${one}`,
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { body: json(spec.create) },
      responses: {
        201: { description: `The ${one} as stored`, headers: { ...ETAG_HEADER, Location: { schema: { type: 'string' as const } } }, content: { 'application/json': { schema: spec.item } } },
        ...problemResponses(...COMMON_PROBLEMS, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const body = c.req.valid('json' as never) as { id?: string };
      const id = body.id ?? newId(c, spec.idPrefix ?? '');
      const v = await services(c).config.create(kind, domainOf(kind, { ...body, id }), adminRequest(c));
      return respond(c, wireOf(kind, v.value, v.version), { status: 201, version: v.version, location: location(id) });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: itemPath,
      tags,
      summary: `Get a ${one}`,
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { params: IdParam },
      responses: {
        200: { description: `The ${one}`, headers: ETAG_HEADER, content: { 'application/json': { schema: spec.item } } },
        ...problemResponses(...COMMON_PROBLEMS, 404),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param' as never) as { id: string };
      const v = await services(c).config.get(kind, id);
      return respond(c, wireOf(kind, v.value, v.version), { version: v.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: itemPath,
      tags,
      summary: `Replace a ${one}`,
      description: 'Needs If-Match with the ETag as read: 428 without, 412 when the resource changed since.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER, body: json(spec.update) },
      responses: {
        200: { description: `The ${one} as stored`, headers: ETAG_HEADER, content: { 'application/json': { schema: spec.item } } },
        ...problemResponses(...COMMON_PROBLEMS, 404, 409, 412, 413, 415, 422, 428),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param' as never) as { id: string };
      const body = c.req.valid('json' as never) as { id?: string };
      if (body.id !== undefined && body.id !== id) {
        throw validationError([{ path: ['id'], message: 'must equal the id in the path (ids cannot be changed)' }], 'json');
      }
      const ifMatch = ifMatchVersions(c);
      const v = await services(c).config.update(kind, domainOf(kind, { ...body, id }), ifMatch, adminRequest(c));
      return respond(c, wireOf(kind, v.value, v.version), { version: v.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: itemPath,
      tags,
      summary: `Delete a ${one}`,
      description: 'Needs If-Match with the ETag as read: 428 without, 412 when the resource changed since.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER },
      responses: {
        204: { description: 'Deleted' },
        ...problemResponses(...COMMON_PROBLEMS, 404, 409, 412, 428),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param' as never) as { id: string };
      await services(c).config.remove(kind, id, ifMatchVersions(c), adminRequest(c));
      return noContent();
    },
  );

  const allow = (methods: string) => () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: methods } });
  };
  api.all(path, allow('GET, HEAD, POST'));
  api.all(path.concat('/:id'), allow('GET, HEAD, PUT, DELETE'));
}

/** Roles, bindings, deny rules and workloads. */
export function registerConfigResources(api: AdminApi): void {
  for (const spec of SPECS) register(api, spec);
}

export type { WireKinds };
