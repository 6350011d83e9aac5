/**
 * The Worker. Thin: validate config once per isolate, build dependencies, hand
 * the request to src/http. Also exports the RevocationLedger Durable Object.
 * `queue()` consumes the audit queue into D1; `scheduled()` enforces audit
 * retention (docs/audit.md).
 */
import { consumeAuditBatch, enforceRetention, queueAuditSink, type AuditMessageBatch, type AuditSink } from '../src/audit/index.js';
import { createD1AuditStore } from '../src/audit/d1.js';
import { createOidcClient, createSessionManager } from '../src/auth/index.js';
import { createSnapshotSource } from '../src/catalog/index.js';
import { parseConfig } from '../src/config.js';
import { noDeviceContext } from '../src/device/index.js';
import { createApp, errorResponse, type GatewayApp, type WaitUntilContext } from '../src/http/index.js';
import { consoleLogger, cryptoRandom, systemClock, type Clock, type Logger } from '../src/platform/index.js';
import { createOAuthService, parseOAuthConfig } from '../src/oauth/index.js';
import { limiterClient, type ClientLimiterClient } from '../src/ratelimit/index.js';
import {
  createPrincipalStatus,
  createRevocationChecker,
  ledgerClient,
  principalLedgerClient,
  type PrincipalLedgerClient,
  type RevocationLedgerClient,
} from '../src/revocation/index.js';
import { cookieNames, createCookieCodec } from '../src/session/index.js';
import { createD1AdminStore, createD1ServiceStores, createD1Store } from '../src/store/index.js';
import { loadKeyRing } from '../src/token/index.js';

export { RevocationLedger } from '../src/revocation/index.js';
export { ClientLimiter } from '../src/ratelimit/index.js';

const fetchFn = (input: Request | string | URL, init?: RequestInit) => fetch(input, init);

/** What tests may replace (frozen clock, a failing ledger, a quiet logger). */
export interface GatewayOverrides {
  clock?: Clock;
  logger?: Logger;
  ledger?: RevocationLedgerClient;
  /** Replaces the AUDIT queue producer (e.g. a sink that fails, or one that records). */
  audit?: AuditSink;
  /** Service principals' revocation state (default: the REVOCATIONS Durable Object). */
  principalLedger?: PrincipalLedgerClient;
  /** Per-client rate limits and single-use jtis (default: the CLIENT_LIMITS Durable Object). */
  limiter?: ClientLimiterClient;
}

/** Build the gateway for an Env. Exported for the integration suite; the Worker uses it through `fetch`. */
export async function buildGateway(env: Env, overrides: GatewayOverrides = {}): Promise<GatewayApp> {
  const config = parseConfig(env as unknown as Record<string, unknown>);
  const clock = overrides.clock ?? systemClock;
  const logger = overrides.logger ?? consoleLogger;
  const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
  const codec = await createCookieCodec(config.sessionSecret);
  const keyRing = await loadKeyRing(config.signingKeys, config.signingKid);
  const revocation = createRevocationChecker({
    ledger: overrides.ledger ?? ledgerClient(env.REVOCATIONS),
    clock,
    cacheSeconds: config.revocationCacheSeconds,
  });
  return createApp({
    config,
    clock,
    random: cryptoRandom,
    logger,
    codec,
    keyRing,
    oidc: createOidcClient({ settings: config.oidc, fetch: fetchFn, clock }),
    sessions: createSessionManager({
      codec,
      names: cookieNames(config.secureCookies),
      timeouts: config.session,
      revocation,
      store: store.sessions,
      clock,
      random: cryptoRandom,
    }),
    handoffs: store.handoffs,
    snapshots: createSnapshotSource({
      loader: store.config,
      versions: store.version,
      clock,
      logger,
      refreshSeconds: config.policyRefreshSeconds,
      assertionTtlSeconds: config.assertionTtlSeconds,
      originAuthority: config.originAuthority,
    }),
    devices: noDeviceContext,
    upstreamFetch: fetchFn,
    admin: { store: createD1AdminStore({ DB: env.DB }), versions: store.version, revocation },
    audit: overrides.audit ?? queueAuditSink(env.AUDIT, logger),
    auditLog: createD1AuditStore(env.DB),
    oauth: createOAuthService({
      config: parseOAuthConfig(env as unknown as Record<string, unknown>),
      stores: createD1ServiceStores({ DB: env.DB, CONFIG: env.CONFIG }),
      limiter: overrides.limiter ?? limiterClient(env.CLIENT_LIMITS),
      principals: createPrincipalStatus({
        ledger: overrides.principalLedger ?? principalLedgerClient(env.REVOCATIONS),
        clock,
        cacheSeconds: config.revocationCacheSeconds,
      }),
      fetch: fetchFn,
      clock,
      logger,
      refreshSeconds: config.policyRefreshSeconds,
    }),
  });
}

// One gateway per isolate (per env object): config is validated and keys imported once.
let current: { env: Env; app: Promise<GatewayApp> } | undefined;

function gatewayFor(env: Env): Promise<GatewayApp> {
  if (current?.env !== env) current = { env, app: buildGateway(env) };
  return current.app;
}

export default {
  async fetch(request: Request, env: Env, ctx?: WaitUntilContext): Promise<Response> {
    let app: GatewayApp;
    try {
      app = await gatewayFor(env);
    } catch (err) {
      // Invalid configuration: every request is a 500 with a request id; the log names the variables.
      const requestId = cryptoRandom.id(16);
      const accept = request.headers.get('accept') ?? '';
      const browser = request.headers.get('sec-fetch-mode') === 'navigate' || accept.includes('text/html');
      return errorResponse(err, { requestId, browser, logger: consoleLogger });
    }
    return app.fetch(request, ctx);
  },

  /** The AUDIT queue's consumer: one D1 batch per message batch; a failure retries the batch. */
  async queue(batch: MessageBatch, env: Env): Promise<void> {
    await consumeAuditBatch(batch as AuditMessageBatch, { store: createD1AuditStore(env.DB), logger: consoleLogger });
  },

  /** Cron (wrangler.toml [triggers]): audit retention, in bounded chunks. */
  async scheduled(controller: ScheduledController, env: Env): Promise<void> {
    const days = parseConfig(env as unknown as Record<string, unknown>).auditRetentionDays;
    await enforceRetention({ store: createD1AuditStore(env.DB), logger: consoleLogger, now: controller.scheduledTime, days });
  },
} satisfies ExportedHandler<Env>;
