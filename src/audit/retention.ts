/**
 * Retention (AUDIT_RETENTION_DAYS): the scheduled handler deletes records older
 * than the window, oldest first, in bounded chunks so one run never holds D1
 * for long; what a run leaves behind the next run takes.
 */
import type { Logger } from '../platform/index.js';
import type { AuditStore } from './store.js';

export interface RetentionOptions {
  store: AuditStore;
  logger: Logger;
  /** Epoch milliseconds. */
  now: number;
  days: number;
  chunk?: number;
  maxChunks?: number;
}

export async function enforceRetention(o: RetentionOptions): Promise<number> {
  const cutoff = Math.floor(o.now / 1000) - o.days * 86400;
  const deleted = await o.store.purge(cutoff, { chunk: o.chunk ?? 1000, maxChunks: o.maxChunks ?? 50 });
  o.logger.info('audit-retention', { cutoff, days: o.days, deleted });
  return deleted;
}
