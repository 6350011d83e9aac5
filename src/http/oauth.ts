/**
 * The OAuth endpoints on the gateway origin (docs/services.md):
 *
 *   GET  /.well-known/oauth-authorization-server   RFC 8414 metadata
 *   POST /oauth/token                              client_credentials, token exchange
 *   POST /oauth/introspect                         RFC 7662, for admins and the token's own client
 *
 * Errors at the token and introspection endpoints are RFC 6749 §5.2 JSON
 * (`error`, `error_description`) — `application/json`, as OAuth clients
 * require — with the request id and the problem members (`type`, `title`,
 * `status`, `detail`) beside them. `invalid_client` is 401 with
 * `WWW-Authenticate: Basic realm="tollgate"`; a rate-limited client gets 429
 * problem+json with `Retry-After` (DESIGN §2). Every answer is `no-store`.
 */
import { Hono } from 'hono';
import type { TokenEvent } from '../audit/index.js';
import { TollgateError, isTollgateError } from '../errors.js';
import {
  authenticateClient,
  authorizationServerMetadata,
  handleTokenRequest,
  introspect,
  oauthCodeOf,
  readOAuthForm,
  type Introspector,
  type OAuthService,
} from '../oauth/index.js';
import { decisionSubject, holds } from '../admin/index.js';
import { permissionsOf } from '../policy/index.js';
import { accessTokenKeys, verifyAccessToken } from '../token/index.js';
import { adminAudience } from './admin/auth.js';
import { nowSeconds, type HttpBindings, type RequestContext } from './context.js';
import { PROBLEM_BASE, errorResponse, statusOf } from './problem.js';

const IP = /^[0-9a-fA-F:.]{2,45}$/;

const TITLES: Record<number, string> = { 400: 'Bad request', 401: 'Client authentication failed', 403: 'Access denied', 429: 'Too many requests', 500: 'Internal error' };

/** The client's IP and edge country, as the workload path reads them. */
export function clientFacts(request: Request, wantCountry = true): { ip?: string; country?: string } {
  const raw = request.headers.get('cf-connecting-ip');
  const out: { ip?: string; country?: string } = {};
  if (raw !== null && IP.test(raw)) out.ip = raw;
  // `request.cf` is materialised as a whole object on first access: skip it unless a decision needs the country.
  if (wantCountry) {
    const cf = (request as Request & { cf?: { country?: unknown } }).cf;
    if (typeof cf?.country === 'string' && /^[A-Z]{2}$/.test(cf.country)) out.country = cf.country;
  }
  return out;
}

/** An OAuth error response for any error (unexpected ones are `server_error` 500, logged by name only). */
export function oauthErrorResponse(rc: RequestContext, err: unknown): Response {
  let code = oauthCodeOf(err);
  let status: number;
  let description: string;
  if (code !== undefined && isTollgateError(err)) {
    status = statusOf(err.code);
    description = err.message;
  } else if (isTollgateError(err) && err.code !== 'internal' && err.code !== 'config-invalid' && statusOf(err.code) < 500) {
    status = statusOf(err.code);
    code = status === 401 ? 'invalid_client' : 'invalid_request';
    description = err.message;
  } else {
    status = 500;
    code = 'server_error';
    description = 'Something went wrong on our side. Quote the request id if you report it.';
  }
  const details = isTollgateError(err) ? err.details : {};
  const log = status >= 500 ? rc.deps.logger.error : rc.deps.logger.info;
  log('oauth-refused', {
    request_id: rc.requestId,
    error: code,
    status,
    ...(typeof details.logReason === 'string' ? { reason: details.logReason } : {}),
    ...(status >= 500 ? { causes: causeNames(err) } : {}),
  });
  rc.log.oauth_error = code;
  const headers = new Headers({
    'content-type': status === 429 ? 'application/problem+json' : 'application/json',
    'cache-control': 'no-store',
    pragma: 'no-cache',
    'tollgate-request-id': rc.requestId,
  });
  if (status === 401) headers.set('www-authenticate', code === 'invalid_token' ? 'Bearer realm="tollgate", error="invalid_token"' : 'Basic realm="tollgate"');
  if (status === 429 && typeof details.retryAfter === 'number') headers.set('retry-after', String(details.retryAfter));
  const body: Record<string, unknown> = {
    error: code,
    error_description: description,
    type: `${PROBLEM_BASE}${status === 429 ? 'rate-limited' : `oauth-${code.replace(/_/g, '-')}`}`,
    title: TITLES[status] ?? 'Error',
    status,
    detail: description,
    request_id: rc.requestId,
  };
  if (isTollgateError(err) && err.reasons.length > 0) body.reasons = err.reasons;
  return new Response(JSON.stringify(body), { status, headers });
}

function causeNames(err: unknown): string[] {
  const names: string[] = [];
  for (let e = err, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) names.push(e.name);
  return names;
}

function json(rc: RequestContext, body: unknown, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status: 200,
    headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache', 'tollgate-request-id': rc.requestId, ...extra },
  });
}

function methodNotAllowed(allow: string): never {
  throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow } });
}

function serviceOf(rc: RequestContext): OAuthService {
  const s = rc.deps.oauth;
  if (!s) throw new TollgateError('not-found', 'there is nothing here');
  return s;
}

