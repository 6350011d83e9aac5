/**
 * Who may call the admin API (docs/admin-api.md, "Authentication").
 *
 * 1. Bearer: `Authorization: Bearer <jwt>` — a Tollgate access token (RFC 9068,
 *    typ at+jwt) for the audience `<origin>/admin/v1`, verified against the
 *    gateway's own key ring. When an Authorization header is present it is the
 *    only credential considered (a cookie is then ignored for identity).
 * 2. Session: the gateway origin's session cookie, as for /auth/whoami.
 *
 * Cross-site defence (CSRF) for every request that carries a Cookie header,
 * whatever else it carries: `Sec-Fetch-Site`, when sent, must be `same-origin`
 * or `none`; `Origin`, when sent, must be the gateway origin exactly; a
 * request with neither is accepted only for safe methods (GET, HEAD, OPTIONS).
 * Anything else is 403 before authentication.
 *
 * Permissions come from the hot-path snapshot: `permissionsOf(policy, subject,
 * now)` — roles bound to the user, their email or their groups. `admin`
 * includes everything `auditor` may do.
 */
import type { MiddlewareHandler } from 'hono';
import { decisionSubject, holds, type AdminPermission, type Principal } from '../../admin/index.js';
import { TollgateError } from '../../errors.js';
import { permissionsOf } from '../../policy/index.js';
import { accessTokenKeys, verifyAccessToken } from '../../token/index.js';
import { nowSeconds, type RequestContext } from '../context.js';
import { currentSession, refreshedCookie } from '../origin.js';
import { errorResponse } from '../problem.js';
import { redirect } from '../responses.js';
import type { AdminEnv } from './context.js';

/** Path of the admin API on the gateway origin; also the access tokens' audience suffix. */
export const ADMIN_BASE_PATH = '/admin/v1';
const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/** The audience admin access tokens must carry: `<origin>/admin/v1`. */
export function adminAudience(origin: string): string {
  return `${origin}${ADMIN_BASE_PATH}`;
}

/** True when a cookie-carrying request may have come from another site (see the module comment). */
export function isCrossSite(request: Request, origin: string): boolean {
  if (!request.headers.has('cookie')) return false;
  const site = request.headers.get('sec-fetch-site');
  const from = request.headers.get('origin');
  const siteOk = site === 'same-origin' || site === 'none';
  const originOk = from === origin;
  if (site !== null && !siteOk) return true;
  if (from !== null && !originOk) return true;
  return !siteOk && !originOk && !SAFE.has(request.method.toUpperCase());
}

/** Refuse cross-site cookie requests (403) before anything else runs. */
export const crossSiteGuard: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const rc = c.env.rc;
  if (isCrossSite(c.req.raw, rc.deps.config.origin)) {
    rc.log.admin_refused = 'cross-site';
    throw new TollgateError('forbidden', 'cross-site requests to the admin API are refused');
  }
  await next();
};

type Authenticated = { principal: Principal; setCookie?: string } | { response: Response };

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

async function authenticate(rc: RequestContext): Promise<Authenticated> {
  const { deps } = rc;
  const now = nowSeconds(deps);
  const snapshot = await deps.snapshots.get();
  const authz = rc.request.headers.get('authorization');
  if (authz !== null) {
    const m = BEARER.exec(authz);
    if (!m) throw new TollgateError('unauthenticated', 'the Authorization header must be "Bearer <token>"', { reasons: ['no-session'] });
    const claims = await verifyAccessToken(m[1]!, accessTokenKeys(deps.keyRing), {
      issuer: deps.config.origin,
      audience: adminAudience(deps.config.origin),
      now: deps.clock.now(),
    });
    // A service's token (docs/services.md) dies with the service account: the RevocationLedger decides.
    if (claims.sub.startsWith('service:') && !(await deps.oauth?.principals.usable(claims.sub, claims.iat))) {
      throw new TollgateError('unauthenticated', 'the bearer token is not valid', { reasons: ['no-session'] });
    }
    const subject = decisionSubject(claims.sub, claims.email, claims.groups);
    return {
      principal: {
        subject: claims.sub,
        via: 'token',
        groups: claims.groups,
        ...(claims.email ? { email: claims.email } : {}),
        permissions: permissionsOf(snapshot.policy, subject, now),
      },
    };
  }
  const { read, clear } = await currentSession(rc);
  if (read.kind !== 'valid') {
    if (rc.browser && (rc.request.method === 'GET' || rc.request.method === 'HEAD')) {
      // DESIGN §2: a browser navigation without a session goes to sign-in (and comes back here).
      const login = `${deps.config.origin}/auth/login?${new URLSearchParams({ return: rc.url.href })}`;
      return { response: redirect(login, 302, clear) };
    }
    const headers = new Headers();
    for (const cookie of clear) headers.append('set-cookie', cookie);
    const err = new TollgateError('unauthenticated', 'sign in, or send an admin access token as "Authorization: Bearer <token>"', { reasons: ['no-session'] });
    return { response: errorResponse(err, { requestId: rc.requestId, browser: rc.browser, logger: deps.logger }, headers) };
  }
  const claims = read.claims;
  const subject = decisionSubject(claims.sub, claims.email, claims.groups, claims.idpSub);
  const principal: Principal = {
    subject: claims.sub,
    via: 'session',
    groups: claims.groups,
    ...(claims.email ? { email: claims.email } : {}),
    permissions: permissionsOf(snapshot.policy, subject, now),
  };
  return read.refresh ? { principal, setCookie: await refreshedCookie(rc, claims) } : { principal };
}

/**
 * Route middleware: authenticate the caller and require `permission`
 * (`auditor` for reads, queries and simulations; `admin` for changes).
 * 401 (with `WWW-Authenticate: Bearer`) without valid credentials, 403 without
 * the permission. Sets `c.get('principal')`.
 */
export function requirePermission(permission: AdminPermission): MiddlewareHandler<AdminEnv> {
  return async (c, next) => {
    const rc = c.env.rc;
    const auth = await authenticate(rc);
    if ('response' in auth) return auth.response;
    const { principal } = auth;
    rc.log.admin_subject = principal.subject;
    rc.log.admin_via = principal.via;
    if (!holds(principal, permission)) {
      throw new TollgateError('forbidden', `this needs the ${permission} permission, which none of your roles holds`);
    }
    c.set('principal', principal);
    await next();
    if (auth.setCookie !== undefined) c.res.headers.append('set-cookie', auth.setCookie);
    return undefined;
  };
}
