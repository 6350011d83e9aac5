import fc from 'fast-check';
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

type Sent = { body: string; contentType: string }[];
const ids = (batch: Sent) => batch.map((m) => (JSON.parse(m.body) as AuditEvent).id);

/** A wait the test releases by hand: `release()` lets pending records settle, then ends every wait started so far. */
function manualWait() {
  let waiting: (() => void)[] = [];
  return {
    wait: () => new Promise<void>((resolve) => waiting.push(resolve)),
    release: async () => {
      await new Promise((r) => setTimeout(r, 0));
      const now = waiting;
      waiting = [];
      for (const r of now) r();
      await new Promise((r) => setTimeout(r, 0));
    },
    get count() {
      return waiting.length;
    },
  };
}

describe('queue sink', () => {
  it('sends under waitUntil as JSON, returns at once', async () => {
    const sent: Sent[] = [];
    const waited: Promise<unknown>[] = [];
    const sink = queueAuditSink({ sendBatch: async (m) => void sent.push([...m]) }, recordingLogger(), { lingerMs: 0 });
    sink.record(ev(1), (p) => waited.push(p));
    expect(waited).toHaveLength(1);
    expect(sent).toHaveLength(0);
    await Promise.all(waited);
    expect(sent).toEqual([[{ body: JSON.stringify(ev(1)), contentType: 'text' }]]);
  });

  it('events recorded while the sender waits leave in its one send; every event has a waitUntil', async () => {
    const sent: Sent[] = [];
    const waited: Promise<unknown>[] = [];
    const timer = manualWait();
    const sink = queueAuditSink({ sendBatch: async (m) => void sent.push([...m]) }, recordingLogger(), { wait: timer.wait });
    for (let i = 1; i <= 5; i++) sink.record(i % 2 ? ev(i) : Promise.resolve(ev(i)), (p) => waited.push(p));
    expect(waited).toHaveLength(5);
    await new Promise((r) => setTimeout(r, 0));
    expect(timer.count).toBe(1);
    await timer.release();
    await Promise.all(waited);
    expect(sent.map(ids)).toEqual([['e1', 'e2', 'e3', 'e4', 'e5']]);
  });

  it('a sender carries one batch: events after its take elect a new sender, whose send does not wait for the first', async () => {
    const sent: string[][] = [];
    const gates: (() => void)[] = [];
    const timer = manualWait();
    const sink = queueAuditSink(
      { sendBatch: (m) => new Promise<void>((resolve) => { sent.push(ids([...m])); gates.push(resolve); }) },
      recordingLogger(),
      { wait: timer.wait },
    );
    let firstDone = false;
    sink.record(ev(1), (p) => void p.then(() => (firstDone = true)));
    await timer.release();
    expect(sent).toEqual([['e1']]);
    const second: Promise<unknown>[] = [];
    sink.record(ev(2), (p) => second.push(p));
    await timer.release();
    expect(sent).toEqual([['e1'], ['e2']]);
    gates[1]!();
    await Promise.all(second);
    expect(firstDone).toBe(false);
    gates[0]!();
    await new Promise((r) => setTimeout(r, 0));
    expect(firstDone).toBe(true);
  });

  /** Records `events` in one burst through a sink with `options`; the sizes of the batches it sent. */
  async function batchSizes(events: AuditEvent[], options: { maxBytes?: number } = {}): Promise<number[]> {
    const sent: Sent[] = [];
    const timer = manualWait();
    const waited: Promise<unknown>[] = [];
    const sink = queueAuditSink({ sendBatch: async (m) => void sent.push([...m]) }, recordingLogger(), { wait: timer.wait, ...options });
    for (const e of events) sink.record(e, (p) => waited.push(p));
    await timer.release();
    await Promise.all(waited);
    return sent.map((b) => b.length);
  }

  it.each<[string, AuditEvent[], { maxBytes?: number }, number[]]>([
    ['at 100 events', Array.from({ length: 250 }, (_, i) => ev(i)), {}, [100, 100, 50]],
    ['at the byte budget', Array.from({ length: 7 }, (_, i) => ev(i + 1)), { maxBytes: JSON.stringify(ev(1)).length * 3 + 10 }, [3, 3, 1]],
    // A non-ASCII path makes an event 100 bytes bigger in UTF-8 than its string length: two fit the budget
    // by string length, only one by bytes.
    ['at the byte budget, in UTF-8 bytes', Array.from({ length: 3 }, (_, i) => ev(i + 1, undefined, { path: `/${'é'.repeat(100)}` })), { maxBytes: JSON.stringify(ev(1, undefined, { path: `/${'é'.repeat(100)}` })).length * 2 + 10 }, [1, 1, 1]],
  ])('splits a batch %s, never dropping an event', async (_name, events, options, sizes) => {
    expect(await batchSizes(events, options)).toEqual(sizes);
  });

  it('every recorded event is sent exactly once, whatever the interleaving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom('record', 'record-later', 'release'), { maxLength: 60 }), fc.integer({ min: 1, max: 7 }), async (steps, maxEvents) => {
        const sent: string[] = [];
        const timer = manualWait();
        const waited: Promise<unknown>[] = [];
        const sink = queueAuditSink({ sendBatch: async (m) => void sent.push(...ids([...m])) }, recordingLogger(), { wait: timer.wait, maxEvents });
        let n = 0;
        for (const step of steps) {
          if (step === 'release') await timer.release();
          else sink.record(step === 'record' ? ev(n++) : Promise.resolve(ev(n++)), (p) => waited.push(p));
        }
        while (timer.count > 0 || sent.length < n) await timer.release();
        await Promise.all(waited);
        expect([...sent].sort()).toEqual(Array.from({ length: n }, (_, i) => `e${i}`).sort());
      }),
      { numRuns: 150 },
    );
  });

  it('a failing send (thrown or rejected) is logged by count and request ids, never thrown', async () => {
    const log = recordingLogger();
    const waited: Promise<unknown>[] = [];
    const rejecting = queueAuditSink({ sendBatch: () => Promise.reject(new TypeError('queue down: token=SECRET')) }, log, { lingerMs: 0 });
    const throwing = queueAuditSink({ sendBatch: () => { throw new RangeError('too big'); } }, log, { lingerMs: 0 });
    expect(() => rejecting.record(ev(1), (p) => waited.push(p))).not.toThrow();
    expect(() => throwing.record(Promise.resolve(ev(2)), (p) => waited.push(p))).not.toThrow();
    await Promise.all(waited);
    expect([...log.lines].sort((a, b) => String(a.fields?.request_ids).localeCompare(String(b.fields?.request_ids)))).toEqual([
      { level: 'error', event: 'audit-send-failed', fields: { count: 1, request_ids: 'r1', error: 'TypeError' } },
      { level: 'error', event: 'audit-send-failed', fields: { count: 1, request_ids: 'r2', error: 'RangeError' } },
    ]);
    expect(JSON.stringify(log.lines)).not.toContain('SECRET');
  });

  it('a failed batch is retried event by event: only the events that fail alone are lost, in one log line', async () => {
    const log = recordingLogger();
    const sent: string[] = [];
    const waited: Promise<unknown>[] = [];
    const sink = queueAuditSink(
      {
        sendBatch: async (m) => {
          const batch = ids([...m]);
          if (batch.length > 1 || batch[0] === 'e3') throw new RangeError('message too large');
          sent.push(...batch);
        },
      },
      log,
      { lingerMs: 0 },
    );
    for (let i = 1; i <= 4; i++) sink.record(ev(i), (p) => waited.push(p));
    await Promise.all(waited);
    expect(sent).toEqual(['e1', 'e2', 'e4']);
    expect(log.lines).toEqual([{ level: 'error', event: 'audit-send-failed', fields: { count: 1, request_ids: 'r3', error: 'RangeError' } }]);
  });

  it('a failed send does not stop the next batch', async () => {
    const log = recordingLogger();
    const sent: string[] = [];
    let fail = true;
    const waited: Promise<unknown>[] = [];
    const sink = queueAuditSink({ sendBatch: async (m) => { if (fail) { fail = false; throw new Error('once'); } sent.push(...ids([...m])); } }, log, { lingerMs: 0 });
    sink.record(ev(1), (p) => waited.push(p));
    await Promise.all(waited);
    sink.record(ev(2), (p) => waited.push(p));
    await Promise.all(waited);
    expect(sent).toEqual(['e2']);
    expect(log.lines).toHaveLength(1);
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

  it('reads events sent as JSON text (the producer) and as objects (older producers); bad JSON text is dropped', async () => {
    const store = createMemoryAuditStore();
    const log = recordingLogger();
    const { batch } = batchOf([JSON.stringify(ev(1)), ev(2), '{"v":1,', JSON.stringify('just a string')]);
    expect(await consumeAuditBatch(batch, { store, logger: log })).toEqual({ written: 2, dropped: 2 });
    expect(store.rows().map((r) => r.requestId)).toEqual(['r1', 'r2']);
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
