/**
 * OIDC sign-in with openid-client v6: authorization code flow, PKCE (S256),
 * state, nonce, RFC 9207 `iss` check (openid-client refuses a wrong or, where
 * the IdP advertises support, a missing `iss`), ID token validated — including
 * its signature against the IdP's JWKS (`enableNonRepudiationChecks`), not just
 * the TLS channel, because dev and tests speak plain http on loopback.
 *
 * Protocol steps come in pairs: `configurationFromMetadata` (process discovery),
 * `buildSignInRequest` / `identityFromClaims` are pure; `OidcClient` adds the
 * network (through the injected fetch) and the per-isolate discovery cache.
 */
import * as client from 'openid-client';
import { TollgateError } from '../errors.js';
import type { Clock } from '../platform/index.js';

export type FetchLike = (input: Request | string | URL, init?: RequestInit) => Promise<Response>;

/** The sign-in transaction, sealed into the `tg_auth` cookie and consumed at the callback. */
export interface SignInTransaction {
  state: string;
  nonce: string;
  verifier: string;
  /** Absolute URL to continue to (already checked: on the gateway origin). */
  returnTo: string;
  scope: string;
}

export interface Identity {
  /** The IdP issuer (ID token `iss`). */
  issuer: string;
  sub: string;
  email?: string;
  name?: string;
  groups: string[];
  amr?: string[];
  acr?: string;
  /** Epoch seconds. */
  authTime?: number;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUri: string;
  postLogoutRedirectUri: string;
  /** Only for an http issuer on a loopback host (checked by config). */
  allowInsecureRequests: boolean;
}

/** Thrown by the fetch wrapper so a network failure is told apart from a protocol error. */
class IdpUnreachable extends Error {
  override readonly name = 'IdpUnreachable';
}

const MAX_GROUPS = 100;
const MAX_CLAIM_LENGTH = 256;

function wrapFetch(fetch: FetchLike): client.CustomFetch {
  return (async (url: string, options: client.CustomFetchOptions) => {
    try {
      return await fetch(url, options as RequestInit);
    } catch (cause) {
      throw new IdpUnreachable('identity provider unreachable', { cause });
    }
  }) as client.CustomFetch;
}

function causedBy(err: unknown, kind: new (...args: never[]) => Error): boolean {
  let e: unknown = err;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof kind) return true;
    e = (e as Error).cause;
  }
  return false;
}

function applySecurity(config: client.Configuration, settings: OidcSettings, fetch: FetchLike): void {
  config[client.customFetch] = wrapFetch(fetch);
  if (settings.allowInsecureRequests) client.allowInsecureRequests(config);
  client.enableNonRepudiationChecks(config);
}

/** Build a Configuration from a discovery document (no network). */
export function configurationFromMetadata(
  metadata: client.ServerMetadata,
  settings: OidcSettings,
  fetch: FetchLike,
): client.Configuration {
  if (metadata.issuer !== settings.issuer) {
    throw new TollgateError('config-invalid', 'discovery document issuer does not match OIDC_ISSUER');
  }
  const config = new client.Configuration(
    metadata,
    settings.clientId,
    { client_secret: settings.clientSecret },
    client.ClientSecretBasic(settings.clientSecret),
  );
  applySecurity(config, settings, fetch);
  return config;
}

/** `openid email profile groups` where the IdP lists `groups` in scopes_supported, else without it. */
export function scopeFor(metadata: client.ServerMetadata): string {
  const supported = Array.isArray(metadata.scopes_supported) ? metadata.scopes_supported : [];
  return supported.includes('groups') ? 'openid email profile groups' : 'openid email profile';
}

/** A fresh transaction (random state, nonce and PKCE verifier). */
export function newTransaction(returnTo: string, scope: string): SignInTransaction {
  return {
    state: client.randomState(),
    nonce: client.randomNonce(),
    verifier: client.randomPKCECodeVerifier(),
    returnTo,
    scope,
  };
}

