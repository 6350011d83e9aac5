/**
 * Service accounts: the OAuth clients of `POST /oauth/token` (docs/services.md).
 *
 *   GET    /service-accounts                      list (auditor)
 *   POST   /service-accounts                      create → 201 with `client_secret`, shown this once (admin)
 *   GET    /service-accounts/{id}                 read, ETag (auditor)
 *   PUT    /service-accounts/{id}                 update, disable / enable (If-Match) (admin)
 *   POST   /service-accounts/{id}/rotate-secret   new secret, old one valid until a given time (If-Match) (admin)
 *   DELETE /service-accounts/{id}                 delete (If-Match) (admin)
 *
 * Disabling or deleting revokes every token of the account at every gateway
 * isolate within REVOCATION_CACHE_SECONDS (RevocationLedger).
 */
import { createServiceAccountAdmin, serviceAccountToWire, type ServiceAccountAdmin } from '../../../admin/service-accounts.js';
import { TollgateError } from '../../../errors.js';
import {
  ADMIN_BASE_PATH,
  COMMON_PROBLEMS,
  ETAG_HEADER,
  IF_MATCH_HEADER,
  IdParam,
  Id,
  SECURITY,
  adminRequest,
  createRoute,
  ifMatchVersions,
  noContent,
  perDeployment,
  now,
  pageArgs,
  pageBody,
  pageQuery,
  pageSchema,
  problemResponses,
  requirePermission,
  respond,
  validationError,
  z,
  type AdminApi,
  type AdminContext,
} from '../framework.js';

const built = perDeployment((deps) =>
  deps.oauth
    ? createServiceAccountAdmin({ store: deps.oauth.accounts, principals: deps.oauth.principals, random: deps.random, nowMs: () => deps.clock.now() })
    : null,
);

function admin(c: AdminContext): ServiceAccountAdmin {
  const a = built(c);
  if (!a) throw new TollgateError('not-found', 'service accounts are not enabled on this gateway');
  return a;
}

const epochSeconds = z.int().min(0).max(253402300799).openapi({ description: 'Unix time, seconds' });
const AuthMethod = z.enum(['client_secret_basic', 'client_secret_post', 'private_key_jwt']).openapi('ClientAuthMethod');
const GrantType = z.enum(['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange']).openapi('ServiceGrantType');
const Jwk = z.record(z.string(), z.unknown()).openapi('PublicJwk', { description: 'A public JWK (RSA ≥ 2048 bits, EC, OKP) with a kid; private members are refused' });
const Jwks = z.strictObject({ keys: z.array(Jwk).min(1).max(16) }).openapi('PublicJwks');

const fields = {
  name: z.string().max(256).optional(),
  description: z.string().max(1024).optional(),
  disabled: z.boolean().optional().openapi({ description: 'A disabled account cannot get tokens, and its tokens are refused everywhere within REVOCATION_CACHE_SECONDS' }),
  expires_at: epochSeconds.nullable().optional().openapi({ description: 'The account stops authenticating then; tokens never outlive it' }),
  token_endpoint_auth_methods: z.array(AuthMethod).min(1).max(3).optional().openapi({ description: 'Default: the two secret methods, plus private_key_jwt when jwks is given' }),
  grant_types: z.array(GrantType).min(1).max(2).optional().openapi({ description: 'Grant types this client may use (default both); another one is unauthorized_client' }),
  jwks: Jwks.nullable().optional().openapi({ description: 'Public keys for private_key_jwt' }),
  rate_limit_per_minute: z.int().min(1).max(100000).nullable().optional().openapi({ description: 'Token requests per minute for this client (default TOKEN_RATE_LIMIT_PER_MINUTE)' }),
};

const Create = z.strictObject({ id: Id, ...fields }).openapi('ServiceAccountCreate');
const Update = z.strictObject({ id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }), ...fields }).openapi('ServiceAccountUpdate');
const Rotate = z
  .strictObject({
    previous_secret_expires_at: epochSeconds.optional().openapi({ description: 'Until when the old secret keeps working (overlap, at most 30 days); default now' }),
    revoke_tokens: z.boolean().optional().openapi({ description: 'Also revoke every token issued so far' }),
  })
  .openapi('ServiceAccountRotate');

const Account = z
  .object({
    id: z.string(),
    client_id: z.string(),
    name: z.string(),
    description: z.string(),
    disabled: z.boolean(),
    expires_at: z.int().nullable(),
    token_endpoint_auth_methods: z.array(AuthMethod),
    grant_types: z.array(GrantType),
    jwks: Jwks.nullable(),
    rate_limit_per_minute: z.int().nullable(),
    secret: z.object({ created_at: z.int(), previous_expires_at: z.int().nullable() }).nullable(),
    created_at: z.int(),
    updated_at: z.int(),
    version: z.int(),
  })
  .openapi('ServiceAccount');
