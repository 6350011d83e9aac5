/**
 * Storage ports. Adapters: D1 (+ KV for the version) in `d1.ts`, in-memory in
 * `memory.ts`; one conformance suite runs against both
 * (test/integration/support/store-conformance.ts). Key formats and SQL live in
 * `keys.ts`. Adapters throw TollgateError('internal') with the backend error as
 * `cause`; callers never see backend-specific errors.
 */
export * from './keys.js';
export * from './ports.js';
export { createD1Store, type D1StoreBindings } from './d1.js';
export { createMemoryStore, type MemoryStoreOptions } from './memory.js';
export * from './admin.js';
export * from './services.js';
export { KV_TRUSTED_ISSUERS_VERSION, SERVICES_SQL } from './services-sql.js';
export { createMemoryAdminStore, type MemoryAdminStore, type MemoryAdminStoreOptions } from './admin-memory.js';
