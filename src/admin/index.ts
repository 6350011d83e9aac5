/**
 * Admin use-cases: validated input → store + audit (docs/admin-api.md). HTTP
 * lives in src/http/admin; this module knows nothing about requests.
 */
export { applyOps, createConfigService, type Actor, type AdminRequest, type ConfigService, type ConfigServiceOptions, type FieldError, type WritePlan } from './config.js';
export { createSessionAdmin, sessionToWire, sessionVersion, type Revoker, type SessionAdmin, type SessionAdminOptions, type WireSession } from './sessions.js';
export { decisionSubject, holds, type AdminPermission, type Principal } from './principal.js';
export * from './wire.js';

import type { AdminStore } from '../store/admin-ports.js';
import type { VersionStore } from '../store/ports.js';
import type { Revoker } from './sessions.js';

/** What the gateway hands the admin API (functions/gateway.ts builds it). */
export interface AdminDeps {
  store: AdminStore;
  versions: Pick<VersionStore, 'publish'>;
  /** The same checker the hot path uses, so this isolate knows a revocation at once. */
  revocation: Revoker;
}
export * from './policy-document.js';
export { createReplay, replay, type FlipExample, type ReplayOptions, type ReplayRecord, type ReplayReport } from './replay.js';
