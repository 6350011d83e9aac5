/**
 * Routes on the gateway's own origin (docs/architecture.md "Hosts and routes"):
 * `/auth/*`, `/admin/v1/*` (src/http/admin) and `/.well-known/jwks.json`; everything else 404.
 */
import { Hono } from 'hono';
import {
  B64URL_256,
  safeReturnPath,
  sameOriginReturnUrl,
  sha256b64url,
  type SessionRead,
  type SignInTransaction,
} from '../auth/index.js';
import { sessionEvent } from '../audit/index.js';
import { isAuthority } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import type { SessionClaims } from '../session/index.js';
import type { Binding } from '../policy/index.js';
import { adminRoutes } from './admin/index.js';
import { oauthRoutes } from './oauth.js';
import { clearCookie, cookieValues, serializeCookie } from './cookies.js';
import { nowSeconds, type HttpBindings, type RequestContext } from './context.js';
import { errorResponse } from './problem.js';
import { postButton } from './pages.js';
import { json, page, redirect } from './responses.js';

/** Where a sign-in without a usable `return` lands. */
export const HOME_PATH = '/auth/whoami';
/** The sign-in transaction cookie lives this long (the user has this long at the IdP). */
const AUTH_TX_TTL_SECONDS = 600;
/** Hand-off codes are valid this long (architecture: <= 30 s). */
export const HANDOFF_TTL_SECONDS = 30;
const MAX_QUERY_LENGTH = 4096;

function problem(rc: RequestContext, err: unknown, extra?: Headers): Response {
  return errorResponse(err, { requestId: rc.requestId, browser: rc.browser, logger: rc.deps.logger }, extra);
}

function methodNotAllowed(allow: string): never {
  throw new TollgateError('method-not-allowed', 'this method is not allowed here', { details: { allow } });
}

/** Same-origin check for state-changing POSTs (CSRF): Origin must match; without Origin, Sec-Fetch-Site must say same-origin. */
export function isSameOriginPost(request: Request, expectedOrigin: string): boolean {
  const origin = request.headers.get('origin');
  if (origin !== null) return origin === expectedOrigin;
  return request.headers.get('sec-fetch-site') === 'same-origin';
}

/** Session for the current host, with the cookie to clear when one was refused. */
export async function currentSession(rc: RequestContext): Promise<{ read: SessionRead; clear: string[] }> {
  const { sessions, config } = rc.deps;
  const read = await sessions.read(cookieValues(rc.request.headers.get('cookie'), sessions.names.session), rc.authority);
  const clear = read.kind === 'refused' ? [clearCookie(sessions.names.session, config.secureCookies)] : [];
  return { read, clear };
}

/** The session cookie to re-issue when the idle clock needs a refresh. */
export async function refreshedCookie(rc: RequestContext, claims: SessionClaims): Promise<string> {
  const { sessions, config } = rc.deps;
  const fresh: SessionClaims = { ...claims, seenAt: nowSeconds(rc.deps) };
  return serializeCookie(sessions.names.session, await sessions.seal(fresh), {
    secure: config.secureCookies,
    maxAge: sessions.remaining(fresh),
  });
}

/** No usable session on the gateway origin: browsers go to sign-in, API clients get 401. */
function signInOrUnauthenticated(rc: RequestContext, returnTo: string, clear: string[]): Response {
  const headers = new Headers();
  for (const c of clear) headers.append('set-cookie', c);
  if (rc.browser) {
    const login = `${rc.deps.config.origin}/auth/login?${new URLSearchParams({ return: returnTo })}`;
    return redirect(login, 302, clear);
  }
  return problem(rc, new TollgateError('unauthenticated', 'a valid session is required', { reasons: ['no-session'] }), headers);
}

function bindingApplies(b: Binding, claims: SessionClaims, now: number): boolean {
  if (b.notBefore !== undefined && now < b.notBefore) return false;
  if (b.expiresAt !== undefined && now >= b.expiresAt) return false;
  switch (b.subject.kind) {
    case 'user':
      return b.subject.value === claims.idpSub || b.subject.value === claims.sub;
    case 'email':
      return claims.email !== undefined && b.subject.value.toLowerCase() === claims.email.toLowerCase();
    case 'group':
      return claims.groups.includes(b.subject.value);
    default:
      return false;
  }
}