/** The authorization request URL for a transaction. */
export async function buildSignInRequest(config: client.Configuration, tx: SignInTransaction, redirectUri: string): Promise<URL> {
  return client.buildAuthorizationUrl(config, {
    response_type: 'code',
    redirect_uri: redirectUri,
    scope: tx.scope,
    state: tx.state,
    nonce: tx.nonce,
    code_challenge: await client.calculatePKCECodeChallenge(tx.verifier),
    code_challenge_method: 'S256',
  });
}

function stringClaim(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 && v.length <= MAX_CLAIM_LENGTH ? v : undefined;
}

function stringList(v: unknown): string[] | undefined {
  if (!Array.isArray(v)) return undefined;
  return v.filter((g): g is string => typeof g === 'string' && g.length > 0 && g.length <= MAX_CLAIM_LENGTH).slice(0, MAX_GROUPS);
}

/** Identity from validated ID token claims, completed by userinfo where the ID token lacks a claim. */
export function identityFromClaims(id: Record<string, unknown>, userinfo?: Record<string, unknown>): Identity {
  const pick = (name: string): unknown => (id[name] !== undefined ? id[name] : userinfo?.[name]);
  const issuer = stringClaim(id.iss);
  const sub = stringClaim(id.sub);
  if (!issuer || !sub) throw new TollgateError('bad-request', 'the identity provider returned an incomplete identity');
  const identity: Identity = { issuer, sub, groups: stringList(pick('groups')) ?? [] };
  const email = stringClaim(pick('email'));
  // An email the IdP marks unverified is not used as an identity attribute.
  if (email && pick('email_verified') !== false) identity.email = email;
  const name = stringClaim(pick('name'));
  if (name) identity.name = name;
  const amr = stringList(id.amr);
  if (amr) identity.amr = amr;
  const acr = stringClaim(id.acr);
  if (acr) identity.acr = acr;
  if (typeof id.auth_time === 'number' && Number.isFinite(id.auth_time)) identity.authTime = Math.floor(id.auth_time);
  return identity;
}

export interface OidcClientOptions {
  settings: OidcSettings;
  fetch: FetchLike;
  clock: Clock;
  /** How long a discovered configuration is reused in this isolate. Default 3600 s. */
  cacheSeconds?: number;
}

export interface OidcClient {
  /** The discovered configuration (cached per isolate). IdP unreachable → TollgateError('upstream-unreachable'). */
  configuration(): Promise<client.Configuration>;
  /** A new transaction and the URL to send the browser to. */
  startSignIn(returnTo: string): Promise<{ url: URL; tx: SignInTransaction }>;
  /** Validate the callback (state, iss, code, PKCE, nonce, ID token) and return who signed in. */
  completeSignIn(callbackQuery: URLSearchParams, tx: SignInTransaction): Promise<Identity>;
  /** RP-initiated logout URL, or null when the IdP has no end_session_endpoint (or is unreachable). */
  endSessionUrl(): Promise<URL | null>;
}

