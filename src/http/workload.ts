/**
 * Routes on a workload host: `/.tollgate/*` is the gateway's (hand-off
 * callback, sign-out; anything else there is 404); every other path is
 * session → device → decision → assertion → forward.
 */
import { Hono } from 'hono';
import { decisionEvent } from '../audit/index.js';
import { recordDecision, recordNoSession } from './decision-record.js';
import { B64URL_256, safeReturnPath, sha256b64url, timingSafeEqual } from '../auth/index.js';
import type { Workload } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import { evaluate, type DecisionInput } from '../policy/index.js';
import type { SessionClaims } from '../session/index.js';
import type { GatewaySnapshot } from '../catalog/index.js';
import { clearCookie, cookieValues, serializeCookie } from './cookies.js';
import { nowSeconds, type HttpBindings, type RequestContext } from './context.js';
import { currentSession, isSameOriginPost, refreshedCookie, signOut } from './origin.js';
import { bearerProxy, bearerTokenOf } from './bearer.js';
import { clientFacts } from './oauth.js';
import { denialResponse } from './denial.js';
import { forwardAllowed } from './forward-allowed.js';
import { errorResponse } from './problem.js';
import { postButton } from './pages.js';
import { page, redirect } from './responses.js';

/** The nonce cookie binding a hand-off to this browser lives this long. */
const NONCE_TTL_SECONDS = 60;

interface NonceCookie {
  n: string;
  host: string;
}

export interface WorkloadBindings extends HttpBindings {
  workload: Workload;
  snapshot: GatewaySnapshot;
}

export function problem(rc: RequestContext, err: unknown, extra?: Headers): Response {
  return errorResponse(err, { requestId: rc.requestId, browser: rc.browser, logger: rc.deps.logger }, extra);
}

/** Hand a decision record to the audit sink; the policy hash is computed off the hot path (docs/audit.md). */
export function workloadRoutes(): Hono<{ Bindings: WorkloadBindings }> {
  const app = new Hono<{ Bindings: WorkloadBindings }>();
  app.onError((err, c) => problem(c.env.rc, err));

  // --- hand-off redemption ----------------------------------------------------
  app.get('/.tollgate/callback', async (c) => {
    const rc = c.env.rc;
    const { config, codec, sessions, handoffs, logger } = rc.deps;
    rc.log.route = 'handoff-callback';
    const now = nowSeconds(rc.deps);
    const clearNonce = clearCookie(sessions.names.nonce, config.secureCookies);
    const refuse = (message: string) =>
      problem(rc, new TollgateError('bad-request', message), new Headers({ 'set-cookie': clearNonce }));

    const code = rc.url.searchParams.get('code') ?? '';
    if (!B64URL_256.test(code) || rc.url.searchParams.getAll('code').length !== 1) {
      return refuse('This sign-in link is malformed.');
    }
    // Single use: the row is deleted as it is read, whatever the checks below decide — a code
    // that reached the wrong browser (or a browser without the nonce) is dead from then on.
    const record = await handoffs.take(await sha256b64url(code), now);
    let nonce: NonceCookie | null = null;
    for (const value of cookieValues(rc.request.headers.get('cookie'), sessions.names.nonce).slice(0, 4)) {
      const opened = await codec.open<NonceCookie>('nonce', value, now);
      if (opened && typeof opened.n === 'string' && opened.host === rc.authority) {
        nonce = opened;
        break;
      }
    }
    if (!nonce) return refuse('This sign-in link can only be used in the browser that started the sign-in, within a minute.');
    if (!record) return refuse('This sign-in link has expired or was already used.');
    const nonceHash = await sha256b64url(nonce.n);
    if (record.host !== rc.authority || !timingSafeEqual(record.nonceHash, nonceHash)) {
      logger.warn('handoff-mismatch', { request_id: rc.requestId, session: record.sessionId });
      return refuse('This sign-in link does not belong to this browser or this site.');
    }
    const claims = await codec.open<SessionClaims>('session', record.sessionSeal, now);
    if (!claims || claims.sid !== record.sessionId || claims.host !== rc.authority) {
      return refuse('This sign-in link is not valid.');
    }
    const checked = await sessions.check(claims, rc.authority);
    if (checked.kind !== 'valid') return refuse('The session behind this sign-in link has ended.');

    logger.info('handoff-redeemed', { request_id: rc.requestId, session: claims.sid, host: rc.authority });
    return redirect(safeReturnPath(record.returnPath) ?? '/', 302, [
      clearNonce,
      serializeCookie(sessions.names.session, record.sessionSeal, {
        secure: config.secureCookies,
        maxAge: sessions.remaining(claims),
      }),
    ]);
  });

  // --- sign-out on a workload host ------------------------------------------------
  app.get('/.tollgate/logout', (c) => {
    c.env.rc.log.route = 'host-logout-page';
    return page({
      title: 'Sign out',
      paragraphs: ['Sign out of Tollgate on this browser and at your identity provider.'],
      trustedHtml: postButton('/.tollgate/logout', 'Sign out'),
      requestId: c.env.rc.requestId,
    });
  });
  app.post('/.tollgate/logout', async (c) => {
    const rc = c.env.rc;
    rc.log.route = 'host-logout';
    if (!isSameOriginPost(rc.request, `${rc.deps.config.scheme}://${rc.authority}`)) {
      throw new TollgateError('forbidden', 'cross-site sign-out requests are refused');
    }
    return signOut(rc);
  });

  // Everything else under the reserved prefix is not found (and never forwarded).
  app.all('/.tollgate/*', (c) => {
    c.env.rc.log.route = 'reserved';
    return problem(c.env.rc, new TollgateError('not-found', 'there is nothing here'));
  });

  // --- the forward path ---------------------------------------------------------
  // createApp's route() calls workloadProxy() directly for paths outside `/.tollgate`; this
  // catch-all serves the rest (e.g. a percent-encoded path, which Hono decodes before routing).
  app.all('*', (c) => workloadProxy(c.env.rc, c.env.workload, c.env.snapshot));

  return app;
}

