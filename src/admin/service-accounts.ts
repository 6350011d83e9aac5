/**
 * Service accounts (docs/services.md): create (the secret is returned once),
 * read, update, rotate the secret with an overlap, disable / enable, delete.
 * Each write is one D1 batch with its audit record.
 *
 * Revocation order: whenever the account ends up disabled or gone, the
 * principal is disabled in the RevocationLedger FIRST (every token issued up
 * to now dies, at every isolate within REVOCATION_CACHE_SECONDS), then D1 is
 * written; if that write is refused, the ledger is set back. Enabling writes
 * D1 first, then the ledger (older tokens stay dead). A failure in between
 * errs on the side of refusing.
 */
import type { JWK } from 'jose';
import { TollgateError } from '../errors.js';
import { publicKeys } from '../federation/jwks.js';
import { CLIENT_AUTH_METHODS, SERVICE_GRANT_TYPES, servicePrincipal, type ClientAuthMethod, type ServiceAccount, type ServiceGrantType } from '../oauth/model.js';
import { generateClientSecret, hashClientSecret } from '../oauth/secrets.js';
import type { Random } from '../platform/index.js';
import type { ChangeRecord, Page, PageRequest } from '../store/admin-ports.js';
import type { ServiceAccountStore } from '../store/services-ports.js';
import type { AdminRequest, FieldError } from './config.js';

/** What the use-cases need of the principal revocation state (src/revocation/principals.ts). */
export interface PrincipalSwitch {
  set(subject: string, state: { disabled: boolean; notBefore: number }): Promise<void>;
}

export interface ServiceAccountAdminOptions {
  store: ServiceAccountStore;
  principals: PrincipalSwitch;
  random: Random;
  /** Epoch ms (versions). */
  nowMs: () => number;
}

