/**
 * Trusted external issuers (workload identity federation, docs/services.md):
 *
 *   GET    /trusted-issuers         list (auditor)
 *   POST   /trusted-issuers         register (admin): URLs checked (https, no private / loopback addresses),
 *                                   JWKS discovered when neither jwks_uri nor jwks is given
 *   GET    /trusted-issuers/{id}    read, ETag (auditor)
 *   PUT    /trusted-issuers/{id}    replace (If-Match) (admin)
 *   DELETE /trusted-issuers/{id}    delete (If-Match) (admin)
 *
 * Changes reach every gateway isolate within POLICY_REFRESH_SECONDS plus KV's
 * propagation (the same bound as the policy).
 */
import { createTrustedIssuerAdmin, trustedIssuerToWire, type TrustedIssuerAdmin } from '../../../admin/trusted-issuers.js';
import { TollgateError } from '../../../errors.js';
import { EXTERNAL_ALGORITHMS, ISSUER_PRESETS } from '../../../federation/model.js';
import {
  ADMIN_BASE_PATH,
  COMMON_PROBLEMS,
  ETAG_HEADER,
  IF_MATCH_HEADER,
  Id,
  IdParam,
  SECURITY,
  adminRequest,
  createRoute,
  ifMatchVersions,
  noContent,
  perDeployment,
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
    ? createTrustedIssuerAdmin({ store: deps.oauth.issuers, urlPolicy: deps.oauth.urlPolicy, fetch: deps.oauth.fetch, origin: deps.config.origin, nowMs: () => deps.clock.now() })
    : null,
);

function admin(c: AdminContext): TrustedIssuerAdmin {
  const t = built(c);
  if (!t) throw new TollgateError('not-found', 'trusted issuers are not enabled on this gateway');
  return t;
}

const Preset = z.enum(ISSUER_PRESETS as unknown as [string, ...string[]]).openapi('IssuerPreset', {
  description: 'entra (managed / workload identity), github-actions, kubernetes (service account tokens), generic-oidc',
});
const Algorithm = z.enum(EXTERNAL_ALGORITHMS as unknown as [string, ...string[]]).openapi('ExternalAlgorithm', { description: 'Asymmetric only: never none, never HMAC' });
const Rule = z
  .strictObject({
    service: Id.openapi({ description: 'The service id: the principal is service:<id>; bind it to roles with bindings of kind service' }),
    claims: z.record(z.string().min(1).max(64), z.string().min(1).max(512)).openapi({
      description: 'Claim (or preset alias: namespace, service_account, pod for kubernetes) → pattern; * matches any run of characters. All must match.',
      example: { repository: 'octo-org/deploy', ref: 'refs/heads/main' },
    }),
  })
  .openapi('MappingRule');
const PublicJwks = z.strictObject({ keys: z.array(z.record(z.string(), z.unknown())).min(1).max(32) }).openapi('IssuerJwks');

const fields = {
  preset: Preset,
  issuer: z.string().min(1).max(2048).optional().openapi({ description: 'Compared with iss exactly; https (default for github-actions: https://token.actions.githubusercontent.com)' }),
  description: z.string().max(1024).optional(),
  jwks_uri: z.string().min(1).max(2048).optional().openapi({ description: 'https; discovered from <issuer>/.well-known/openid-configuration when neither this nor jwks is given' }),
  jwks: PublicJwks.optional().openapi({ description: 'Inline public keys (instead of jwks_uri)' }),
  audiences: z.array(z.string().min(1).max(512)).min(1).max(10).openapi({ description: 'The token’s aud must contain one of these', example: ['api://tollgate'] }),
  algorithms: z.array(Algorithm).min(1).max(10).optional(),
  max_lifetime_seconds: z.int().min(60).max(172800).optional().openapi({ description: 'Longest accepted exp − iat' }),
  rules: z.array(Rule).min(1).max(100),
  disabled: z.boolean().optional(),
};

