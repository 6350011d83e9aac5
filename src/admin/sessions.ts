/**
 * Session administration: list a user's sessions, revoke one or all of them.
 * A revocation goes to the RevocationLedger Durable Object first (the
 * strongly consistent source the hot path checks), then the D1 row is marked
 * revoked together with its audit record in one batch (the record only if the
 * row changed). A failure after the ledger step answers 500; the retry is
 * harmless (the ledger is idempotent, the row is marked once).
 */
import { TollgateError } from '../errors.js';
import type { AdminStore, ChangeRecord, Page, PageRequest, SessionFilter } from '../store/admin-ports.js';
import type { SessionRecord } from '../store/ports.js';
import type { AdminRequest } from './config.js';

/** Sessions have two versions: 1 while active (or merely expired), 2 once revoked. */
export function sessionVersion(s: SessionRecord): number {
  return s.revokedAt === undefined ? 1 : 2;
}

export interface WireSession {
  id: string;
  subject: string;
  email: string | null;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
  /** Neither revoked nor past its absolute expiry. */
  active: boolean;
}

export function sessionToWire(s: SessionRecord, now: number): WireSession {
  return {
    id: s.id,
    subject: s.subject,
    email: s.email ?? null,
    created_at: s.createdAt,
    expires_at: s.expiresAt,
    revoked_at: s.revokedAt ?? null,
    active: s.revokedAt === undefined && s.expiresAt > now,
  };
}

/** The part of src/revocation's RevocationChecker used here (declared locally: that module carries the Durable Object). */
export interface Revoker {
  revoke(sid: string, expiresAt: number): Promise<void>;
}

export interface SessionAdminOptions {
  store: AdminStore;
  revocation: Revoker;
}

export interface SessionAdmin {
  list(page: PageRequest, filter: SessionFilter): Promise<Page<SessionRecord>>;
  get(id: string): Promise<SessionRecord>;
  /** 404 unknown, 412 stale If-Match. Revoking a revoked session with its current ETag is a no-op. */
  revoke(id: string, ifMatch: readonly number[], req: AdminRequest): Promise<SessionRecord>;
  /** Every active session of `subject`; returns the ids revoked now. */
  revokeAll(subject: string, req: AdminRequest): Promise<string[]>;
}

const BATCH = 200;
const MAX_ROUNDS = 25;

export function createSessionAdmin({ store, revocation }: SessionAdminOptions): SessionAdmin {
  function record(req: AdminRequest, s: SessionRecord, now: number): ChangeRecord {
    return {
      at: req.now,
      requestId: req.requestId,
      actor: req.actor,
      kind: 'revocation',
      action: 'revoke',
      resource: 'session',
      id: s.id,
      before: sessionToWire(s, now),
      after: sessionToWire({ ...s, revokedAt: now }, now),
    };
  }

  async function revokeRecords(list: SessionRecord[], req: AdminRequest): Promise<string[]> {
    for (const s of list) await revocation.revoke(s.id, s.expiresAt);
    return store.sessions.markRevoked(list.map((s) => ({ id: s.id, audit: record(req, s, req.now) })), req.now);
  }

  return {
    list: (page, filter) => store.sessions.page(page, filter),

    async get(id) {
      const s = await store.sessions.get(id);
      if (!s) throw new TollgateError('not-found', 'no such session');
      return s;
    },

    async revoke(id, ifMatch, req) {
      const s = await store.sessions.get(id);
      if (!s) throw new TollgateError('not-found', 'no such session');
      if (!ifMatch.includes(sessionVersion(s))) {
        throw new TollgateError('precondition-failed', 'the session has changed since it was read (If-Match does not match its ETag); read it again');
      }
      if (s.revokedAt !== undefined) return s;
      await revokeRecords([s], req);
      return (await store.sessions.get(id)) ?? { ...s, revokedAt: req.now };
    },

    async revokeAll(subject, req) {
      const done: string[] = [];
      for (let round = 0; round < MAX_ROUNDS; round++) {
        const list = await store.sessions.activeOf(subject, req.now, BATCH);
        if (list.length === 0) break;
        await revokeRecords(list, req);
        // Already-revoked rows (a concurrent revocation) drop out of the next round either way.
        done.push(...list.map((s) => s.id));
        if (list.length < BATCH) break;
      }
      return done;
    },
  };
}