/** Admin bearer for introspection: an admin access token whose principal holds auditor or admin. */
async function adminIntrospector(rc: RequestContext, authorization: string): Promise<Introspector> {
  const m = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i.exec(authorization);
  if (!m) throw new TollgateError('unauthenticated', 'malformed Authorization header');
  const { deps } = rc;
  let claims;
  try {
    claims = await verifyAccessToken(m[1]!, accessTokenKeys(deps.keyRing), { issuer: deps.config.origin, audience: adminAudience(deps.config.origin), now: deps.clock.now() });
  } catch {
    throw new TollgateError('unauthenticated', 'the admin token is not valid', { details: { oauthError: 'invalid_token' } });
  }
  const snapshot = await deps.snapshots.get();
  const permissions = permissionsOf(snapshot.policy, decisionSubject(claims.sub, claims.email, claims.groups), nowSeconds(deps));
  if (!holds({ subject: claims.sub, via: 'token', groups: claims.groups, permissions }, 'auditor')) {
    throw new TollgateError('forbidden', 'introspection needs the auditor or admin permission', { details: { oauthError: 'invalid_token' } });
  }
  return { kind: 'admin', subject: claims.sub };
}

export function oauthRoutes(): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.onError((err, c) => {
    const rc = c.env.rc;
    // Routing answers (404, 405) are the gateway's ordinary problems; everything else speaks OAuth.
    if (isTollgateError(err) && (err.code === 'not-found' || err.code === 'method-not-allowed')) {
      return errorResponse(err, { requestId: rc.requestId, browser: rc.browser, logger: rc.deps.logger });
    }
    return oauthErrorResponse(rc, err);
  });

  app.get('/.well-known/oauth-authorization-server', (c) => {
    const rc = c.env.rc;
    rc.log.route = 'oauth-metadata';
    serviceOf(rc);
    return new Response(JSON.stringify(authorizationServerMetadata(rc.deps.config.origin)), {
      headers: { 'content-type': 'application/json', 'cache-control': 'public, max-age=300', 'tollgate-request-id': rc.requestId },
    });
  });

  app.post('/oauth/token', async (c) => {
    const rc = c.env.rc;
    rc.log.route = 'oauth-token';
    const oauth = serviceOf(rc);
    const form = await readOAuthForm(rc.request);
    const snapshot = await rc.deps.snapshots.get();
    const body = await handleTokenRequest(form, rc.request.headers.get('authorization'), {
      oauth,
      origin: rc.deps.config.origin,
      scheme: rc.deps.config.scheme,
      keyRing: rc.deps.keyRing,
      clock: rc.deps.clock,
      random: rc.deps.random,
      logger: rc.deps.logger,
      snapshot,
      assertionTtlSeconds: rc.deps.config.assertionTtlSeconds,
      requestId: rc.requestId,
      ...clientFacts(rc.request),
      audit: (event: TokenEvent) => rc.deps.audit.record(event, rc.waitUntil),
    });
    rc.log.oauth_issued = body.issued_token_type ?? 'access_token';
    return json(rc, body);
  });

  app.post('/oauth/introspect', async (c) => {
    const rc = c.env.rc;
    rc.log.route = 'oauth-introspect';
    const oauth = serviceOf(rc);
    const form = await readOAuthForm(rc.request);
    const authorization = rc.request.headers.get('authorization');
    let who: Introspector;
    if (authorization !== null && /^Bearer /i.test(authorization)) {
      if (form.has('client_secret') || form.has('client_assertion')) throw new TollgateError('bad-request', 'use exactly one way to authenticate', { details: { oauthError: 'invalid_request' } });
      who = await adminIntrospector(rc, authorization);
    } else {
      const { client } = await authenticateClient(authorization, form, {
        accounts: oauth.accounts,
        limiter: oauth.limiter,
        now: rc.deps.clock.now(),
        audiences: [`${rc.deps.config.origin}/oauth/introspect`, `${rc.deps.config.origin}/oauth/token`, rc.deps.config.origin, `${rc.deps.config.origin}/`],
      });
      if (!client) throw new TollgateError('unauthenticated', 'introspection needs client authentication or an admin token', { details: { oauthError: 'invalid_client' } });
      who = { kind: 'client', client };
    }
    const token = form.get('token');
    if (token === undefined) throw new TollgateError('bad-request', 'token is required', { details: { oauthError: 'invalid_request' } });
    const snapshot = await rc.deps.snapshots.get();
    rc.log.introspector = who.kind === 'admin' ? who.subject : `service:${who.client.account.id}`;
    return json(rc, await introspect(token, who, { oauth, origin: rc.deps.config.origin, keyRing: rc.deps.keyRing, snapshot, now: rc.deps.clock.now() }));
  });

  app.all('/.well-known/oauth-authorization-server', () => methodNotAllowed('GET, HEAD'));
  app.all('/oauth/token', () => methodNotAllowed('POST'));
  app.all('/oauth/introspect', () => methodNotAllowed('POST'));
  app.all('*', () => {
    throw new TollgateError('not-found', 'there is nothing here');
  });
  return app;
}