export function createOidcClient(options: OidcClientOptions): OidcClient {
  const { settings, fetch, clock } = options;
  const ttlMs = (options.cacheSeconds ?? 3600) * 1000;
  let cached: { config: client.Configuration; at: number } | undefined;
  let inflight: Promise<client.Configuration> | undefined;

  async function discover(): Promise<client.Configuration> {
    try {
      const config = await client.discovery(
        new URL(settings.issuer),
        settings.clientId,
        { client_secret: settings.clientSecret },
        client.ClientSecretBasic(settings.clientSecret),
        {
          [client.customFetch]: wrapFetch(fetch),
          ...(settings.allowInsecureRequests ? { execute: [client.allowInsecureRequests] } : {}),
        },
      );
      applySecurity(config, settings, fetch);
      cached = { config, at: clock.now() };
      return config;
    } catch (cause) {
      throw new TollgateError('upstream-unreachable', 'the identity provider could not be reached', { cause });
    }
  }

  async function configuration(): Promise<client.Configuration> {
    if (cached && clock.now() - cached.at < ttlMs) return cached.config;
    inflight ??= discover().finally(() => {
      inflight = undefined;
    });
    return inflight;
  }

  return {
    configuration,

    async startSignIn(returnTo) {
      const config = await configuration();
      const tx = newTransaction(returnTo, scopeFor(config.serverMetadata()));
      return { url: await buildSignInRequest(config, tx, settings.redirectUri), tx };
    },

    async completeSignIn(callbackQuery, tx) {
      const config = await configuration();
      const currentUrl = new URL(settings.redirectUri);
      currentUrl.search = callbackQuery.toString();
      try {
        const tokens = await client.authorizationCodeGrant(config, currentUrl, {
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          pkceCodeVerifier: tx.verifier,
          idTokenExpected: true,
        });
        const claims = tokens.claims();
        if (!claims) throw new TollgateError('bad-request', 'the identity provider returned no ID token');
        const idClaims = claims as unknown as Record<string, unknown>;
        let userinfo: Record<string, unknown> | undefined;
        const wantGroups = tx.scope.split(' ').includes('groups');
        const missing = idClaims.email === undefined || (wantGroups && idClaims.groups === undefined);
        if (missing && config.serverMetadata().userinfo_endpoint && tokens.access_token) {
          userinfo = (await client.fetchUserInfo(config, tokens.access_token, claims.sub)) as unknown as Record<string, unknown>;
        }
        return identityFromClaims(idClaims, userinfo);
      } catch (cause) {
        throw classifyCallbackError(cause);
      }
    },

    async endSessionUrl() {
      let config: client.Configuration;
      try {
        config = await configuration();
      } catch {
        return null;
      }
      if (!config.serverMetadata().end_session_endpoint) return null;
      return client.buildEndSessionUrl(config, {
        client_id: settings.clientId,
        post_logout_redirect_uri: settings.postLogoutRedirectUri,
      });
    },
  };
}

/** Codes of openid-client errors that mean "this authorization response is not acceptable". */
const REFUSED_RESPONSE_CODES = new Set([
  'OAUTH_INVALID_RESPONSE',
  'OAUTH_JWT_TIMESTAMP_CHECK_FAILED',
  'OAUTH_JWT_CLAIM_COMPARISON_FAILED',
  'OAUTH_JSON_ATTRIBUTE_COMPARISON_FAILED',
  'OAUTH_KEY_SELECTION_FAILED',
  'OAUTH_PARSE_ERROR',
]);
/** Token endpoint errors caused by the response we were handed (a bad, used or foreign code). */
const REFUSED_GRANT_ERRORS = new Set(['invalid_grant', 'invalid_request']);

/**
 * Map a failed callback to the gateway's errors, by kind — not "everything is a 400":
 * a refused response (state, iss, nonce, code, PKCE, ID token) → 400; the IdP
 * unreachable, misbehaving or refusing our client → 502; anything else is ours → 500.
 */
export function classifyCallbackError(cause: unknown): TollgateError {
  if (cause instanceof TollgateError) return cause;
  const details = { oidcError: oidcErrorCode(cause) };
  const refused = () => new TollgateError('bad-request', 'sign-in could not be completed', { cause, details });
  const idp = () => new TollgateError('upstream-unreachable', 'the identity provider could not complete the sign-in', { cause, details });
  if (causedBy(cause, IdpUnreachable)) {
    return new TollgateError('upstream-unreachable', 'the identity provider could not be reached', { cause });
  }
  if (cause instanceof client.AuthorizationResponseError) return refused();
  if (cause instanceof client.ResponseBodyError) return REFUSED_GRANT_ERRORS.has(cause.error) ? refused() : idp();
  if (cause instanceof client.WWWAuthenticateChallengeError) return idp();
  if (cause instanceof client.ClientError) return REFUSED_RESPONSE_CODES.has(cause.code ?? '') ? refused() : idp();
  return new TollgateError('internal', 'sign-in failed unexpectedly', { cause, details });
}

/** A short, safe classification of a failed callback for logs (never the message, which may echo input). */
export function oidcErrorCode(err: unknown): string {
  if (err instanceof client.AuthorizationResponseError) return `authorization-response:${err.error}`;
  if (err instanceof client.ResponseBodyError) return `token-endpoint:${err.error}`;
  if (err instanceof client.ClientError) return `client:${err.code ?? 'unknown'}`;
  if (err instanceof TypeError) return 'type-error';
  return 'unknown';
}
