/**
 * Getting audit events off the hot path (DESIGN §7).
 *
 * The gateway hands each event to an `AuditSink` and moves on: the send runs
 * under `waitUntil`, so it never delays the response, and a failed send is
 * logged (event kind, request id and error name only) — it never turns a
 * response into an error. The production sink is a Cloudflare Queue producer;
 * the queue's consumer (`consumeAuditBatch`, the Worker's `queue()` handler)
 * batches the events into D1. An in-memory batch inside the isolate would be
 * lost with the isolate, so there is none.
 */
import type { Logger } from '../platform/index.js';
import type { AuditEvent } from './events.js';
import type { AuditStore } from './store.js';

export type WaitUntil = (promise: Promise<unknown>) => void;

export interface AuditSink {
  /**
   * Record an event. Returns at once; never throws. `event` may be a promise
   * (fields computed off the hot path, e.g. the policy hash). Without
   * `waitUntil` the send is started and not awaited.
   */
  record(event: AuditEvent | Promise<AuditEvent>, waitUntil?: WaitUntil): void;
}

/** The one producer method the sink needs (a `Queue` binding has it). */
export interface AuditQueue {
  send(message: AuditEvent, options?: { contentType?: 'json' | 'v8' | 'text' | 'bytes' }): Promise<unknown>;
}

function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}

function deliver(work: (event: AuditEvent) => Promise<unknown>, logger: Logger, event: AuditEvent | Promise<AuditEvent>, waitUntil?: WaitUntil): void {
  let kind = 'unknown';
  let requestId: string | undefined;
  const run = (async () => {
    const e = await event;
    kind = e.kind;
    requestId = e.requestId;
    await work(e);
  })().catch((err: unknown) => {
    logger.error('audit-send-failed', { kind, request_id: requestId, error: errorName(err) });
  });
  try {
    waitUntil?.(run);
  } catch (err) {
    logger.error('audit-send-failed', { kind, request_id: requestId, error: errorName(err) });
  }
}

/** Production: a Cloudflare Queue producer (binding `AUDIT`). */
export function queueAuditSink(queue: AuditQueue, logger: Logger): AuditSink {
  return {
    record(event, waitUntil) {
      deliver((e) => queue.send(e, { contentType: 'json' }), logger, event, waitUntil);
    },
  };
}

/** Fallback without a queue: one D1 insert per event, still under `waitUntil`. */
export function directAuditSink(store: AuditStore, logger: Logger): AuditSink {
  return {
    record(event, waitUntil) {
      deliver((e) => store.append([e]), logger, event, waitUntil);
    },
  };
}

/** Tests: keeps events in memory, in order. */
export function memoryAuditSink(): AuditSink & { events: AuditEvent[]; settled(): Promise<void> } {
  const events: AuditEvent[] = [];
  const pending: Promise<unknown>[] = [];
  return {
    events,
    record(event) {
      pending.push(Promise.resolve(event).then((e) => events.push(e)));
    },
    async settled() {
      await Promise.allSettled(pending.splice(0));
    },
  };
}

/** Records nothing (benchmarks that measure the gateway without audit). */
export const nullAuditSink: AuditSink = { record() {} };