/** A browser without a usable session on this host: bind a nonce cookie and go through the hand-off. */
async function startHandoff(rc: RequestContext, clear: string[]): Promise<Response> {
  const { config, codec, random, sessions } = rc.deps;
  const now = nowSeconds(rc.deps);
  const n = random.id(32);
  const sealed = await codec.seal('nonce', { n, host: rc.authority } satisfies NonceCookie, NONCE_TTL_SECONDS, now);
  const params = new URLSearchParams({
    host: rc.authority,
    nonce: await sha256b64url(n),
    return: safeReturnPath(`${rc.url.pathname}${rc.url.search}`) ?? '/',
  });
  rc.log.outcome = 'handoff';
  return redirect(`${config.origin}/auth/handoff?${params}`, 302, [
    ...clear,
    serializeCookie(sessions.names.nonce, sealed, { secure: config.secureCookies, maxAge: NONCE_TTL_SECONDS }),
  ]);
}

/**
 * The forward path on a workload host (everything outside `/.tollgate/`): bearer or session →
 * decision → audit record → forward. Errors propagate; the caller maps them with `problem()`.
 */
export async function workloadProxy(rc: RequestContext, workload: Workload, snapshot: GatewaySnapshot): Promise<Response> {
  const { random, clock, devices } = rc.deps;
  rc.log.route = 'proxy';
  rc.log.workload = workload.id;

  // Services: `Authorization: Bearer` without a gateway session cookie (src/http/bearer.ts, docs/services.md).
  const bearer = bearerTokenOf(rc.request, [rc.deps.sessions.names.session]);
  if (bearer !== null) return bearerProxy(rc, workload, snapshot, bearer);

  const { read, clear } = await currentSession(rc);
  if (read.kind !== 'valid') {
    rc.log.session = read.kind === 'absent' ? 'absent' : read.reason;
    const refused = read.kind === 'refused' ? read.claims : undefined;
    // A cookie that opened but was refused (expired, revoked …) still names who it was.
    recordNoSession(rc, snapshot, workload, rc.log.session, refused ? { subject: refused.sub, sessionId: refused.sid } : undefined);
    if (rc.browser) return startHandoff(rc, clear);
    const headers = new Headers();
    for (const cookie of clear) headers.append('set-cookie', cookie);
    return problem(rc, new TollgateError('unauthenticated', 'a valid session is required', { reasons: ['no-session'] }), headers);
  }
  const claims = read.claims;

  const device = await devices.lookup({ request: rc.request, sessionId: claims.sid });
  const { ip, country } = clientFacts(rc.request, snapshot.needsCountry);
  const input: DecisionInput = {
    subject: { kind: 'user', id: claims.sub, sub: claims.idpSub, groups: claims.groups },
    // The path and query exactly as they will be forwarded (the forward reuses them verbatim).
    request: { workload: workload.id, method: rc.request.method.toUpperCase(), path: rc.url.pathname },
    now: nowSeconds(rc.deps),
  };
  if (claims.email) input.subject.email = claims.email;
  if (device) input.device = device;
  input.auth = { authTime: claims.authTime };
  if (claims.amr) input.auth.amr = claims.amr;
  if (claims.acr) input.auth.acr = claims.acr;
  if (rc.url.search.length > 1) input.request.query = rc.url.search.slice(1);
  if (ip) input.request.ip = ip;
  if (country) input.request.country = country;

  const decision = evaluate(snapshot.policy, input);
  rc.log.decision = decision.effect;
  rc.log.reasons = decision.reasons;
  // One log line per request (the `request` line carries these); the audit record has the rest.
  rc.log.subject = claims.sub;
  rc.log.session = claims.sid;
  rc.log.roles = decision.roles;
  const record = (jti?: string) =>
    recordDecision(
      rc,
      snapshot,
      decisionEvent(input, decision, {
        id: random.id(16),
        at: clock.now(),
        requestId: rc.requestId,
        host: rc.authority,
        sessionId: claims.sid,
        policyVersion: snapshot.version,
        ...(jti ? { jti } : {}),
      }),
    );
  if (decision.effect !== 'allow') {
    record();
    return denialResponse(rc, decision, { claims, document: snapshot.document });
  }

  return forwardAllowed(
    rc,
    workload,
    {
      subject: claims.sub,
      sessionId: claims.sid,
      roles: decision.roles,
      ...(claims.email ? { email: claims.email } : {}),
      ...(device ? { device: { id: device.id, trust: device.trust } } : {}),
    },
    {
      ttl: decision.ttl,
      ...(ip ? { clientIp: ip } : {}),
      onMinted: record,
      setCookie: async () => (read.refresh ? refreshedCookie(rc, claims) : undefined),
    },
  );
}
