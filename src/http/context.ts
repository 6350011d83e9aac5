/** Dependencies of the HTTP layer and the per-request context handed to routes. */
import type { AuditSink, AuditStore, WaitUntil } from '../audit/index.js';
import type { AdminDeps } from '../admin/index.js';
import type { FetchLike, OidcClient, SessionManager } from '../auth/index.js';
import type { SnapshotSource } from '../catalog/index.js';
import type { GatewayConfig } from '../config.js';
import type { DeviceContextSource } from '../device/index.js';
import type { Clock, Logger, Random } from '../platform/index.js';
import type { CookieCodec } from '../session/index.js';
import type { HandoffStore } from '../store/index.js';
import type { KeyRing } from '../token/index.js';
import type { OAuthService } from '../oauth/index.js';

export interface GatewayDeps {
  config: GatewayConfig;
  clock: Clock;
  random: Random;
  logger: Logger;
  codec: CookieCodec;
  keyRing: KeyRing;
  oidc: OidcClient;
  sessions: SessionManager;
  handoffs: HandoffStore;
  snapshots: SnapshotSource;
  devices: DeviceContextSource;
  /** Used for upstream forwards only. */
  upstreamFetch: FetchLike;
  /** The admin API's store, version publisher and revocation checker (docs/admin-api.md). */
  admin: AdminDeps;
  /** Audit records leave the request through here (off the hot path: docs/audit.md). */
  audit: AuditSink;
  /** The stored audit trail (query, export, replay: docs/audit.md). Never used on the hot path. */
  auditLog: AuditStore;
  /** Service identity: token endpoint, introspection, bearer tokens on workload hosts (docs/services.md). Absent: /oauth/* is 404 and bearer tokens are refused. */
  oauth?: OAuthService;
}

export interface RequestContext {
  deps: GatewayDeps;
  request: Request;
  url: URL;
  requestId: string;
  /** Lower-cased Host (authority, port included). */
  authority: string;
  /** Browser navigation (Sec-Fetch-Mode: navigate or Accept: text/html). */
  browser: boolean;
  /** Fields added to the request's log line. */
  log: Record<string, string | number | boolean | string[] | undefined>;
  /** The Worker's `ctx.waitUntil`: work that may finish after the response (audit sends). */
  waitUntil?: WaitUntil;
}

/** Hono bindings: the request context travels as `c.env.rc`. */
export interface HttpBindings {
  rc: RequestContext;
}

export function nowSeconds(deps: GatewayDeps): number {
  return Math.floor(deps.clock.now() / 1000);
}

export function isBrowserNavigation(request: Request): boolean {
  if (request.headers.get('sec-fetch-mode') === 'navigate') return true;
  const accept = request.headers.get('accept');
  return accept !== null && accept.toLowerCase().includes('text/html');
}
