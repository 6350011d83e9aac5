/**
 * Trusted external issuers (docs/services.md, "Workload identity
 * federation"): register, read, update, delete. Every URL an admin gives (the
 * issuer, its JWKS) or that discovery returns must pass the SSRF checks of
 * src/federation/url-guard.ts; without a `jwks_uri` or inline `jwks`, the
 * JWKS URL is discovered now (`<issuer>/.well-known/openid-configuration`)
 * and stored, so the hot path never runs discovery. Each write is one D1
 * batch with its audit record and bumps the trusted-issuer version every
 * isolate watches.
 */
import type { JWK } from 'jose';
import { TollgateError } from '../errors.js';
import { discoverJwksUri } from '../federation/discovery.js';
import { publicKeys, type FetchLike } from '../federation/jwks.js';
import { rulesProblem } from '../federation/mapping.js';
import { EXTERNAL_ALGORITHMS, type ExternalAlgorithm, type IssuerPreset, type MappingRule, type TrustedIssuer } from '../federation/model.js';
import { PRESETS } from '../federation/presets.js';
import { urlProblem, type UrlPolicy } from '../federation/url-guard.js';
import type { ChangeRecord, Page, PageRequest } from '../store/admin-ports.js';
import type { TrustedIssuerStore } from '../store/services-ports.js';
import type { AdminRequest, FieldError } from './config.js';

export interface TrustedIssuerAdminOptions {
  store: TrustedIssuerStore;
  urlPolicy: UrlPolicy;
  fetch: FetchLike;
  /** TOLLGATE_ORIGIN: never a trusted issuer (our own tokens are verified against our own keys). */
  origin: string;
  nowMs: () => number;
}

export interface WireTrustedIssuer {
  id: string;
  preset: IssuerPreset;
  issuer: string;
  description: string;
  jwks_uri: string | null;
  jwks: { keys: JWK[] } | null;
  audiences: string[];
  algorithms: ExternalAlgorithm[];
  max_lifetime_seconds: number;
  rules: MappingRule[];
  disabled: boolean;
  created_at: number;
  updated_at: number;
  version: number;
}

export interface TrustedIssuerInput {
  preset: IssuerPreset;
  issuer?: string | undefined;
  description?: string | undefined;
  jwks_uri?: string | undefined;
  jwks?: { keys: unknown[] } | undefined;
  audiences: string[];
  algorithms?: ExternalAlgorithm[] | undefined;
  max_lifetime_seconds?: number | undefined;
  rules: MappingRule[];
  disabled?: boolean | undefined;
}

export const MAX_EXTERNAL_LIFETIME = 2 * 86400;

export function trustedIssuerToWire(t: TrustedIssuer): WireTrustedIssuer {
  return {
    id: t.id,
    preset: t.preset,
    issuer: t.issuer,
    description: t.description,
    jwks_uri: t.jwksUri ?? null,
    jwks: t.jwks ? structuredClone(t.jwks) : null,
    audiences: [...t.audiences],
    algorithms: [...t.algorithms],
    max_lifetime_seconds: t.maxLifetimeSeconds,
    rules: t.rules.map((r) => ({ service: r.service, claims: { ...r.claims } })),
    disabled: t.disabled,
    created_at: t.createdAt,
    updated_at: t.updatedAt,
    version: t.version,
  };
}

function invalid(pointer: string, detail: string, code: 'policy-invalid' | 'conflict' = 'policy-invalid'): TollgateError {
  return new TollgateError(code, `${pointer}: ${detail}`, { details: { errors: [{ in: 'body', pointer, detail } satisfies FieldError] } });
}

export interface TrustedIssuerAdmin {
  list(page: PageRequest): Promise<Page<TrustedIssuer>>;
  get(id: string): Promise<TrustedIssuer>;
  create(id: string, input: TrustedIssuerInput, req: AdminRequest): Promise<TrustedIssuer>;
  update(id: string, input: TrustedIssuerInput, ifMatch: readonly number[], req: AdminRequest): Promise<TrustedIssuer>;
  remove(id: string, ifMatch: readonly number[], req: AdminRequest): Promise<void>;
}

