/**
 * `POST /oauth/token` (docs/services.md):
 *
 * - `client_credentials` (RFC 6749 §4.4) for a service account → a Tollgate
 *   access token (RFC 9068, typ at+jwt, ≤ 15 min) for the gateway, one
 *   workload, or the admin API;
 * - token exchange (RFC 8693): `subject_token` = a Tollgate access token or a
 *   trusted external JWT; optional `actor_token` (delegation → `act`); output
 *   an access token, or — `requested_token_type=urn:tollgate:token-type:assertion`
 *   — a per-request assertion (DESIGN §5) for one workload, one method (`htm`)
 *   and one path+query (`htu`), for a direct call to that workload's guard.
 *
 * The policy decides on every issuance; each principal's revocation state is
 * checked; each client (or, without client authentication, each principal)
 * is rate-limited through the ClientLimiter Durable Object. Every issuance and
 * every refusal after the caller is known leaves a `token` audit record.
 */
import type { GatewaySnapshot } from '../catalog/index.js';
import { TollgateError } from '../errors.js';
import { evaluate, permissionsOf, type DecisionInput } from '../policy/index.js';
import type { Clock, Logger, Random } from '../platform/index.js';
import { mintAccessToken, mintAssertionWithClaims, MAX_ACT_DEPTH, type ActClaim, type KeyRing } from '../token/index.js';
import type { TokenEvent, TokenEventFields } from '../audit/index.js';
import { tokenEvent } from '../audit/index.js';
import { resolveTarget, type Target } from './audience.js';
import { authenticateClient, type AuthenticatedClient } from './client-auth.js';
import { MAX_SERVICE_TOKEN_LIFETIME } from './config.js';
import { oauthCodeOf, oauthError } from './errors.js';
import type { OAuthForm } from './form.js';
import { servicePrincipal } from './model.js';
import { actChain, verifyServiceToken, type ServicePrincipal } from './principal.js';
import { reach } from './reach.js';
import type { OAuthService } from './service.js';

export const GRANT_CLIENT_CREDENTIALS = 'client_credentials';
export const GRANT_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** Tollgate's per-request assertion (DESIGN §5) as an RFC 8693 token type. */
export const TOKEN_TYPE_ASSERTION = 'urn:tollgate:token-type:assertion';

const SUBJECT_TOKEN_TYPES = new Set([TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN]);
const METHOD = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/;
// Path plus query, as the guard will receive it: printable ASCII, no spaces, no fragment.
const TARGET = /^\/[\x21-\x22\x24-\x7e]{0,8191}$/;

export interface TokenContext {
  oauth: OAuthService;
  /** TOLLGATE_ORIGIN (the issuer). */
  origin: string;
  scheme: string;
  keyRing: KeyRing;
  clock: Clock;
  random: Random;
  logger: Logger;
  snapshot: GatewaySnapshot;
  /** ASSERTION_TTL_SECONDS */
  assertionTtlSeconds: number;
  requestId: string;
  ip?: string;
  country?: string;
  /** Hands a record to the audit sink (off the hot path). */
  audit: (event: TokenEvent) => void;
}

export interface TokenResponseBody {
  access_token: string;
  token_type: 'Bearer' | 'N_A';
  expires_in: number;
  issued_token_type?: string;
}

/** What is known so far about a request, for its audit record. */
type Facts = Omit<TokenEventFields, 'id' | 'at' | 'requestId' | 'outcome'>;

/** Handle one token request (form already parsed). Throws TollgateErrors carrying an OAuth error code. */
export async function handleTokenRequest(form: OAuthForm, authorization: string | null, ctx: TokenContext): Promise<TokenResponseBody> {
  const grant = form.get('grant_type');
  if (grant === undefined) throw oauthError('invalid_request', 'grant_type is required');
  if (grant !== GRANT_CLIENT_CREDENTIALS && grant !== GRANT_TOKEN_EXCHANGE) {
    throw oauthError('unsupported_grant_type', 'grant_type must be client_credentials or urn:ietf:params:oauth:grant-type:token-exchange');
  }
  const facts: Facts = { subject: null, grantType: grant === GRANT_CLIENT_CREDENTIALS ? 'client_credentials' : 'token-exchange' };
  const record = (outcome: 'issued' | 'refused', extra: Partial<TokenEventFields> = {}) =>
    ctx.audit(tokenEvent({ id: ctx.random.id(16), at: ctx.clock.now(), requestId: ctx.requestId, outcome, ...facts, ...extra }));
  try {
    const { client } = await authenticateClient(authorization, form, {
      accounts: ctx.oauth.accounts,
      limiter: ctx.oauth.limiter,
      now: ctx.clock.now(),
      audiences: [`${ctx.origin}/oauth/token`, ctx.origin, `${ctx.origin}/`],
    });
    if (client) {
      facts.clientId = client.account.id;
      facts.clientAuth = client.method;
      if (client.account.grantTypes !== undefined && !client.account.grantTypes.includes(grant)) {
        throw oauthError('unauthorized_client', 'this client may not use this grant type');
      }
    }
    const issued = grant === GRANT_CLIENT_CREDENTIALS ? await clientCredentials(form, client, ctx, facts) : await exchange(form, client, ctx, facts);
    record('issued', issued.audit);
    return issued.body;
  } catch (err) {
    // Refusals are recorded once someone is known (a client or a principal); anonymous noise is not.
    if (facts.clientId !== undefined || facts.subject !== null) {
      record('refused', { error: oauthCodeOf(err) ?? 'server_error', ...(err instanceof TollgateError && err.reasons.length > 0 ? { reasons: err.reasons } : {}) });
    }
    throw err;
  }
}