const Create = z.strictObject({ id: Id, ...fields }).openapi('TrustedIssuerCreate');
const Update = z.strictObject({ id: Id.optional().openapi({ description: 'If present, must equal the id in the path' }), ...fields }).openapi('TrustedIssuerUpdate');
const Issuer = z
  .object({
    id: z.string(),
    preset: Preset,
    issuer: z.string(),
    description: z.string(),
    jwks_uri: z.string().nullable(),
    jwks: PublicJwks.nullable(),
    audiences: z.array(z.string()),
    algorithms: z.array(Algorithm),
    max_lifetime_seconds: z.int(),
    rules: z.array(Rule),
    disabled: z.boolean(),
    created_at: z.int(),
    updated_at: z.int(),
    version: z.int(),
  })
  .openapi('TrustedIssuer');

const tags = ['Trusted issuers'];
const json = <T extends z.ZodType>(schema: T) => ({ content: { 'application/json': { schema } }, required: true as const });

type Input = Parameters<TrustedIssuerAdmin['create']>[1];

export function registerTrustedIssuers(api: AdminApi): void {
  api.openapi(
    createRoute({
      method: 'get',
      path: '/trusted-issuers',
      tags,
      summary: 'List trusted issuers',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { query: z.object({ ...pageQuery }) },
      responses: {
        200: { description: 'A page of trusted issuers', content: { 'application/json': { schema: pageSchema('TrustedIssuerPage', Issuer) } } },
        ...problemResponses(...COMMON_PROBLEMS),
      },
    }),
    async (c) => {
      const page = await admin(c).list(pageArgs('trusted-issuer', c.req.valid('query')));
      return respond(c, pageBody('trusted-issuer', page, (t) => t.id, trustedIssuerToWire));
    },
  );

  api.openapi(
    createRoute({
      method: 'post',
      path: '/trusted-issuers',
      tags,
      summary: 'Register a trusted issuer',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { body: json(Create) },
      responses: {
        201: { description: 'The issuer as stored', headers: { ...ETAG_HEADER, Location: { schema: { type: 'string' as const } } }, content: { 'application/json': { schema: Issuer } } },
        ...problemResponses(...COMMON_PROBLEMS, 409, 413, 415, 422),
      },
    }),
    async (c) => {
      const { id, ...input } = c.req.valid('json');
      const t = await admin(c).create(id, input as Input, adminRequest(c));
      return respond(c, trustedIssuerToWire(t), { status: 201, version: t.version, location: `${ADMIN_BASE_PATH}/trusted-issuers/${encodeURIComponent(id)}` });
    },
  );

  api.openapi(
    createRoute({
      method: 'get',
      path: '/trusted-issuers/{id}',
      tags,
      summary: 'Get a trusted issuer',
      security: SECURITY,
      middleware: [requirePermission('auditor')] as const,
      request: { params: IdParam },
      responses: {
        200: { description: 'The issuer', headers: ETAG_HEADER, content: { 'application/json': { schema: Issuer } } },
        ...problemResponses(...COMMON_PROBLEMS, 404),
      },
    }),
    async (c) => {
      const t = await admin(c).get(c.req.valid('param').id);
      return respond(c, trustedIssuerToWire(t), { version: t.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'put',
      path: '/trusted-issuers/{id}',
      tags,
      summary: 'Replace a trusted issuer',
      description: 'Needs If-Match with the ETag as read.',
      security: SECURITY,
      middleware: [requirePermission('admin')] as const,
      request: { params: IdParam, headers: IF_MATCH_HEADER, body: json(Update) },
      responses: {
        200: { description: 'The issuer as stored', headers: ETAG_HEADER, content: { 'application/json': { schema: Issuer } } },
        ...problemResponses(...COMMON_PROBLEMS, 404, 409, 412, 413, 415, 422, 428),
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      const { id: bodyId, ...input } = c.req.valid('json');
      if (bodyId !== undefined && bodyId !== id) throw validationError([{ path: ['id'], message: 'must equal the id in the path (ids cannot be changed)' }], 'json');
      const t = await admin(c).update(id, input as Input, ifMatchVersions(c), adminRequest(c));
      return respond(c, trustedIssuerToWire(t), { version: t.version });
    },
  );

  api.openapi(
    createRoute({
      method: 'delete',
      path: '/trusted-issuers/{id}',
      tags,
      summary: 'Delete a trusted issuer',
      description: 'Its tokens are refused within the propagation bound. Needs If-Match.',
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
  api.all('/trusted-issuers', allow('GET, HEAD, POST'));
  api.all('/trusted-issuers/:id', allow('GET, HEAD, PUT, DELETE'));
}
