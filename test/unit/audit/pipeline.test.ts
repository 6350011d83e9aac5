import { describe, expect, it } from 'vitest';
import {
  consumeAuditBatch,
  createMemoryAuditStore,
  enforceRetention,
  memoryAuditSink,
  noSessionEvent,
  queueAuditSink,
  sessionEvent,
  type AuditEvent,
  type AuditMessageBatch,
  type AuditStore,
} from '../../../src/audit/index.js';
import type { LogFields, Logger } from '../../../src/platform/index.js';

function recordingLogger(): Logger & { lines: { level: string; event: string; fields?: LogFields }[] } {
  const lines: { level: string; event: string; fields?: LogFields }[] = [];
  const at = (level: string) => (event: string, fields?: LogFields) => void lines.push({ level, event, ...(fields ? { fields } : {}) });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

const ev = (i: number, at = 1_000_000 + i * 1000, extra: Partial<Parameters<typeof noSessionEvent>[0]> = {}): AuditEvent =>
  noSessionEvent({ id: `e${i}`, at, requestId: `r${i}`, host: 'h', workload: i % 2 ? 'inventory' : 'billing', method: 'GET', path: `/${i}`, policyVersion: '1', session: 'absent', ...extra });

function batchOf(bodies: unknown[]) {
  const state = { acked: false, retried: null as null | { delaySeconds?: number } };
  const batch: AuditMessageBatch = {
    queue: 'tollgate-audit',
    messages: bodies.map((body, i) => ({ id: `m${i}`, body, ack() {} })),
    ackAll: () => void (state.acked = true),
    retryAll: (o) => void (state.retried = o ?? {}),
  };
  return { batch, state };
}

describe('queue sink', () => {
  it('sends under waitUntil, returns at once', async () => {
    const sent: AuditEvent[] = [];
    const waited: Promise<unknown>[] = [];
    const sink = queueAuditSink({ send: async (m) => void sent.push(m) }, recordingLogger());
    sink.record(ev(1), (p) => waited.push(p));
    expect(waited).toHaveLength(1);
    await Promise.all(waited);
    expect(sent.map((e) => e.id)).toEqual(['e1']);
  });

  it('a failing send (thrown or rejected) is logged by kind and request id, never thrown', async () => {
    const log = recordingLogger();
    const waited: Promise<unknown>[] = [];
    const rejecting = queueAuditSink({ send: () => Promise.reject(new TypeError('queue down: token=SECRET')) }, log);
    const throwing = queueAuditSink({ send: () => { throw new RangeError('too big'); } }, log);
    expect(() => rejecting.record(ev(1), (p) => waited.push(p))).not.toThrow();
    expect(() => throwing.record(Promise.resolve(ev(2)), (p) => waited.push(p))).not.toThrow();
    await Promise.all(waited);
    expect([...log.lines].sort((a, b) => String(a.fields?.request_id).localeCompare(String(b.fields?.request_id)))).toEqual([
      { level: 'error', event: 'audit-send-failed', fields: { kind: 'decision', request_id: 'r1', error: 'TypeError' } },
      { level: 'error', event: 'audit-send-failed', fields: { kind: 'decision', request_id: 'r2', error: 'RangeError' } },
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('SECRET');
  });

  it('memory sink keeps events in order', async () => {
    const sink = memoryAuditSink();
    sink.record(ev(1));
    sink.record(Promise.resolve(ev(2)));
    await sink.settled();
    expect(sink.events.map((e) => e.id)).toEqual(['e1', 'e2']);
  });
});

describe('consumer', () => {
  it('writes a batch and acks it; redelivery inserts nothing twice', async () => {
    const store = createMemoryAuditStore();
    const log = recordingLogger();
    const events = [ev(1), ev(2), sessionEvent('sign-in', { id: 's1', at: 5000, requestId: 'r9', host: 'o', subject: 'user:h:a', sessionId: 'sid' })];
    const first = batchOf(events);
    expect(await consumeAuditBatch(first.batch, { store, logger: log })).toEqual({ written: 3, dropped: 0 });
    expect(first.state.acked).toBe(true);
    const again = batchOf(events);
    await consumeAuditBatch(again.batch, { store, logger: log });
    expect(store.rows().map((r) => r.requestId)).toEqual(['r1', 'r2', 'r9']);
  });

  it('a storage failure retries the whole batch; malformed messages are dropped and logged', async () => {
    const failing: AuditStore = { ...createMemoryAuditStore(), append: () => Promise.reject(new Error('D1 busy')) };
    const log = recordingLogger();
    const { batch, state } = batchOf([ev(1), { v: 1, kind: 'change', id: 'x' }, 'junk', null]);
    expect(await consumeAuditBatch(batch, { store: failing, logger: log, retryDelaySeconds: 3 })).toEqual({ written: 0, dropped: 3 });
    expect(state).toEqual({ acked: false, retried: { delaySeconds: 3 } });
    expect(log.lines.filter((l) => l.event === 'audit-message-malformed')).toHaveLength(3);
    expect(log.lines.at(-1)).toMatchObject({ event: 'audit-write-failed', fields: { count: 1, error: 'Error' } });
  });
});

describe('memory store: filters, paging, retention', () => {
  it('filters and pages newest first', async () => {
    const store = createMemoryAuditStore();
    await store.append(Array.from({ length: 25 }, (_, i) => ev(i)));
    const p1 = await store.query({ workload: 'inventory' }, { limit: 5 });
    expect(p1.records.map((r) => r.requestId)).toEqual(['r23', 'r21', 'r19', 'r17', 'r15']);
    const p2 = await store.query({ workload: 'inventory' }, { limit: 5, before: p1.next! });
    expect(p2.records[0]!.requestId).toBe('r13');
    const ranged = await store.query({ from: 1010, to: 1013 }, { limit: 50 });
    expect(ranged.records.map((r) => r.requestId)).toEqual(['r12', 'r11', 'r10']);
    expect((await store.query({ from: 1010, to: 1013 }, { limit: 3 })).next).toBeNull();
  });

  it('retention deletes older records in bounded chunks', async () => {
    const store = createMemoryAuditStore();
    const day = 86400_000;
    const now = 200 * day;
    await store.append([ev(1, now - 100 * day), ev(2, now - 91 * day), ev(3, now - 89 * day), ev(4, now)]);
    const log = recordingLogger();
    expect(await enforceRetention({ store, logger: log, now, days: 90 })).toBe(2);
    expect(store.rows().map((r) => r.requestId)).toEqual(['r3', 'r4']);
    expect(log.lines[0]).toMatchObject({ event: 'audit-retention', fields: { days: 90, deleted: 2 } });
    await store.append(Array.from({ length: 10 }, (_, i) => ev(100 + i, now - 200 * day)));
    expect(await enforceRetention({ store, logger: log, now, days: 90, chunk: 3, maxChunks: 2 })).toBe(6);
  });
});