export function originRoutes(): Hono<{ Bindings: HttpBindings }> {
  const app = new Hono<{ Bindings: HttpBindings }>();

  app.onError((err, c) => problem(c.env.rc, err));
  app.notFound((c) => problem(c.env.rc, new TollgateError('not-found', 'there is nothing here')));

  // --- sign-in --------------------------------------------------------------
  app.get('/auth/login', async (c) => {
    const rc = c.env.rc;
    const { config, oidc, codec, sessions } = rc.deps;
    rc.log.route = 'auth-login';
    const returnTo = sameOriginReturnUrl(rc.url.searchParams.get('return'), config.origin) ?? `${config.origin}${HOME_PATH}`;
    const { url, tx } = await oidc.startSignIn(returnTo);
    const sealed = await codec.seal('auth-tx', tx, AUTH_TX_TTL_SECONDS, nowSeconds(rc.deps));
    return redirect(url.href, 302, [
      serializeCookie(sessions.names.authTx, sealed, { secure: config.secureCookies, maxAge: AUTH_TX_TTL_SECONDS }),
    ]);
  });
  app.all('/auth/login', () => methodNotAllowed('GET, HEAD'));

  app.get('/auth/callback', async (c) => {
    const rc = c.env.rc;
    const { config, oidc, codec, sessions, logger } = rc.deps;
    rc.log.route = 'auth-callback';
    // The transaction cookie is single use: cleared whatever happens next.
    const clearTx = clearCookie(sessions.names.authTx, config.secureCookies);
    const clearHeaders = new Headers({ 'set-cookie': clearTx });
    if (rc.url.search.length > MAX_QUERY_LENGTH) {
      return problem(rc, new TollgateError('bad-request', 'the sign-in response is malformed'), clearHeaders);
    }
    let tx: SignInTransaction | null = null;
    for (const value of cookieValues(rc.request.headers.get('cookie'), sessions.names.authTx).slice(0, 4)) {
      tx = await codec.open<SignInTransaction>('auth-tx', value, nowSeconds(rc.deps));
      if (tx) break;
    }
    if (!tx || typeof tx.state !== 'string' || typeof tx.nonce !== 'string' || typeof tx.verifier !== 'string') {
      return problem(
        rc,
        new TollgateError('bad-request', 'This sign-in expired or was started in another browser. Start again.'),
        clearHeaders,
      );
    }
    let identity;
    try {
      identity = await oidc.completeSignIn(rc.url.searchParams, tx);
    } catch (err) {
      return problem(rc, err, clearHeaders);
    }
    const { claims, sealed } = await sessions.create(identity, config.originAuthority);
    logger.info('sign-in', { request_id: rc.requestId, session: claims.sid, subject: claims.sub });
    rc.deps.audit.record(
      sessionEvent('sign-in', {
        id: rc.deps.random.id(16),
        at: rc.deps.clock.now(),
        requestId: rc.requestId,
        host: rc.authority,
        subject: claims.sub,
        sessionId: claims.sid,
        ...(claims.email ? { email: claims.email } : {}),
        groups: claims.groups,
        ...(claims.amr ? { amr: claims.amr } : {}),
        ...(claims.acr ? { acr: claims.acr } : {}),
        authTime: claims.authTime,
      }),
      rc.waitUntil,
    );
    const returnTo = sameOriginReturnUrl(tx.returnTo, config.origin) ?? `${config.origin}${HOME_PATH}`;
    return redirect(returnTo, 302, [
      clearTx,
      serializeCookie(sessions.names.session, sealed, { secure: config.secureCookies, maxAge: sessions.remaining(claims) }),
    ]);
  });
  app.all('/auth/callback', () => methodNotAllowed('GET, HEAD'));

  // --- hand-off to a workload host -----------------------------------------
  app.get('/auth/handoff', async (c) => {
    const rc = c.env.rc;
    const { config, sessions, snapshots, random, handoffs, logger } = rc.deps;
    rc.log.route = 'auth-handoff';
    const q = rc.url.searchParams;
    const host = (q.get('host') ?? '').toLowerCase();
    const nonce = q.get('nonce') ?? '';
    const returnPath = safeReturnPath(q.get('return'));
    if (!isAuthority(host) || !B64URL_256.test(nonce) || returnPath === null) {
      throw new TollgateError('bad-request', 'the hand-off request is malformed');
    }
    const snapshot = await snapshots.get();
    if (!snapshot.catalog.servesHost(host)) throw new TollgateError('bad-request', 'the hand-off names an unknown host');

    const { read, clear } = await currentSession(rc);
    const self = `${config.origin}/auth/handoff?${new URLSearchParams({ host, nonce, return: returnPath })}`;
    if (read.kind !== 'valid') return signInOrUnauthenticated(rc, self, clear);

    const now = nowSeconds(rc.deps);
    const code = random.id(32);
    const hostClaims: SessionClaims = { ...read.claims, host, seenAt: now };
    await handoffs.put(
      {
        codeHash: await sha256b64url(code),
        sessionId: read.claims.sid,
        host,
        nonceHash: nonce,
        returnPath,
        expiresAt: now + HANDOFF_TTL_SECONDS,
        sessionSeal: await sessions.seal(hostClaims),
      },
      now,
    );
    logger.info('handoff-issued', { request_id: rc.requestId, session: read.claims.sid, host });
    const cookies = read.refresh ? [await refreshedCookie(rc, read.claims)] : [];
    return redirect(`${config.scheme}://${host}/.tollgate/callback?${new URLSearchParams({ code })}`, 302, cookies);
  });
  app.all('/auth/handoff', () => methodNotAllowed('GET, HEAD'));

  // --- who am I -------------------------------------------------------------
  app.get('/auth/whoami', async (c) => {
    const rc = c.env.rc;
    const { config, snapshots } = rc.deps;
    rc.log.route = 'auth-whoami';
    const { read, clear } = await currentSession(rc);
    if (read.kind !== 'valid') return signInOrUnauthenticated(rc, `${config.origin}/auth/whoami`, clear);
    const claims = read.claims;
    const snapshot = await snapshots.get();
    const now = nowSeconds(rc.deps);
    const roles = [
      ...new Set(snapshot.document.bindings.filter((b) => bindingApplies(b, claims, now)).map((b) => b.roleId)),
    ].sort();
    const idleExpiresAt = Math.min(claims.expiresAt, (read.refresh ? now : claims.seenAt) + rc.deps.config.session.idleSeconds);
    const res = json({
      subject: claims.sub,
      email: claims.email ?? null,
      groups: claims.groups,
      roles,
      session: { id: claims.sid, expiresAt: claims.expiresAt, idleExpiresAt },
    });
    if (read.refresh) res.headers.append('set-cookie', await refreshedCookie(rc, claims));
    return res;
  });
  app.all('/auth/whoami', () => methodNotAllowed('GET, HEAD'));

  // --- sign-out ---------------------------------------------------------------
  app.get('/auth/logout', (c) => {
    c.env.rc.log.route = 'auth-logout-page';
    return page({
      title: 'Sign out',
      paragraphs: ['Sign out of Tollgate on this browser and at your identity provider.'],
      trustedHtml: postButton('/auth/logout', 'Sign out'),
      requestId: c.env.rc.requestId,
    });
  });
  app.post('/auth/logout', async (c) => {
    const rc = c.env.rc;
    rc.log.route = 'auth-logout';
    if (!isSameOriginPost(rc.request, rc.deps.config.origin)) {
      throw new TollgateError('forbidden', 'cross-site sign-out requests are refused');
    }
    return signOut(rc);
  });
  app.all('/auth/logout', () => methodNotAllowed('GET, HEAD, POST'));

  app.get('/auth/signed-out', (c) => {
    c.env.rc.log.route = 'auth-signed-out';
    return page({
      title: 'You are signed out',
      paragraphs: ['Your Tollgate session has ended. The next visit will ask you to sign in again.'],
      requestId: c.env.rc.requestId,
    });
  });
  app.all('/auth/signed-out', () => methodNotAllowed('GET, HEAD'));

  // --- admin API (src/http/admin, docs/admin-api.md) ---------------------------
  const admin = adminRoutes();
  app.all('/admin/v1', (c) => admin.fetch(c.req.raw, c.env));
  app.all('/admin/v1/*', (c) => admin.fetch(c.req.raw, c.env));

  // --- service identity: token endpoint, introspection, RFC 8414 metadata (src/http/oauth.ts) ---
  const oauth = oauthRoutes();
  app.all('/oauth/*', (c) => oauth.fetch(c.req.raw, c.env));
  app.all('/.well-known/oauth-authorization-server', (c) => oauth.fetch(c.req.raw, c.env));

  // --- keys -----------------------------------------------------------------
  app.get('/.well-known/jwks.json', (c) => {
    c.env.rc.log.route = 'jwks';
    return json(c.env.rc.deps.keyRing.jwks, 200, { 'cache-control': 'public, max-age=60' });
  });
  app.all('/.well-known/jwks.json', () => methodNotAllowed('GET, HEAD'));

  return app;
}

