/**
 * Sessions: list (by user), get, revoke one (DELETE with If-Match), revoke
 * all of a user's (`POST /sessions:revoke`). Revocation goes through the
 * RevocationLedger Durable Object and marks the D1 row, with an audit record
 * (src/admin/sessions.ts).
 */
import { sessionToWire, sessionVersion } from '../../../admin/index.js';
import { TollgateError } from '../../../errors.js';
import {
  COMMON_PROBLEMS,
  ETAG_HEADER,
  IF_MATCH_HEADER,
  SECURITY,
  adminRequest,
  createRoute,
  ifMatchVersions,
  now,
  pageArgs,
  pageBody,
  pageQuery,
  pageSchema,
  problemResponses,
  requirePermission,
  respond,
  services,
  z,
  type AdminApi,
} from '../framework.js';

const SessionId = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'must be a session id' });
const Subject = z.string().min(1).max(512).openapi({ example: 'user:Xy3…:alice', description: 'Tollgate subject (`user:<h>:<sub>`)' });

const Session = z
  .object({
    id: z.string(),
    subject: z.string(),
    email: z.string().nullable(),
    created_at: z.int(),
    expires_at: z.int(),
    revoked_at: z.int().nullable(),
    active: z.boolean(),
    version: z.int(),
  })
  .openapi('Session');

const tags = ['Sessions'];

export function registerSessions(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/sessions',
      tags,
      summary: 'List sessions',
      description: 'Ordered by id; filter by `subject` and `active`.',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: {
        query: z.strictObject({
          ...pageQuery,
          subject: Subject.optional().openapi({ param: { name: 'subject', in: 'query' } }),
          active: z.enum(['true', 'false']).optional().openapi({ param: { name: 'active', in: 'query' }, description: 'true: only sessions neither revoked nor expired' }),
        }),
      },
      responses: {
        200: { description: 'A page of sessions', content: { 'application/json': { schema: pageSchema('SessionPage', Session) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const q = c.req.valid('query');
      const t = now(c);
      const page = await services(c).sessions.list(pageArgs('session', q), {
        ...(q.subject !== undefined ? { subject: q.subject } : {}),
        ...(q.active === 'true' ? { activeAt: t } : {}),
      });
      return respond(c, pageBody('session', page, (s) => s.id, (s) => ({ ...sessionToWire(s, t), version: sessionVersion(s) })));
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/sessions:revoke',
      tags,
      summary: 'Revoke all active sessions of a user',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { body: { content: { 'application/json': { schema: z.strictObject({ subject: Subject }).openapi('RevokeAll') } }, required: true } },
      responses: {
        200: {
          description: 'The sessions revoked now',
          content: { 'application/json': { schema: z.object({ subject: z.string(), revoked: z.array(z.string()) }).openapi('RevokeAllResult') } },
        },
        ...problemResponses(...COMMON_PROBLEMS, 413, 415),
      },
    }),
    async (c) => {
      const { subject } = c.req.valid('json');
      const revoked = await services(c).sessions.revokeAll(subject, adminRequest(c));
      return respond(c, { subject, revoked });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}',
      tags,
      summary: 'Get a session',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { params: z.object({ id: SessionId.openapi({ param: { name: 'id', in: 'path' } }) }) },
      responses: {
        200: { description: 'The session', headers: ETAG_HEADER, content: { 'application/json': { schema: Session } } },
        ...problemResponses(...COMMON_PROBLEMS, 404),
      },
    }),
    async (c) => {
      const s = await services(c).sessions.get(c.req.valid('param').id);
      return respond(c, { ...sessionToWire(s, now(c)), version: sessionVersion(s) }, { version: sessionVersion(s) });
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/sessions/{id}',
      tags,
      summary: 'Revoke a session',
      description: 'Needs If-Match with the ETag as read (`"1"` while active). The session ends at every gateway isolate within REVOCATION_CACHE_SECONDS.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: z.object({ id: SessionId.openapi({ param: { name: 'id', in: 'path' } }) }), headers: IF_MATCH_HEADER },
      responses: {
        200: { description: 'The revoked session', headers: ETAG_HEADER, content: { 'application/json': { schema: Session } } },
        ...problemResponses(...COMMON_PROBLEMS, 404, 412, 428),
      },
    }),
    async (c) => {
      const id = c.req.valid('param').id;
      const s = await services(c).sessions.revoke(id, ifMatchVersions(c), adminRequest(c));
      return respond(c, { ...sessionToWire(s, now(c)), version: sessionVersion(s) }, { version: sessionVersion(s) });
    },
  );

  const allow = (methods: string) => () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: methods } });
  };
  api.all('/sessions', allow('GET, HEAD'));
  api.all('/sessions:revoke', allow('POST'));
  api.all('/sessions/:id', allow('GET, HEAD, DELETE'));
}