interface Issued {
  body: TokenResponseBody;
  audit: Partial<TokenEventFields>;
}

async function rateLimit(ctx: TokenContext, key: string, perMinute: number): Promise<void> {
  const r = await ctx.oauth.limiter.take(key, perMinute, 60);
  if (!r.ok) throw oauthError('temporarily_unavailable', 'too many token requests for this client; retry later', { retryAfter: r.retryAfterSeconds });
}

function nowSeconds(ctx: TokenContext): number {
  return Math.floor(ctx.clock.now() / 1000);
}

function checkScope(form: OAuthForm): void {
  // Tollgate tokens carry no scopes: what a service may do is decided by the policy, per request.
  if (form.has('scope')) throw oauthError('invalid_scope', 'Tollgate tokens carry no scopes; access is decided by the policy on every request');
}

/** The policy's verdict on issuing a token for `target` to `principal` (and, with delegation, to each actor). */
function checkReach(ctx: TokenContext, target: Target, services: string[]): void {
  const now = nowSeconds(ctx);
  if (target.kind === 'workload') {
    for (const service of services) {
      const r = reach(ctx.snapshot.document, ctx.snapshot.catalog, service, target.workload.id, now);
      if (!r.ok) throw oauthError('invalid_target', `the policy does not allow ${servicePrincipal(service)} on this workload`, { reasons: r.reasons });
    }
  } else if (target.kind === 'admin') {
    for (const service of services) {
      const perms = permissionsOf(ctx.snapshot.policy, { kind: 'service', id: servicePrincipal(service), sub: service, groups: [] }, now);
      if (perms.length === 0) throw oauthError('invalid_target', `${servicePrincipal(service)} holds no admin API permission`);
    }
  }
}

async function mintFor(ctx: TokenContext, o: { subject: string; clientId: string; target: Target; lifetime: number; act?: ActClaim }): Promise<{ token: string; jti: string; exp: number }> {
  const token = await mintAccessToken(
    { issuer: ctx.origin, audience: o.target.aud, subject: o.subject, clientId: o.clientId, lifetimeSeconds: o.lifetime, ...(o.act ? { act: o.act } : {}) },
    ctx.keyRing.active,
    { now: ctx.clock.now(), random: ctx.random, maxLifetimeSeconds: MAX_SERVICE_TOKEN_LIFETIME },
  );
  // The payload is ours: read jti and exp back for the audit record without verifying again.
  const payload = JSON.parse(new TextDecoder().decode(b64urlDecode(token.split('.')[1]!))) as { jti: string; exp: number };
  return { token, jti: payload.jti, exp: payload.exp };
}

function b64urlDecode(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4));
  return Uint8Array.from(b, (c) => c.charCodeAt(0));
}

// ------------------------------------------------------------------ client_credentials

async function clientCredentials(form: OAuthForm, client: AuthenticatedClient | null, ctx: TokenContext, facts: Facts): Promise<Issued> {
  if (!client) throw oauthError('invalid_client', 'client_credentials needs client authentication');
  const account = client.account;
  const subject = servicePrincipal(account.id);
  facts.subject = subject;
  checkScope(form);
  const target = resolveTarget(form, { origin: ctx.origin, scheme: ctx.scheme, catalog: ctx.snapshot.catalog });
  facts.audience = target.aud;
  if (target.kind === 'workload') facts.workload = target.workload.id;
  await rateLimit(ctx, account.id, account.rateLimitPerMinute ?? ctx.oauth.config.rateLimitPerMinute);
  const now = nowSeconds(ctx);
  // D1 said enabled; the ledger has the last word (a disable is recorded there first).
  if (!(await ctx.oauth.principals.usable(subject, now))) throw oauthError('invalid_client', 'client authentication failed', { logReason: 'principal-revoked' });
  checkReach(ctx, target, [account.id]);
  let lifetime = ctx.oauth.config.accessTokenTtlSeconds;
  if (account.expiresAt !== undefined) lifetime = Math.min(lifetime, account.expiresAt - now);
  if (lifetime < 1) throw oauthError('invalid_client', 'client authentication failed', { logReason: 'client-expired' });
  const t = await mintFor(ctx, { subject, clientId: account.id, target, lifetime });
  return {
    body: { access_token: t.token, token_type: 'Bearer', expires_in: t.exp - now },
    audit: { tokenType: 'access_token', jti: t.jti, exp: t.exp },
  };
}

