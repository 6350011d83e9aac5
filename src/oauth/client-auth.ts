/**
 * Client authentication at the token and introspection endpoints (RFC 6749
 * §2.3, RFC 7523 §2.2), for service accounts:
 *
 * - `client_secret_basic`: `Authorization: Basic base64(urlenc(id):urlenc(secret))`;
 * - `client_secret_post`: `client_id` + `client_secret` in the body;
 * - `private_key_jwt`: `client_assertion_type` =
 *   `urn:ietf:params:oauth:client-assertion-type:jwt-bearer` and a JWT signed
 *   with a key the account registered: `iss` = `sub` = the client id, `aud` =
 *   the token endpoint URL or the issuer, `exp` at most 5 minutes ahead, a
 *   `jti` that is accepted once (ClientLimiter Durable Object) until `exp`.
 *
 * More than one method in a request is refused (RFC 6749 §2.3). Every failure
 * is `invalid_client` (401) and says only that authentication failed; the
 * precise reason goes to the log.
 */
import { createLocalJWKSet, decodeJwt, errors as joseErrors, jwtVerify } from 'jose';
import { publicKeys } from '../federation/index.js';
import type { ClientLimiterClient } from '../ratelimit/ports.js';
import type { ServiceAccountStore } from '../store/services-ports.js';
import { oauthError } from './errors.js';
import type { OAuthForm } from './form.js';
import { SERVICE_ID, type ClientAuthMethod, type ServiceAccount } from './model.js';
import { secretMatches } from './secrets.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Algorithms accepted for client assertions: asymmetric only. */
export const CLIENT_ASSERTION_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
/** A client assertion may not be valid for longer than this ahead of now. */
export const MAX_ASSERTION_AHEAD_SECONDS = 300;
const TOLERANCE = 30;
const DUMMY_HASH = 'A'.repeat(43);

export interface AuthenticatedClient {
  account: ServiceAccount;
  method: ClientAuthMethod;
}

export interface ClientAuthDeps {
  accounts: ServiceAccountStore;
  limiter: ClientLimiterClient;
  /** Epoch ms. */
  now: number;
  /** `<origin>/oauth/token` and the issuer (origin): the accepted `aud` of client assertions. */
  audiences: string[];
}

export interface ClientAuthResult {
  client: AuthenticatedClient | null;
  /** True when the request used the Authorization header (the 401 then names the Basic scheme). */
  viaHeader: boolean;
}

function fail(logReason: string, cause?: unknown): never {
  throw oauthError('invalid_client', 'client authentication failed', { logReason, ...(cause !== undefined ? { cause } : {}) });
}

function formDecode(s: string): string {
  return decodeURIComponent(s.replace(/\+/g, ' '));
}

function basicCredentials(header: string): { id: string; secret: string } {
  const m = /^Basic +([A-Za-z0-9+/]+=*) *$/i.exec(header);
  if (!m) fail('basic-malformed');
  let decoded: string;
  try {
    decoded = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(atob(m[1]!), (c) => c.charCodeAt(0)));
  } catch {
    fail('basic-malformed');
  }
  const colon = decoded.indexOf(':');
  if (colon < 0) fail('basic-malformed');
  try {
    return { id: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
  } catch {
    fail('basic-malformed');
  }
}

async function usableAccount(deps: ClientAuthDeps, id: string): Promise<ServiceAccount | null> {
  if (!SERVICE_ID.test(id)) return null;
  return deps.accounts.get(id);
}

function checkAccount(account: ServiceAccount | null, method: ClientAuthMethod, nowS: number): asserts account is ServiceAccount {
  if (!account) fail('unknown-client');
  if (account.disabled) fail('client-disabled');
  if (account.expiresAt !== undefined && account.expiresAt <= nowS) fail('client-expired');
  if (!account.authMethods.includes(method)) fail('method-not-allowed-for-client');
}