const WithSecret = Account.extend({
  client_secret: z.string().openapi({ description: 'Shown once: store it now. Only its SHA-256 is kept.' }),
}).openapi('ServiceAccountWithSecret');

const tags = ['Service accounts'];
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true as const });
const location = (id: string) => `${ADMIN_BASE_PATH}/service-accounts/${encodeURIComponent(id)}`;

export function registerServiceAccounts(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/service-accounts',
      tags,
      summary: 'List service accounts',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { query: z.object({ ...pageQuery }) },
      responses: {
        200: { description: 'A page of service accounts', content: { 'application/json': { schema: pageSchema('ServiceAccountPage', Account) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const page = await admin(c).list(pageArgs('service-account', c.req.valid('query')));
      const t = now(c);
      return respond(c, pageBody('service-account', page, (a) => a.id, (a) => serviceAccountToWire(a, t)));
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/service-accounts',
      tags,
      summary: 'Create a service account',
      description: 'The response carries `client_secret` (when a secret method is allowed): shown this once, stored only as a SHA-256 hash.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { body: json(Create) },
      responses: {
        201: { description: 'The account and its secret', headers: { ...ETAG_HEADER, Location: { schema: { type: 'string' as const } } }, content: { 'application/json': { schema: WithSecret } } },
        ...problemResponses(...COMMON_PROBLEMS, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const { id, ...input } = c.req.valid('json');
      const { account, secret } = await admin(c).create(id, input, adminRequest(c));
      const body = { ...serviceAccountToWire(account, now(c)), ...(secret !== undefined ? { client_secret: secret } : {}) };
      return respond(c, body, { status: 201, version: account.version, location: location(id) });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/service-accounts/{id}',
      tags,
      summary: 'Get a service account',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { params: IdParam },
      responses: {
        200: { description: 'The account (never its secret)', headers: ETAG_HEADER, content: { 'application/json': { schema: Account } } },
        ...problemResponses(...COMMON_PROBLEMS, 404),
      },
    }),
    async (c) => {
      const a = await admin(c).get(c.req.valid('param').id);
      return respond(c, serviceAccountToWire(a, now(c)), { version: a.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/service-accounts/{id}',
      tags,
      summary: 'Update, disable or enable a service account',
      description: 'Fields left out keep their value. `disabled: true` revokes every token of the account. Needs If-Match.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER, body: json(Update) },
      responses: {
        200: { description: 'The account as stored', headers: ETAG_HEADER, content: { 'application/json': { schema: Account } } },
        ...problemResponses(...COMMON_PROBLEMS, 404, 412, 413, 415, 422, 428),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { id: bodyId, ...input } = c.req.valid('json');
      if (bodyId !== undefined && bodyId !== id) throw validationError([{ path: ['id'], message: 'must equal the id in the path (ids cannot be changed)' }], 'json');
      const a = await admin(c).update(id, input, ifMatchVersions(c), adminRequest(c));
      return respond(c, serviceAccountToWire(a, now(c)), { version: a.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/service-accounts/{id}/rotate-secret',
      tags,
      summary: 'Rotate the client secret',
      description: 'A new secret (shown once). The old one keeps working until `previous_secret_expires_at` (default: now). Needs If-Match.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER, body: { content: { 'application/json': { schema: Rotate } }, required: false } },
      responses: {
        200: { description: 'The account and its new secret', headers: ETAG_HEADER, content: { 'application/json': { schema: WithSecret } } },
        ...problemResponses(...COMMON_PROBLEMS, 404, 412, 413, 415, 422, 428),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const input = (c.req.valid('json') as z.infer<typeof Rotate> | undefined) ?? {};
      const { account, secret } = await admin(c).rotateSecret(id, input, ifMatchVersions(c), adminRequest(c));
      return respond(c, { ...serviceAccountToWire(account, now(c)), client_secret: secret }, { version: account.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/service-accounts/{id}',
      tags,
      summary: 'Delete a service account',
      description: 'Revokes every token of the account. Needs If-Match.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER },
      responses: {
        204: { description: 'Deleted' },
        ...problemResponses(...COMMON_PROBLEMS, 404, 412, 428),
      },
    }),
    async (c) => {
      await admin(c).remove(c.req.valid('param').id, ifMatchVersions(c), adminRequest(c));
      return noContent();
    },
  );

  const allow = (methods: string) => () => {
    throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow: methods } });
  };
  api.all('/service-accounts', allow('GET, HEAD, POST'));
  api.all('/service-accounts/:id', allow('GET, HEAD, PUT, DELETE'));
  api.all('/service-accounts/:id/rotate-secret', allow('POST'));
}
