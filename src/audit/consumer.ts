/**
 * The audit queue's consumer (the Worker's `queue()` handler): validate each
 * message, write the batch to D1 in one `batch()` (all or nothing), ack. A
 * storage failure retries the whole batch later (event ids make the retry
 * harmless); a malformed message is acknowledged and logged, never retried
 * forever.
 */
import type { Logger } from '../platform/index.js';
import { AUDIT_EVENT_VERSION, type AuditEvent } from './events.js';
import type { AuditStore } from './store.js';

/** The parts of a Workers `MessageBatch` the consumer uses. */
export interface AuditMessageBatch {
  readonly queue: string;
  readonly messages: readonly { readonly id: string; readonly body: unknown; ack(): void }[];
  ackAll(): void;
  retryAll(options?: { delaySeconds?: number }): void;
}

const QUEUE_KINDS = new Set(['decision', 'sign-in', 'sign-out', 'revocation', 'token']);
const MAX_ID = 128;

function isString(v: unknown, max = 16384): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

/** Structural check of a queue message. `change` records never travel through the queue. */
export function isAuditEvent(v: unknown): v is AuditEvent {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const e = v as Record<string, unknown>;
  if (e.v !== AUDIT_EVENT_VERSION || !isString(e.id, MAX_ID) || !isString(e.kind, 32) || !QUEUE_KINDS.has(e.kind)) return false;
  if (typeof e.at !== 'number' || !Number.isFinite(e.at) || !isString(e.requestId, MAX_ID)) return false;
  if (e.subject !== null && !isString(e.subject, 1024)) return false;
  if (e.kind === 'decision') {
    return isString(e.workload, 256) && (e.decision === 'allow' || e.decision === 'deny') && Array.isArray(e.reasons);
  }
  if (e.kind === 'token') return (e.outcome === 'issued' || e.outcome === 'refused') && isString(e.grantType, 128);
  return isString(e.sessionId, MAX_ID);
}

export interface ConsumeOptions {
  store: AuditStore;
  logger: Logger;
  /** Delay before a failed batch is delivered again (default 10 s). */
  retryDelaySeconds?: number;
}

/** Producers send each event as JSON text (serialised once, also to size the batch); older ones sent the object. */
function bodyOf(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

export async function consumeAuditBatch(batch: AuditMessageBatch, options: ConsumeOptions): Promise<{ written: number; dropped: number }> {
  const { store, logger } = options;
  const events: AuditEvent[] = [];
  let dropped = 0;
  for (const m of batch.messages) {
    const body = bodyOf(m.body);
    if (isAuditEvent(body)) events.push(body);
    else {
      dropped++;
      logger.error('audit-message-malformed', { queue: batch.queue, message: m.id });
    }
  }
  try {
    await store.append(events);
  } catch (err) {
    logger.error('audit-write-failed', { queue: batch.queue, count: events.length, error: err instanceof Error ? err.name : 'unknown' });
    batch.retryAll({ delaySeconds: options.retryDelaySeconds ?? 10 });
    return { written: 0, dropped };
  }
  batch.ackAll();
  return { written: events.length, dropped };
}
