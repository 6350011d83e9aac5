/**
 * Session lifecycle on top of the `src/session` codec: create at sign-in, read
 * (seal, timeouts, host binding, revocation), re-issue, revoke.
 */
import { TollgateError } from '../errors.js';
import type { Clock, Random } from '../platform/index.js';
import type { RevocationChecker } from '../revocation/index.js';
import {
  sessionState,
  type CookieCodec,
  type CookieNames,
  type SessionClaims,
  type SessionTimeouts,
} from '../session/index.js';
import type { SessionStore } from '../store/index.js';
import { userSubject } from '../token/index.js';
import type { Identity } from './oidc.js';

/** Browsers keep at most ~4096 bytes per cookie (name, value and attributes). */
const MAX_SEALED_LENGTH = 3800;

export type RefusalReason = 'invalid' | 'expired' | 'idle-expired' | 'wrong-host' | 'revoked';

export type SessionRead =
  | { kind: 'valid'; claims: SessionClaims; refresh: boolean }
  | { kind: 'absent' }
  /** `claims` is present when the cookie opened (e.g. idle-expired, revoked, wrong host). */
  | { kind: 'refused'; reason: RefusalReason; claims?: SessionClaims };

export interface SessionManagerOptions {
  codec: CookieCodec;
  names: CookieNames;
  timeouts: SessionTimeouts;
  revocation: RevocationChecker;
  store: SessionStore;
  clock: Clock;
  random: Random;
}

function looksLikeClaims(v: unknown): v is SessionClaims {
  if (typeof v !== 'object' || v === null) return false;
  const c = v as Record<string, unknown>;
  return (
    typeof c.sid === 'string' &&
    typeof c.sub === 'string' &&
    typeof c.iss === 'string' &&
    typeof c.idpSub === 'string' &&
    typeof c.host === 'string' &&
    Array.isArray(c.groups) &&
    typeof c.createdAt === 'number' &&
    typeof c.seenAt === 'number' &&
    typeof c.expiresAt === 'number' &&
    typeof c.authTime === 'number'
  );
}

export interface SessionManager {
  readonly names: CookieNames;
  /** Read the session cookie values sent on `authority`. Revocation errors throw (fail closed). */
  read(values: string[], authority: string): Promise<SessionRead>;
  /** Check opened claims against the host, timeouts and the ledger. */
  check(claims: SessionClaims, authority: string): Promise<SessionRead>;
  /**
   * A new session for someone who just signed in on `authority`: claims, the sealed cookie
   * value, and the D1 row — written last, so a refused session leaves no row behind.
   */
  create(identity: Identity, authority: string): Promise<{ claims: SessionClaims; sealed: string }>;
  /** Seal claims into a cookie value (TTL = remaining absolute lifetime). */
  seal(claims: SessionClaims): Promise<string>;
  /** Revoke the session everywhere (ledger + D1 row). */
  revoke(claims: SessionClaims): Promise<void>;
  /** Seconds until the absolute expiry (cookie Max-Age). */
  remaining(claims: SessionClaims): number;
}

export function createSessionManager(options: SessionManagerOptions): SessionManager {
  const { codec, timeouts, revocation, store, clock, random } = options;
  const nowSec = () => Math.floor(clock.now() / 1000);

  async function check(claims: SessionClaims, authority: string): Promise<SessionRead> {
    const state = sessionState(claims, authority, nowSec(), timeouts);
    if (state === 'wrong-host' || state === 'expired' || state === 'idle-expired') {
      return { kind: 'refused', reason: state, claims };
    }
    if (await revocation.isRevoked(claims.sid, claims.expiresAt)) return { kind: 'refused', reason: 'revoked', claims };
    return { kind: 'valid', claims, refresh: state === 'refresh' };
  }

  async function seal(claims: SessionClaims): Promise<string> {
    const ttl = claims.expiresAt - nowSec();
    if (ttl <= 0) throw new TollgateError('unauthenticated', 'the session has expired');
    const sealed = await codec.seal('session', claims, ttl, nowSec());
    if (sealed.length > MAX_SEALED_LENGTH) {
      throw new TollgateError('bad-request', 'the identity carries too many attributes for a session');
    }
    return sealed;
  }

  return {
    names: options.names,
    check,

    async read(values, authority) {
      if (values.length === 0) return { kind: 'absent' };
      // Several cookies of one name (possible over http, where a sibling host may set one): the
      // first that is valid wins. Under https the __Host- prefix rules this out.
      let first: SessionRead | undefined;
      for (const value of values.slice(0, 4)) {
        const opened = await codec.open<SessionClaims>('session', value, nowSec());
        const result: SessionRead =
          opened && looksLikeClaims(opened) ? await check(opened, authority) : { kind: 'refused', reason: 'invalid' };
        if (result.kind === 'valid') return result;
        first ??= result;
      }
      return first ?? { kind: 'refused', reason: 'invalid' };
    },

    async create(identity, authority) {
      const now = nowSec();
      const claims: SessionClaims = {
        sid: random.id(16),
        sub: await userSubject(identity.issuer, identity.sub),
        iss: identity.issuer,
        idpSub: identity.sub,
        groups: identity.groups,
        authTime: identity.authTime ?? now,
        createdAt: now,
        seenAt: now,
        expiresAt: now + timeouts.maxSeconds,
        host: authority,
      };
      if (identity.email) claims.email = identity.email;
      if (identity.name) claims.name = identity.name;
      if (identity.amr) claims.amr = identity.amr;
      if (identity.acr) claims.acr = identity.acr;
      const sealed = await seal(claims);
      await store.create({
        id: claims.sid,
        subject: claims.sub,
        ...(claims.email ? { email: claims.email } : {}),
        createdAt: claims.createdAt,
        expiresAt: claims.expiresAt,
      });
      return { claims, sealed };
    },

    seal,

    async revoke(claims) {
      await revocation.revoke(claims.sid, claims.expiresAt);
      await store.markRevoked(claims.sid, nowSec());
    },

    remaining(claims) {
      return Math.max(0, claims.expiresAt - nowSec());
    },
  };
}
