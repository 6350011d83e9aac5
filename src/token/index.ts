/**
 * CONTRACT STUB — the token helper replaces the bodies; signatures are fixed.
 * Per-request assertions (DESIGN §5), signing keys and the JWKS.
 */
import type { JWK } from 'jose';
import type { Random } from '../platform/index.js';

export const ASSERTION_TYP = 'tollgate-assertion+jwt';
export type AssertionAlg = 'EdDSA' | 'ES256';

export interface SigningKey {
  kid: string;
  alg: AssertionAlg;
  privateKey: CryptoKey;
}

export interface KeyRing {
  /** The key that signs now. */
  active: SigningKey;
  /** Every published public key (active, next and retiring), for /.well-known/jwks.json. */
  jwks: { keys: JWK[] };
}

/**
 * Import a private JWKS once (JSON string or object; each key has `kid` and `alg`).
 * `activeKid` picks the signing key (default: the first key). Keys other than the
 * active one are published but do not sign (rotation: publish first, sign later).
 */
export async function loadKeyRing(_privateJwks: string | { keys: JWK[] }, _activeKid?: string): Promise<KeyRing> {
  throw new Error('not implemented');
}

/** Generate a private signing JWK (with kid, alg, use "sig"). Used by `npm start` and tests. */
export async function generateSigningJwk(_alg: AssertionAlg = 'EdDSA', _kid?: string): Promise<JWK> {
  throw new Error('not implemented');
}

/** "user:<h>:<sub>", h = first 12 chars of base64url(SHA-256(idpIssuer)). */
export async function userSubject(_idpIssuer: string, _sub: string): Promise<string> {
  throw new Error('not implemented');
}

/** "service:<id>". */
export function serviceSubject(id: string): string {
  return `service:${id}`;
}

export interface AssertionInput {
  issuer: string;
  /** Workload id. */
  audience: string;
  subject: string;
  requestId: string;
  method: string;
  /** Path plus query exactly as the workload will receive them. */
  target: string;
  sessionId?: string;
  roles: string[];
  email?: string;
  device?: { id: string; trust: string };
  cnf?: Record<string, unknown>;
  act?: Record<string, unknown>;
  /** Endpoint id, where the workload has several endpoints. */
  endpoint?: string;
  /** Seconds; default 30, must be 1..60. */
  ttlSeconds?: number;
}

export interface MintOptions {
  /** Milliseconds since the epoch. */
  now: number;
  random: Random;
}

/** Mint a compact JWS per DESIGN §5 (typ tollgate-assertion+jwt, 128-bit jti). */
export async function mintAssertion(_input: AssertionInput, _key: SigningKey, _options: MintOptions): Promise<string> {
  throw new Error('not implemented');
}