// ------------------------------------------------------------------ token exchange

async function verifyPresented(ctx: TokenContext, token: string, which: 'subject_token' | 'actor_token', target: Target | undefined): Promise<ServicePrincipal> {
  // A Tollgate token may be exchanged when it was issued for the gateway or for the very workload asked for:
  // a token bound to workload B never becomes one for C.
  const audiences = [ctx.origin];
  if (target?.kind === 'workload') audiences.push(target.workload.id);
  let p: ServicePrincipal;
  try {
    p = await verifyServiceToken(token, { keyRing: ctx.keyRing, issuer: ctx.origin, registry: ctx.oauth.registry, audiences, now: ctx.clock.now() });
  } catch (err) {
    if (err instanceof TollgateError && err.code === 'unauthenticated') {
      const why = typeof err.details.tokenProblem === 'string' ? err.details.tokenProblem : 'invalid';
      throw oauthError('invalid_grant', `the ${which} is not valid`, { logReason: `${which}:${why}`, cause: err });
    }
    throw err;
  }
  if (!(await ctx.oauth.principals.usable(p.subject, p.iat))) {
    throw oauthError('invalid_grant', `the ${which} has been revoked`, { logReason: `${which}:revoked` });
  }
  return p;
}

function chainDepth(act: ActClaim | undefined): number {
  return actChain(act).length;
}

async function exchange(form: OAuthForm, client: AuthenticatedClient | null, ctx: TokenContext, facts: Facts): Promise<Issued> {
  const subjectToken = form.get('subject_token');
  const subjectType = form.get('subject_token_type');
  if (subjectToken === undefined || subjectType === undefined) throw oauthError('invalid_request', 'token exchange needs subject_token and subject_token_type');
  if (!SUBJECT_TOKEN_TYPES.has(subjectType)) throw oauthError('invalid_request', 'subject_token_type must be an access_token, jwt or id_token token type');
  const actorToken = form.get('actor_token');
  const actorType = form.get('actor_token_type');
  if ((actorToken === undefined) !== (actorType === undefined)) throw oauthError('invalid_request', 'actor_token and actor_token_type go together');
  if (actorType !== undefined && !SUBJECT_TOKEN_TYPES.has(actorType)) throw oauthError('invalid_request', 'actor_token_type must be an access_token, jwt or id_token token type');
  const requested = form.get('requested_token_type') ?? TOKEN_TYPE_ACCESS_TOKEN;
  if (requested !== TOKEN_TYPE_ACCESS_TOKEN && requested !== TOKEN_TYPE_JWT && requested !== TOKEN_TYPE_ASSERTION) {
    throw oauthError('invalid_request', `requested_token_type must be ${TOKEN_TYPE_ACCESS_TOKEN} or ${TOKEN_TYPE_ASSERTION}`);
  }
  checkScope(form);
  const target = resolveTarget(form, { origin: ctx.origin, scheme: ctx.scheme, catalog: ctx.snapshot.catalog });
  facts.audience = target.aud;
  if (target.kind === 'workload') facts.workload = target.workload.id;

  const subject = await verifyPresented(ctx, subjectToken, 'subject_token', target);
  facts.subject = subject.subject;
  if (subject.issuerId) {
    facts.issuer = subject.issuerId;
    if (subject.externalSubject) facts.externalSubject = subject.externalSubject;
  }
  let actor: { subject: string; service: string; exp?: number } | undefined;
  if (actorToken !== undefined) {
    const a = await verifyPresented(ctx, actorToken, 'actor_token', undefined);
    if (client && a.subject !== servicePrincipal(client.account.id)) {
      throw oauthError('invalid_grant', 'the actor_token must name the authenticated client');
    }
    actor = { subject: a.subject, service: a.service, exp: a.exp };
  } else if (client && servicePrincipal(client.account.id) !== subject.subject) {
    // An authenticated client exchanging someone else's token acts for them: delegation, recorded in `act`.
    actor = { subject: servicePrincipal(client.account.id), service: client.account.id };
  }
  if (actor && actor.subject === subject.subject) actor = undefined;
  const act: ActClaim | undefined = actor ? { sub: actor.subject, ...(subject.act ? { act: subject.act } : {}) } : subject.act;
  if (chainDepth(act) > MAX_ACT_DEPTH) throw oauthError('invalid_grant', 'the delegation chain is too long');
  if (act) facts.act = actChain(act);

  const limitKey = client?.account.id ?? actor?.subject ?? subject.subject;
  await rateLimit(ctx, limitKey, client?.account.rateLimitPerMinute ?? ctx.oauth.config.rateLimitPerMinute);

  const now = nowSeconds(ctx);
  const deciders = [subject.service, ...(actor ? [actor.service] : [])];
  let remaining = subject.exp - now;
  if (actor?.exp !== undefined) remaining = Math.min(remaining, actor.exp - now);
  if (client?.account.expiresAt !== undefined) remaining = Math.min(remaining, client.account.expiresAt - now);
  if (remaining < 1) throw oauthError('invalid_grant', 'the presented token is about to expire');
  const clientId = client?.account.id ?? actor?.service ?? subject.service;

  if (requested === TOKEN_TYPE_ASSERTION) return assertionFor(form, ctx, { target, subject, actor, act, deciders, remaining, facts });

  checkReach(ctx, target, deciders);
  const lifetime = Math.min(ctx.oauth.config.accessTokenTtlSeconds, remaining);
  const t = await mintFor(ctx, { subject: subject.subject, clientId, target, lifetime, ...(act ? { act } : {}) });
  return {
    body: { access_token: t.token, token_type: 'Bearer', expires_in: t.exp - now, issued_token_type: TOKEN_TYPE_ACCESS_TOKEN },
    audit: { tokenType: 'access_token', jti: t.jti, exp: t.exp },
  };
}

