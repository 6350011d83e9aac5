/**
 * A token endpoint in Node for unit tests: memory stores, limiter and ledger,
 * a compiled policy and catalog, the gateway's key ring, a frozen clock.
 */
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createServiceAccountAdmin, type ServiceAccountInput } from '../../../src/admin/service-accounts.js';
import type { TokenEvent } from '../../../src/audit/index.js';
import { compileCatalog, type GatewaySnapshot, type Workload } from '../../../src/catalog/index.js';
import { createIssuerRegistry, type FetchLike, type TrustedIssuer } from '../../../src/federation/index.js';
import { handleTokenRequest, parseOAuthForm, type OAuthService, type TokenResponseBody } from '../../../src/oauth/index.js';
import { compile, type PolicyDocument } from '../../../src/policy/index.js';
import { cryptoRandom, fixedClock, silentLogger } from '../../../src/platform/index.js';
import { memoryLimiter } from '../../../src/ratelimit/memory.js';
import { createPrincipalStatus, memoryPrincipalLedger } from '../../../src/revocation/principals.js';
import { createMemoryServiceStores } from '../../../src/store/services-memory.js';
import { generateSigningJwk, loadKeyRing, type KeyRing } from '../../../src/token/index.js';

export const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
export const NOW_S = NOW / 1000;
export const ORIGIN = 'https://gw.example.com';
export const TOKEN_ENDPOINT = `${ORIGIN}/oauth/token`;

const endpoint = (id: string) => ({ id, url: 'https://10.0.0.1', location: 'onprem', source: 'static' as const, health: 'healthy' as const });
export const WORKLOADS: Workload[] = ['inventory', 'billing', 'reports'].map((id) => ({ id, name: id, hosts: [`${id}.example.com`], endpoints: [endpoint(`${id}-1`)] }));

export const POLICY: PolicyDocument = {
  roles: [
    { id: 'inventory-reader', permissions: [], grants: [{ id: 'read', workload: 'inventory', methods: ['GET'], paths: ['/items/**'] }] },
    { id: 'billing-all', permissions: [], grants: [{ id: 'all', workload: 'billing', methods: ['*'], paths: ['/**'] }] },
    { id: 'svc-admin', permissions: ['admin'], grants: [] },
  ],
  bindings: [
    { id: 'a-inv', subject: { kind: 'service', value: 'svc-a' }, roleId: 'inventory-reader' },
    { id: 'b-bill', subject: { kind: 'service', value: 'svc-b' }, roleId: 'billing-all' },
    { id: 'b-inv', subject: { kind: 'service', value: 'svc-b' }, roleId: 'inventory-reader' },
    { id: 'ops-admin', subject: { kind: 'service', value: 'ops' }, roleId: 'svc-admin' },
    { id: 'gh-inv', subject: { kind: 'service', value: 'deployer' }, roleId: 'inventory-reader' },
  ],
  denyRules: [],
};

export interface World {
  clock: ReturnType<typeof fixedClock>;
  keyRing: KeyRing;
  oauth: OAuthService;
  events: TokenEvent[];
  ledger: ReturnType<typeof memoryPrincipalLedger>;
  stores: ReturnType<typeof createMemoryServiceStores>;
  admin: ReturnType<typeof createServiceAccountAdmin>;
  /** Create a service account; returns its secret. */
  account(id: string, input?: ServiceAccountInput): Promise<string>;
  token(params: Record<string, string> | string, authorization?: string | null, extra?: { ip?: string }): Promise<TokenResponseBody>;
  addIssuer(t: TrustedIssuer): Promise<void>;
}

export const REQ = (now: number) => ({ actor: { subject: 'user:test:admin', via: 'token' as const }, requestId: 'req-admin', now });

export function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

export async function clientKey(alg: 'ES256' | 'RS256' | 'EdDSA' = 'ES256', kid = 'client-1'): Promise<{ privateKey: CryptoKey; jwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true });
  return { privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

export async function world(o: { rateLimit?: number; fetch?: FetchLike; policy?: PolicyDocument } = {}): Promise<World> {
  const clock = fixedClock(NOW);
  const stores = createMemoryServiceStores();
  const ledger = memoryPrincipalLedger();
  const principals = createPrincipalStatus({ ledger, clock, cacheSeconds: 5 });
  const keyRing = await loadKeyRing({ keys: [await generateSigningJwk('EdDSA', 'gw-1')] });
  const doc = o.policy ?? POLICY;
  const snapshot: GatewaySnapshot = {
    version: '1',
    policy: compile(doc, { version: '1', workloads: WORKLOADS.map((w) => w.id) }),
    catalog: compileCatalog(WORKLOADS, { originAuthority: 'gw.example.com' }),
    document: doc,
    needsCountry: true,
    loadedAt: NOW,
  };
  const fetch: FetchLike = o.fetch ?? (async () => new Response('no network in unit tests', { status: 599 }));
  const urlPolicy = { allowInsecure: 'none' as const };
  const oauth: OAuthService = {
    config: { accessTokenTtlSeconds: 600, rateLimitPerMinute: o.rateLimit ?? 60, allowInsecureIssuers: 'none', jwksCooldownSeconds: 30 },
    accounts: stores.accounts,
    issuers: stores.issuers,
    registry: createIssuerRegistry({ source: stores.issuers, clock, logger: silentLogger, refreshSeconds: 0, jwks: { fetch, clock, urlPolicy } }),
    limiter: memoryLimiter(clock),
    principals,
    urlPolicy,
    fetch,
  };
  const admin = createServiceAccountAdmin({ store: stores.accounts, principals, random: cryptoRandom, nowMs: () => clock.now() });
  const events: TokenEvent[] = [];
  return {
    clock,
    keyRing,
    oauth,
    events,
    ledger,
    stores,
    admin,
    async account(id, input = {}) {
      const r = await admin.create(id, input, REQ(Math.floor(clock.now() / 1000)));
      return r.secret ?? '';
    },
    token(params, authorization = null, extra = {}) {
      return handleTokenRequest(parseOAuthForm(typeof params === 'string' ? params : new URLSearchParams(params).toString()), authorization, {
        oauth,
        origin: ORIGIN,
        scheme: 'https',
        keyRing,
        clock,
        random: cryptoRandom,
        logger: silentLogger,
        snapshot,
        assertionTtlSeconds: 30,
        requestId: 'rid-1',
        ...extra,
        audit: (e) => events.push(e),
      });
    },
    async addIssuer(t) {
      await stores.issuers.create(t, { at: 0, requestId: 'r', actor: { subject: 's', via: 'token' }, action: 'create', resource: 'trusted-issuer', id: t.id, before: null, after: null });
    },
  };
}
