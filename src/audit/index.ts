/** Audit trail (DESIGN §7): event types and normalisation, the sink, the queue consumer, storage, retention. */
export * from './events.js';
export { tokenEvent, type TokenEvent, type TokenEventFields } from './token-events.js';
export { consumeAuditBatch, isAuditEvent, type AuditMessageBatch, type ConsumeOptions } from './consumer.js';
export { policyHash } from './policy-hash.js';
export { directAuditSink, memoryAuditSink, nullAuditSink, queueAuditSink, type AuditQueue, type AuditSink, type BatchingOptions, type WaitUntil } from './sink.js';
// The D1 adapter (src/audit/d1.ts) is imported directly by the Worker's wiring: this index stays runtime-neutral (Node tests load it).
export {
  createMemoryAuditStore,
  type AuditFilter,
  type AuditPage,
  type AuditRecord,
  type AuditStore,
} from './store.js';
export { enforceRetention, type RetentionOptions } from './retention.js';