interface AssertionRequest {
  target: Target;
  subject: ServicePrincipal;
  actor: { subject: string; service: string } | undefined;
  act: ActClaim | undefined;
  deciders: string[];
  remaining: number;
  facts: Facts;
}

async function assertionFor(form: OAuthForm, ctx: TokenContext, r: AssertionRequest): Promise<Issued> {
  const { target, subject, facts } = r;
  if (target.kind !== 'workload') throw oauthError('invalid_target', 'an assertion is for one workload: give its id as audience, or a URL of it as resource');
  const htm = form.get('htm');
  const htu = form.get('htu');
  if (htm === undefined || htu === undefined) throw oauthError('invalid_request', 'an assertion needs htm (the method) and htu (the path and query) of the one request it is for');
  if (!METHOD.test(htm)) throw oauthError('invalid_request', 'htm must be an HTTP method');
  if (!TARGET.test(htu)) throw oauthError('invalid_request', 'htu must be a path and query starting with "/" (printable ASCII, no spaces, no fragment)');
  facts.method = htm;
  facts.target = htu;
  const q = htu.indexOf('?');
  const path = q < 0 ? htu : htu.slice(0, q);
  const now = nowSeconds(ctx);
  let roles: string[] = [];
  let ttl = ctx.assertionTtlSeconds;
  for (const service of r.deciders) {
    const input: DecisionInput = {
      subject: { kind: 'service', id: servicePrincipal(service), sub: service, groups: [] },
      request: { workload: target.workload.id, method: htm.toUpperCase(), path },
      now,
    };
    if (q >= 0 && q < htu.length - 1) input.request.query = htu.slice(q + 1);
    if (ctx.ip) input.request.ip = ctx.ip;
    if (ctx.country) input.request.country = ctx.country;
    const decision = evaluate(ctx.snapshot.policy, input);
    if (decision.effect !== 'allow') {
      throw oauthError('invalid_target', `the policy does not allow ${servicePrincipal(service)} to make this request`, { reasons: decision.reasons });
    }
    if (service === subject.service) roles = decision.roles;
    ttl = Math.min(ttl, decision.ttl > 0 ? decision.ttl : ttl);
  }
  ttl = Math.min(ttl, 60, r.remaining);
  if (ttl < 1) throw oauthError('invalid_grant', 'the presented token is about to expire');
  const minted = await mintAssertionWithClaims(
    {
      issuer: ctx.origin,
      audience: target.workload.id,
      subject: subject.subject,
      requestId: ctx.requestId,
      method: htm,
      target: htu,
      roles,
      ...(r.act ? { act: r.act as unknown as Record<string, unknown> } : {}),
      ttlSeconds: ttl,
    },
    ctx.keyRing.active,
    { now: ctx.clock.now(), random: ctx.random },
  );
  return {
    body: { access_token: minted.assertion, token_type: 'N_A', expires_in: minted.claims.exp - now, issued_token_type: TOKEN_TYPE_ASSERTION },
    audit: { tokenType: 'assertion', jti: minted.claims.jti, exp: minted.claims.exp },
  };
}
