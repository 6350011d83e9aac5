/**
 * Service identity helpers (workerd side): service accounts and bindings
 * through the admin API, token requests to /oauth/token, bearer requests to
 * workload hosts, and external tokens from the suite's fake issuers.
 */
import { env } from 'cloudflare:workers';
import { exportJWK, generateKeyPair, SignJWT, type JWK, type JWTPayload } from 'jose';
import { call } from './admin.js';
import { gw } from './client.js';
import { GATEWAY_ORIGIN } from './constants.js';

export const TOKEN_URL = `${GATEWAY_ORIGIN}/oauth/token`;
export const INTROSPECT_URL = `${GATEWAY_ORIGIN}/oauth/introspect`;
export const EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const AT = 'urn:ietf:params:oauth:token-type:access_token';
export const JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const ASSERTION = 'urn:tollgate:token-type:assertion';
export const ISSUERS = (env as unknown as { TEST_ISSUERS_URL: string }).TEST_ISSUERS_URL;

export function basic(id: string, secret: string): string {
  return `Basic ${btoa(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`)}`;
}

export interface Account {
  id: string;
  secret: string;
  etag: string;
  body: Record<string, unknown>;
}

/** A service account through the admin API (201), with its one-time secret. */
export async function createAccount(id: string, body: Record<string, unknown> = {}): Promise<Account> {
  const res = await call('POST', '/service-accounts', { body: { id, ...body } });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`create service account ${id}: ${res.status} ${text}`);
  const parsed = JSON.parse(text) as Record<string, unknown>;
  return { id, secret: String(parsed.client_secret ?? ''), etag: res.headers.get('etag')!, body: parsed };
}

/** Bind a service to a role (admin API). */
export async function bind(service: string, roleId: string, id = `b-${service}-${roleId}`): Promise<void> {
  const res = await call('POST', '/bindings', { body: { id, subject: { kind: 'service', value: service }, role_id: roleId } });
  if (res.status !== 201) throw new Error(`bind ${service} → ${roleId}: ${res.status} ${await res.text()}`);
}

export function tokenRequest(params: Record<string, string> | string, headers: Record<string, string> = {}): Promise<Response> {
  return gw(TOKEN_URL, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: typeof params === 'string' ? params : new URLSearchParams(params).toString(),
  });
}

/** client_credentials with client_secret_basic; throws unless 200. */
export async function clientToken(a: { id: string; secret: string }, params: Record<string, string> = {}): Promise<string> {
  const res = await tokenRequest({ grant_type: 'client_credentials', ...params }, { authorization: basic(a.id, a.secret) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token for ${a.id}: ${res.status} ${text}`);
  return (JSON.parse(text) as { access_token: string }).access_token;
}

export function bearer(host: string, path: string, token: string, init: RequestInit & { headers?: Record<string, string> } = {}): Promise<Response> {
  return gw(`http://${host}${path}`, { ...init, headers: { accept: 'application/json', ...init.headers, authorization: `Bearer ${token}` } });
}

export function claimsOf(token: string): Record<string, unknown> {
  const part = token.split('.')[1]!;
  return JSON.parse(atob(part.replace(/-/g, '+').replace(/_/g, '/'))) as Record<string, unknown>;
}

// ------------------------------------------------------------------ external issuers

export interface FakeIssuer {
  name: string;
  issuer: string;
  key: { privateKey: CryptoKey; jwk: JWK };
  /** Publish these public keys at the issuer's JWKS. */
  publish(keys: JWK[]): Promise<void>;
  fetches(): Promise<number>;
  setStatus(status: number): Promise<void>;
  sign(claims: JWTPayload, header?: Record<string, unknown>, key?: { privateKey: CryptoKey; jwk: JWK }): Promise<string>;
}

export async function rsaKey(kid: string): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

/** An issuer at <TEST_ISSUERS_URL>/<name> with one published RS256 key. */
export async function fakeIssuer(name: string): Promise<FakeIssuer> {
  const issuer = `${ISSUERS}/${name}`;
  const key = await rsaKey(`${name}-1`);
  const f: FakeIssuer = {
    name,
    issuer,
    key,
    async publish(keys) {
      const r = await fetch(`${issuer}/jwks`, { method: 'PUT', body: JSON.stringify({ keys }) });
      if (r.status !== 204) throw new Error(`publish: ${r.status}`);
    },
    async fetches() {
      return ((await (await fetch(`${issuer}/stats`)).json()) as { fetches: number }).fetches;
    },
    async setStatus(status) {
      await fetch(`${issuer}/status`, { method: 'PUT', body: JSON.stringify({ status }) });
    },
    sign(claims, header = {}, k = key) {
      const now = Math.floor(Date.now() / 1000);
      return new SignJWT({ iss: issuer, iat: now, exp: now + 300, ...claims }).setProtectedHeader({ alg: 'RS256', kid: k.jwk.kid!, typ: 'JWT', ...header }).sign(k.privateKey);
    },
  };
  await f.publish([key.jwk]);
  return f;
}

/** Register a trusted issuer (admin API); returns the response. */
export function registerIssuer(body: Record<string, unknown>): Promise<Response> {
  return call('POST', '/trusted-issuers', { body });
}