async function bySecret(deps: ClientAuthDeps, id: string, secret: string, method: ClientAuthMethod): Promise<AuthenticatedClient> {
  const nowS = Math.floor(deps.now / 1000);
  const account = await usableAccount(deps, id);
  const hashes: string[] = [];
  if (account?.secretHash) hashes.push(account.secretHash);
  if (account?.previousSecretHash && (account.previousSecretExpiresAt ?? 0) > nowS) hashes.push(account.previousSecretHash);
  // Compare even for an unknown client, so the answer takes as long either way.
  const ok = await secretMatches(secret, hashes.length > 0 ? hashes : [DUMMY_HASH]);
  checkAccount(account, method, nowS);
  if (!ok || hashes.length === 0) fail('bad-secret');
  return { account, method };
}

async function byAssertion(deps: ClientAuthDeps, assertion: string, claimedId: string | undefined): Promise<AuthenticatedClient> {
  if (assertion.length > 8192 || !/^[\w-]+\.[\w-]+\.[\w-]+$/.test(assertion)) fail('assertion-malformed');
  let iss: unknown;
  try {
    ({ iss } = decodeJwt(assertion));
  } catch (cause) {
    fail('assertion-malformed', cause);
  }
  if (typeof iss !== 'string' || (claimedId !== undefined && claimedId !== iss)) fail('assertion-client-mismatch');
  const nowS = Math.floor(deps.now / 1000);
  const account = await usableAccount(deps, iss);
  checkAccount(account, 'private_key_jwt', nowS);
  if (!account.jwks || account.jwks.keys.length === 0) fail('no-registered-keys');
  let payload;
  try {
    ({ payload } = await jwtVerify(assertion, createLocalJWKSet(publicKeys(account.jwks)), {
      algorithms: CLIENT_ASSERTION_ALGS,
      issuer: account.id,
      subject: account.id,
      audience: deps.audiences,
      currentDate: new Date(deps.now),
      clockTolerance: TOLERANCE,
      requiredClaims: ['exp', 'jti'],
    }));
  } catch (cause) {
    fail(cause instanceof joseErrors.JOSEError ? `assertion-${cause.code}` : 'assertion-invalid', cause);
  }
  const exp = payload.exp!;
  if (exp > nowS + MAX_ASSERTION_AHEAD_SECONDS + TOLERANCE) fail('assertion-lifetime');
  const jti = payload.jti;
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > 256) fail('assertion-jti');
  if (!(await deps.limiter.useOnce(account.id, jti, exp + TOLERANCE))) fail('assertion-replayed');
  return { account, method: 'private_key_jwt' };
}

/**
 * Authenticate the client of an OAuth request. Returns `client: null` when the
 * request carries no client credentials at all (a bare `client_id` is not a
 * credential); throws `invalid_client` when credentials are present but fail,
 * and `invalid_request` when more than one method is used.
 */
export async function authenticateClient(authorization: string | null, form: OAuthForm, deps: ClientAuthDeps): Promise<ClientAuthResult> {
  const basic = authorization !== null;
  const post = form.has('client_secret');
  const jwt = form.has('client_assertion') || form.has('client_assertion_type');
  const used = Number(basic) + Number(post) + Number(jwt);
  if (used > 1) throw oauthError('invalid_request', 'use exactly one client authentication method');
  if (used === 0) return { client: null, viaHeader: false };
  if (basic) {
    if (!/^Basic /i.test(authorization!)) {
      throw oauthError('invalid_client', 'authenticate the client with HTTP Basic, client_secret_post or private_key_jwt', { logReason: 'authorization-not-basic' });
    }
    const { id, secret } = basicCredentials(authorization!);
    const bodyId = form.get('client_id');
    if (bodyId !== undefined && bodyId !== id) throw oauthError('invalid_request', 'client_id differs from the authenticated client');
    return { client: await bySecret(deps, id, secret, 'client_secret_basic'), viaHeader: true };
  }
  if (post) {
    const id = form.get('client_id');
    if (id === undefined) throw oauthError('invalid_request', 'client_secret_post needs client_id');
    return { client: await bySecret(deps, id, form.get('client_secret')!, 'client_secret_post'), viaHeader: false };
  }
  if (form.get('client_assertion_type') !== JWT_BEARER_ASSERTION || !form.has('client_assertion')) {
    throw oauthError('invalid_request', `private_key_jwt needs client_assertion_type=${JWT_BEARER_ASSERTION} and client_assertion`);
  }
  return { client: await byAssertion(deps, form.get('client_assertion')!, form.get('client_id')), viaHeader: false };
}