export function createTrustedIssuerAdmin(o: TrustedIssuerAdminOptions): TrustedIssuerAdmin {
  const { store } = o;
  const nextVersion = (prev: number) => Math.max(prev + 1, o.nowMs());

  async function build(id: string, input: TrustedIssuerInput, base: { createdAt: number; version: number }, now: number): Promise<TrustedIssuer> {
    const spec = PRESETS[input.preset];
    const issuer = input.issuer ?? spec.issuer;
    if (issuer === null || issuer === undefined) throw invalid('/issuer', `is required for the ${input.preset} preset`);
    const issuerProblem = urlProblem(issuer, o.urlPolicy);
    if (issuerProblem) throw invalid('/issuer', issuerProblem);
    if (new URL(issuer).search) throw invalid('/issuer', 'must not have a query');
    if (issuer === o.origin || issuer === `${o.origin}/`) throw invalid('/issuer', 'is this gateway: its own tokens need no registration');
    if (input.jwks !== undefined && input.jwks_uri !== undefined) throw invalid('/jwks', 'give jwks_uri or jwks, not both');
    const rules = input.rules.map((r) => ({ service: r.service, claims: { ...r.claims } }));
    const problem = rulesProblem(input.preset, rules);
    if (problem) throw invalid(`/rules${problem.pointer}`, problem.detail);
    const algorithms = [...new Set(input.algorithms ?? spec.algorithms)];
    if (algorithms.length === 0 || algorithms.some((a) => !(EXTERNAL_ALGORITHMS as readonly string[]).includes(a))) {
      throw invalid('/algorithms', `must be asymmetric algorithms (${EXTERNAL_ALGORITHMS.join(', ')}); never none or HMAC`);
    }
    const t: TrustedIssuer = {
      id,
      preset: input.preset,
      issuer,
      description: input.description ?? '',
      audiences: [...new Set(input.audiences)],
      algorithms,
      maxLifetimeSeconds: input.max_lifetime_seconds ?? spec.maxLifetimeSeconds,
      rules,
      disabled: input.disabled ?? false,
      createdAt: base.createdAt,
      updatedAt: now,
      version: nextVersion(base.version),
    };
    if (t.maxLifetimeSeconds < 60 || t.maxLifetimeSeconds > MAX_EXTERNAL_LIFETIME) throw invalid('/max_lifetime_seconds', `must be 60..${MAX_EXTERNAL_LIFETIME}`);
    if (input.jwks !== undefined) {
      if (input.jwks.keys.some((k) => k !== null && typeof k === 'object' && ['d', 'k', 'p', 'q'].some((m) => m in (k as object)))) {
        throw invalid('/jwks', 'holds private or symmetric key material: give the public keys only');
      }
      const keys = publicKeys(input.jwks);
      if (keys.keys.length === 0) throw invalid('/jwks', 'holds no usable public signature key');
      t.jwks = keys;
    } else if (input.jwks_uri !== undefined) {
      const p = urlProblem(input.jwks_uri, o.urlPolicy);
      if (p) throw invalid('/jwks_uri', p);
      t.jwksUri = input.jwks_uri;
    } else {
      try {
        t.jwksUri = await discoverJwksUri(issuer, { fetch: o.fetch, urlPolicy: o.urlPolicy });
      } catch (err) {
        const why = err instanceof TollgateError ? err.message : 'discovery failed';
        throw invalid('/issuer', `OIDC discovery failed (${why}); give jwks_uri or jwks instead`);
      }
    }
    return t;
  }

  function record(req: AdminRequest, action: string, id: string, before: TrustedIssuer | null, after: TrustedIssuer | null): ChangeRecord {
    return {
      at: req.now,
      requestId: req.requestId,
      actor: req.actor,
      kind: 'change',
      action,
      resource: 'trusted-issuer',
      id,
      before: before ? trustedIssuerToWire(before) : null,
      after: after ? trustedIssuerToWire(after) : null,
    };
  }

  async function current(id: string, ifMatch: readonly number[]): Promise<TrustedIssuer> {
    const t = await store.get(id);
    if (!t) throw new TollgateError('not-found', `no trusted issuer "${id.slice(0, 128)}"`);
    if (!ifMatch.includes(t.version)) throw new TollgateError('precondition-failed', 'the trusted issuer has changed since it was read (If-Match does not match its ETag); read it again');
    return t;
  }

  async function issuerTaken(issuer: string, id: string): Promise<boolean> {
    const holder = await store.idByIssuer(issuer);
    return holder !== null && holder !== id;
  }

  return {
    list: (page) => store.page(page),

    async get(id) {
      const t = await store.get(id);
      if (!t) throw new TollgateError('not-found', `no trusted issuer "${id.slice(0, 128)}"`);
      return t;
    },

    async create(id, input, req) {
      if (await store.get(id)) throw new TollgateError('conflict', `a trusted issuer with id "${id}" already exists`);
      const t = await build(id, input, { createdAt: req.now, version: 0 }, req.now);
      if (await issuerTaken(t.issuer, id)) throw invalid('/issuer', 'is already registered under another id', 'conflict');
      const { committed } = await store.create(t, record(req, 'create', id, null, t));
      if (!committed) throw new TollgateError('conflict', 'the id or the issuer is already registered');
      return t;
    },

    async update(id, input, ifMatch, req) {
      const before = await current(id, ifMatch);
      const after = await build(id, input, before, req.now);
      if (await issuerTaken(after.issuer, id)) throw invalid('/issuer', 'is already registered under another id', 'conflict');
      const { committed } = await store.update(after, before.version, record(req, 'update', id, before, after));
      if (!committed) throw new TollgateError('precondition-failed', 'the trusted issuer has changed since it was read (If-Match does not match its ETag); read it again');
      return after;
    },

    async remove(id, ifMatch, req) {
      const before = await current(id, ifMatch);
      const { committed } = await store.remove(id, before.version, record(req, 'delete', id, before, null));
      if (!committed) throw new TollgateError('precondition-failed', 'the trusted issuer has changed since it was read (If-Match does not match its ETag); read it again');
    },
  };
}