/** Wire form (snake_case); never holds a secret or its hash. */
export interface WireServiceAccount {
  id: string;
  client_id: string;
  name: string;
  description: string;
  disabled: boolean;
  expires_at: number | null;
  token_endpoint_auth_methods: ClientAuthMethod[];
  grant_types: ServiceGrantType[];
  jwks: { keys: JWK[] } | null;
  rate_limit_per_minute: number | null;
  secret: { created_at: number; previous_expires_at: number | null } | null;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface ServiceAccountInput {
  name?: string | undefined;
  description?: string | undefined;
  disabled?: boolean | undefined;
  expires_at?: number | null | undefined;
  token_endpoint_auth_methods?: ClientAuthMethod[] | undefined;
  grant_types?: ServiceGrantType[] | undefined;
  jwks?: { keys: unknown[] } | null | undefined;
  rate_limit_per_minute?: number | null | undefined;
}

export interface RotateInput {
  /** Until when the old secret keeps working (epoch s); default now (no overlap). At most 30 days ahead. */
  previous_secret_expires_at?: number | undefined;
  /** Also kill every token issued so far. */
  revoke_tokens?: boolean | undefined;
}

export const MAX_OVERLAP_SECONDS = 30 * 86400;

export function serviceAccountToWire(a: ServiceAccount, now: number): WireServiceAccount {
  return {
    id: a.id,
    client_id: a.id,
    name: a.name,
    description: a.description,
    disabled: a.disabled,
    expires_at: a.expiresAt ?? null,
    token_endpoint_auth_methods: [...a.authMethods],
    grant_types: [...(a.grantTypes ?? SERVICE_GRANT_TYPES)],
    jwks: a.jwks ? structuredClone(a.jwks) : null,
    rate_limit_per_minute: a.rateLimitPerMinute ?? null,
    secret:
      a.secretHash !== undefined
        ? { created_at: a.secretCreatedAt ?? a.createdAt, previous_expires_at: a.previousSecretHash !== undefined && (a.previousSecretExpiresAt ?? 0) > now ? a.previousSecretExpiresAt! : null }
        : null,
    created_at: a.createdAt,
    updated_at: a.updatedAt,
    version: a.version,
  };
}

function invalid(pointer: string, detail: string): TollgateError {
  return new TollgateError('policy-invalid', `${pointer}: ${detail}`, { details: { errors: [{ in: 'body', pointer, detail } satisfies FieldError] } });
}

const PRIVATE = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** Registered keys: public, asymmetric, signature keys with a kid; RSA at least 2048 bits. */
function checkJwks(jwks: { keys: unknown[] }): { keys: JWK[] } {
  if (!Array.isArray(jwks.keys) || jwks.keys.length === 0) throw invalid('/jwks/keys', 'must hold at least one public key');
  jwks.keys.forEach((k, i) => {
    if (k === null || typeof k !== 'object' || Array.isArray(k)) throw invalid(`/jwks/keys/${i}`, 'must be a JWK object');
    const jwk = k as Record<string, unknown>;
    if (PRIVATE.some((m) => m in jwk)) throw invalid(`/jwks/keys/${i}`, 'holds private key material: register the public key only (and replace this key, it has been disclosed)');
    if (jwk.kty !== 'RSA' && jwk.kty !== 'EC' && jwk.kty !== 'OKP') throw invalid(`/jwks/keys/${i}/kty`, 'must be RSA, EC or OKP');
    if (jwk.use !== undefined && jwk.use !== 'sig') throw invalid(`/jwks/keys/${i}/use`, 'must be "sig"');
    if (typeof jwk.kid !== 'string' || jwk.kid.length === 0 || jwk.kid.length > 256) throw invalid(`/jwks/keys/${i}/kid`, 'is required');
    if (jwk.kty === 'RSA' && (typeof jwk.n !== 'string' || jwk.n.length < 342)) throw invalid(`/jwks/keys/${i}/n`, 'RSA keys must be at least 2048 bits');
  });
  const kids = jwks.keys.map((k) => (k as { kid: string }).kid);
  if (new Set(kids).size !== kids.length) throw invalid('/jwks/keys', 'kids must be unique');
  const clean = publicKeys(jwks);
  if (clean.keys.length !== jwks.keys.length) throw invalid('/jwks/keys', 'holds keys that cannot be used for signatures');
  return clean;
}

export interface ServiceAccountAdmin {
  list(page: PageRequest): Promise<Page<ServiceAccount>>;
  get(id: string): Promise<ServiceAccount>;
  create(id: string, input: ServiceAccountInput, req: AdminRequest): Promise<{ account: ServiceAccount; secret?: string }>;
  update(id: string, input: ServiceAccountInput, ifMatch: readonly number[], req: AdminRequest): Promise<ServiceAccount>;
  rotateSecret(id: string, input: RotateInput, ifMatch: readonly number[], req: AdminRequest): Promise<{ account: ServiceAccount; secret: string }>;
  remove(id: string, ifMatch: readonly number[], req: AdminRequest): Promise<void>;
}

export function createServiceAccountAdmin(o: ServiceAccountAdminOptions): ServiceAccountAdmin {
  const { store, principals } = o;
  const nextVersion = (prev: number) => Math.max(prev + 1, o.nowMs());
  const subject = servicePrincipal;

  function record(req: AdminRequest, action: string, id: string, before: ServiceAccount | null, after: ServiceAccount | null): ChangeRecord {
    return {
      at: req.now,
      requestId: req.requestId,
      actor: req.actor,
      kind: 'change',
      action,
      resource: 'service-account',
      id,
      before: before ? serviceAccountToWire(before, req.now) : null,
      after: after ? serviceAccountToWire(after, req.now) : null,
    };
  }

  async function current(id: string, ifMatch: readonly number[]): Promise<ServiceAccount> {
    const a = await store.get(id);
    if (!a) throw new TollgateError('not-found', `no service account "${id.slice(0, 128)}"`);
    if (!ifMatch.includes(a.version)) {
      throw new TollgateError('precondition-failed', 'the service account has changed since it was read (If-Match does not match its ETag); read it again');
    }
    return a;
  }

  function apply(base: ServiceAccount, input: ServiceAccountInput, now: number, creating: boolean): ServiceAccount {
    const next: ServiceAccount = { ...base };
    if (input.name !== undefined) next.name = input.name;
    if (input.description !== undefined) next.description = input.description;
    if (input.disabled !== undefined) next.disabled = input.disabled;
    if (input.expires_at !== undefined) {
      if (input.expires_at === null) delete next.expiresAt;
      else {
        if (input.expires_at <= now) throw invalid('/expires_at', 'must be in the future');
        next.expiresAt = input.expires_at;
      }
    }
    if (input.jwks !== undefined) {
      if (input.jwks === null) delete next.jwks;
      else next.jwks = checkJwks(input.jwks);
    }
    if (input.rate_limit_per_minute !== undefined) {
      if (input.rate_limit_per_minute === null) delete next.rateLimitPerMinute;
      else next.rateLimitPerMinute = input.rate_limit_per_minute;
    }
    if (input.token_endpoint_auth_methods !== undefined) {
      next.authMethods = CLIENT_AUTH_METHODS.filter((m) => input.token_endpoint_auth_methods!.includes(m));
    } else if (creating) {
      next.authMethods = next.jwks ? [...CLIENT_AUTH_METHODS] : ['client_secret_basic', 'client_secret_post'];
    }
    if (next.authMethods.length === 0) throw invalid('/token_endpoint_auth_methods', 'must allow at least one method');
    if (input.grant_types !== undefined) {
      const grants = SERVICE_GRANT_TYPES.filter((g) => input.grant_types!.includes(g));
      if (grants.length === 0) throw invalid('/grant_types', 'must allow at least one grant type');
      if (grants.length === SERVICE_GRANT_TYPES.length) delete next.grantTypes;
      else next.grantTypes = grants;
    }
    if (next.authMethods.includes('private_key_jwt') && !next.jwks) throw invalid('/jwks', 'private_key_jwt needs registered public keys');
    return next;
  }

  /** Disable first when the result is disabled; undo when the write is refused. */
  async function guardedWrite(before: ServiceAccount | null, after: ServiceAccount | null, now: number, write: () => Promise<{ committed: boolean }>): Promise<boolean> {
    const id = (after ?? before)!.id;
    const endsDisabled = after === null || after.disabled;
    const wasDisabled = before === null || before.disabled;
    if (endsDisabled) await principals.set(subject(id), { disabled: true, notBefore: wasDisabled ? 0 : now + 1 });
    const { committed } = await write();
    if (!committed) {
      if (endsDisabled && before !== null && !before.disabled) await principals.set(subject(id), { disabled: false, notBefore: 0 }).catch(() => undefined);
      return false;
    }
    if (!endsDisabled && wasDisabled) await principals.set(subject(id), { disabled: false, notBefore: now });
    return true;
  }

  const stale = () => new TollgateError('precondition-failed', 'the service account has changed since it was read (If-Match does not match its ETag); read it again');

  return {
    list: (page) => store.page(page),

    async get(id) {
      const a = await store.get(id);
      if (!a) throw new TollgateError('not-found', `no service account "${id.slice(0, 128)}"`);
      return a;
    },

    async create(id, input, req) {
      const now = req.now;
      const base: ServiceAccount = { id, name: '', description: '', disabled: false, authMethods: [], createdAt: now, updatedAt: now, version: nextVersion(0) };
      const account = apply(base, input, now, true);
      let secret: string | undefined;
      if (account.authMethods.some((m) => m !== 'private_key_jwt')) {
        secret = generateClientSecret(o.random);
        account.secretHash = await hashClientSecret(secret);
        account.secretCreatedAt = now;
      }
      if (await store.get(id)) throw new TollgateError('conflict', `a service account with id "${id}" already exists`);
      const { committed } = await store.create(account, record(req, 'create', id, null, account));
      if (!committed) throw new TollgateError('conflict', `a service account with id "${id}" already exists`);
      // A deleted account with this id left its principal disabled in the ledger until now; the new one
      // never inherits its tokens (not-before = now).
      await principals.set(subject(id), { disabled: account.disabled, notBefore: now });
      return secret === undefined ? { account } : { account, secret };
    },

    async update(id, input, ifMatch, req) {
      const before = await current(id, ifMatch);
      const after = apply(before, input, req.now, false);
      after.updatedAt = req.now;
      after.version = nextVersion(before.version);
      const action = before.disabled !== after.disabled ? (after.disabled ? 'disable' : 'enable') : 'update';
      const ok = await guardedWrite(before, after, req.now, () => store.update(after, before.version, record(req, action, id, before, after)));
      if (!ok) throw stale();
      return after;
    },

    async rotateSecret(id, input, ifMatch, req) {
      const before = await current(id, ifMatch);
      if (!before.authMethods.some((m) => m !== 'private_key_jwt')) {
        throw invalid('/token_endpoint_auth_methods', 'this account does not use a client secret: allow client_secret_basic or client_secret_post first');
      }
      const until = input.previous_secret_expires_at ?? req.now;
      if (until < req.now || until > req.now + MAX_OVERLAP_SECONDS) throw invalid('/previous_secret_expires_at', `must be between now and ${MAX_OVERLAP_SECONDS / 86400} days from now`);
      const secret = generateClientSecret(o.random);
      const after: ServiceAccount = { ...before, secretHash: await hashClientSecret(secret), secretCreatedAt: req.now, updatedAt: req.now, version: nextVersion(before.version) };
      if (before.secretHash !== undefined && until > req.now) {
        after.previousSecretHash = before.secretHash;
        after.previousSecretExpiresAt = until;
      } else {
        delete after.previousSecretHash;
        delete after.previousSecretExpiresAt;
      }
      if (input.revoke_tokens === true) await principals.set(subject(id), { disabled: before.disabled, notBefore: req.now + 1 });
      const { committed } = await store.update(after, before.version, record(req, input.revoke_tokens === true ? 'rotate-secret-and-revoke' : 'rotate-secret', id, before, after));
      if (!committed) throw stale();
      return { account: after, secret };
    },

    async remove(id, ifMatch, req) {
      const before = await current(id, ifMatch);
      const ok = await guardedWrite(before, null, req.now, () => store.remove(id, before.version, record(req, 'delete', id, before, null)));
      if (!ok) throw stale();
    },
  };
}
