/**
 * The bearer path on a workload host (DESIGN §3 "Service"; docs/services.md):
 * a request with `Authorization: Bearer <token>` and no gateway session cookie
 * is an API client acting as a service. The token — a Tollgate access token
 * for the gateway or for this workload, or a trusted external JWT — names a
 * service principal; the principal's revocation state is checked; the policy
 * decides on the principal (and, for a delegated token, on the current actor
 * too); an allowed request gets the same per-request assertion as a user's
 * (`sub` = `service:<id>`, `act` when delegated) and is forwarded.
 *
 * API clients only: no redirects, no pages. An invalid token is 401
 * (`WWW-Authenticate: Bearer … error="invalid_token"`), a deny 403
 * problem+json with reason codes. The caller's `Authorization` header is
 * removed before forwarding unless the workload sets `forwardAuthorization`.
 */
import { decisionEvent } from '../audit/index.js';
import { recordDecision, recordNoSession } from './decision-record.js';
import type { GatewaySnapshot, Workload } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import { verifyServiceToken, type ServicePrincipal } from '../oauth/index.js';
import { evaluate, type Decision, type DecisionInput } from '../policy/index.js';
import { nowSeconds, type RequestContext } from './context.js';
import { forwardAllowed } from './forward-allowed.js';
import { clientFacts } from './oauth.js';
import { errorResponse } from './problem.js';

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;

/** The bearer token of a request that takes the bearer path, or null (then the session path applies). */
export function bearerTokenOf(request: Request, sessionCookieNames: readonly string[]): string | null {
  const authz = request.headers.get('authorization');
  if (authz === null || !/^Bearer /i.test(authz)) return null;
  // A browser with a gateway session keeps the session path (its app may use Authorization for itself).
  const cookie = request.headers.get('cookie');
  if (cookie !== null) {
    const names = new Set(sessionCookieNames.map((n) => n.toLowerCase()));
    for (const part of cookie.split(';')) {
      const name = part.split('=', 1)[0]!.trim().toLowerCase();
      if (names.has(name)) return null;
    }
  }
  const m = BEARER.exec(authz);
  return m ? m[1]! : '';
}

function invalidToken(rc: RequestContext, why: string): Response {
  rc.log.bearer = why;
  const res = errorResponse(new TollgateError('unauthenticated', 'the bearer token is not valid for this workload', { reasons: ['no-session'] }), {
    requestId: rc.requestId,
    browser: false,
    logger: rc.deps.logger,
  });
  res.headers.set('www-authenticate', 'Bearer realm="tollgate", error="invalid_token"');
  return res;
}

function subjectOf(service: string): DecisionInput['subject'] {
  return { kind: 'service', id: `service:${service}`, sub: service, groups: [] };
}

/** Serve one request on the bearer path. */
export async function bearerProxy(rc: RequestContext, workload: Workload, snapshot: GatewaySnapshot, token: string): Promise<Response> {
  const { config, keyRing, random, clock, logger, oauth } = rc.deps;
  rc.log.route = 'proxy';
  rc.log.workload = workload.id;
  rc.log.auth = 'bearer';
  const refused = (why: string, subject?: string) => {
    recordNoSession(rc, snapshot, workload, `bearer-${why}`, subject ? { subject } : undefined);
    return invalidToken(rc, why);
  };

  let principal: ServicePrincipal;
  try {
    if (!oauth || token === '') throw new TollgateError('unauthenticated', 'no bearer support', { details: { tokenProblem: token === '' ? 'malformed' : 'disabled' } });
    // Audience: the gateway as a whole, or exactly this workload — a token bound to another workload is refused.
    principal = await verifyServiceToken(token, { keyRing, issuer: config.origin, registry: oauth.registry, audiences: [config.origin, workload.id], now: clock.now() });
  } catch (err) {
    if (err instanceof TollgateError && err.code === 'unauthenticated') {
      return refused(typeof err.details.tokenProblem === 'string' ? err.details.tokenProblem : 'invalid');
    }
    throw err;
  }
  // Strongly consistent revocation (RevocationLedger, cached ≤ REVOCATION_CACHE_SECONDS): the subject and every actor.
  for (const who of [principal.subject, ...(principal.act ? [principal.act.sub] : [])]) {
    if (!(await oauth.principals.usable(who, principal.iat))) return refused('revoked', principal.subject);
  }

  const { ip, country } = clientFacts(rc.request, snapshot.needsCountry);
  const now = nowSeconds(rc.deps);
  const decide = (service: string): { input: DecisionInput; decision: Decision } => {
    const input: DecisionInput = {
      subject: subjectOf(service),
      request: { workload: workload.id, method: rc.request.method.toUpperCase(), path: rc.url.pathname },
      now,
    };
    if (rc.url.search.length > 1) input.request.query = rc.url.search.slice(1);
    if (ip) input.request.ip = ip;
    if (country) input.request.country = country;
    return { input, decision: evaluate(snapshot.policy, input) };
  };
  const main = decide(principal.service);
  let decision = main.decision;
  // A delegated token acts for its subject: the current actor must be allowed too.
  const actor = principal.act?.sub;
  if (decision.effect === 'allow' && actor !== undefined) {
    const m = /^service:(.+)$/s.exec(actor);
    const a = m ? decide(m[1]!).decision : undefined;
    if (!a || a.effect !== 'allow') decision = { ...(a ?? decision), effect: 'deny', roles: [], reasons: a?.reasons ?? ['evaluation-error'] };
  }
  rc.log.decision = decision.effect;
  rc.log.reasons = decision.reasons;
  rc.log.subject = principal.subject;
  // One log line per request (the `request` line carries these); the audit record has the rest.
  rc.log.roles = decision.roles;
  if (actor) rc.log.actor = actor;
  if (principal.issuerId) rc.log.issuer_id = principal.issuerId;
  const audit = (jti?: string) =>
    recordDecision(
      rc,
      snapshot,
      decisionEvent(main.input, decision, {
        id: random.id(16),
        at: clock.now(),
        requestId: rc.requestId,
        host: rc.authority,
        policyVersion: snapshot.version,
        ...(jti ? { jti } : {}),
      }),
    );
  if (decision.effect !== 'allow') {
    audit();
    return errorResponse(new TollgateError('forbidden', 'The policy does not allow this service to make this request.', { reasons: decision.reasons }), {
      requestId: rc.requestId,
      browser: false,
      logger,
    });
  }

  return forwardAllowed(
    rc,
    workload,
    {
      subject: principal.subject,
      roles: decision.roles,
      ...(principal.act ? { act: principal.act as unknown as Record<string, unknown> } : {}),
    },
    {
      ttl: decision.ttl,
      ...(ip ? { clientIp: ip } : {}),
      // The caller's credential is for the gateway, not for the workload (unless the workload asks for it).
      stripAuthorization: workload.forwardAuthorization !== true,
      onMinted: audit,
    },
  );
}