/**
 * Revoke the current host's session (if its cookie opens at all — an idle or
 * host-expired cookie still names a sid other hosts may hold), clear the cookie,
 * then RP-initiated logout at the IdP where it has an end-session endpoint.
 */
export async function signOut(rc: RequestContext): Promise<Response> {
  const { sessions, config, oidc, logger } = rc.deps;
  const { read } = await currentSession(rc);
  const claims = read.kind === 'absent' ? undefined : read.claims;
  if (claims && !(read.kind === 'refused' && read.reason === 'revoked')) {
    await sessions.revoke(claims);
    logger.info('sign-out', { request_id: rc.requestId, session: claims.sid, subject: claims.sub });
    // Sign-out revokes the session (ledger + D1 row): one record says both.
    rc.deps.audit.record(
      sessionEvent('sign-out', {
        id: rc.deps.random.id(16),
        at: rc.deps.clock.now(),
        requestId: rc.requestId,
        host: rc.authority,
        subject: claims.sub,
        sessionId: claims.sid,
        reason: 'user sign-out (session revoked)',
      }),
      rc.waitUntil,
    );
  }
  const clear = clearCookie(sessions.names.session, config.secureCookies);
  const endSession = await oidc.endSessionUrl();
  return redirect(endSession?.href ?? `${config.origin}/auth/signed-out`, 303, [clear]);
}
