/**
 * The audit trail in workerd: decision records for allow and deny through the
 * real AUDIT queue and its consumer (queue() of the Worker), the consumer fed
 * by hand (createMessageBatch), sign-in / sign-out / revocation records, no
 * secrets in any record, a failing send never failing a response, the query
 * API (filters, cursor paging, NDJSON export, 401/403) and retention.
 */
import { createExecutionContext, createMessageBatch, createScheduledController, getQueueResult, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import worker, { buildGateway } from '../../functions/gateway.js';
import { createD1AuditStore } from '../../src/audit/d1.js';
import { memoryAuditSink, noSessionEvent, queueAuditSink, sessionEvent, type AuditEvent, type DecisionEvent } from '../../src/audit/index.js';
import type { LogFields, Logger } from '../../src/platform/index.js';
import { auditorToken, call, expectProblem, nobodyToken, seedAdminRoles } from './support/admin.js';
import { API, NAVIGATE, expectRequestId, gw, hostSession, signIn } from './support/client.js';
import { BILLING, GATEWAY_ORIGIN, INVENTORY } from './support/constants.js';

beforeAll(seedAdminRoles);

interface Row {
  id: number;
  at: number;
  request_id: string;
  kind: string;
  subject: string | null;
  workload: string | null;
  decision: string | null;
  event_id: string | null;
  data: string;
}

async function rowsFor(requestId: string): Promise<Row[]> {
  return (await env.DB.prepare('SELECT * FROM audit WHERE request_id = ?1 ORDER BY id').bind(requestId).all<Row>()).results;
}

/** The queue delivers in batches (max_batch_timeout = 1 s): wait for the consumer to have written `n` rows. */
async function eventually(requestId: string, n = 1, timeoutMs = 10_000): Promise<Row[]> {
  const started = Date.now();
  for (;;) {
    const rows = await rowsFor(requestId);
    if (rows.length >= n) return rows;
    if (Date.now() - started > timeoutMs) throw new Error(`no audit record for ${requestId} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function recordingLogger(): Logger & { lines: { event: string; fields?: LogFields }[] } {
  const lines: { event: string; fields?: LogFields }[] = [];
  const at = (event: string, fields?: LogFields) => void lines.push({ event, ...(fields ? { fields } : {}) });
  return { lines, info: at, warn: at, error: at };
}

describe('decision records through the AUDIT queue', () => {
  let alice: { inventory: string; billing: string };
  beforeAll(async () => {
    const origin = await signIn('alice');
    alice = { inventory: await hostSession(origin, INVENTORY), billing: await hostSession(origin, BILLING) };
  });

  it('an allow: subject, device, workload, method, path, reasons, roles, policy version and hash, jti, the normalised input — and no secret', async () => {
    const res = await gw(`http://${INVENTORY}/items/7?page=2&access_token=SECRET-QUERY-TOKEN`, { headers: { ...API, cookie: `tg_session=${alice.inventory}` } });
    expect(res.status).toBe(200);
    const echo = (await res.json()) as { headers: Record<string, string[]> };
    const assertion = echo.headers['tollgate-assertion']![0]!;
    const jti = (JSON.parse(atob(assertion.split('.')[1]!.replace(/-/g, '+').replace(/_/g, '/'))) as { jti: string }).jti;
    const rid = expectRequestId(res);
    const [row] = await eventually(rid);
    expect(row).toMatchObject({ kind: 'decision', workload: 'inventory', decision: 'allow', subject: expect.stringMatching(/^user:[A-Za-z0-9_-]{12}:alice$/) });
    expect(row!.event_id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const data = JSON.parse(row!.data) as DecisionEvent;
    expect(data).toMatchObject({
      v: 1,
      kind: 'decision',
      requestId: rid,
      host: INVENTORY,
      method: 'GET',
      path: '/items/7',
      decision: 'allow',
      reasons: ['allowed'],
      roles: ['inventory-user'],
      matched: { kind: 'grant', roleId: 'inventory-user', grantId: 'all' },
      device: null,
      jti,
      policyVersion: expect.stringMatching(/^\d+$/),
      policyHash: expect.stringMatching(/^sha256:[A-Za-z0-9_-]{22}$/),
      sessionId: expect.any(String),
    });
    expect(data.input).toEqual({
      subject: { kind: 'user', id: data.subject, sub: 'alice', email: 'alice@example.com', groups: ['engineering'] },
      roles: ['inventory-user'],
      device: null,
      auth: { authTime: expect.any(Number) },
      request: { method: 'GET', host: INVENTORY, workload: 'inventory', path: '/items/7', query: 'page=2&access_token=REDACTED' },
      time: expect.any(Number),
    });
    expect(row!.data).not.toContain('SECRET-QUERY-TOKEN');
    expect(row!.data).not.toContain(alice.inventory);
    expect(row!.data).not.toContain(assertion.split('.')[2]!);
  });

  it('concurrent requests share queue sends across request contexts, and every decision arrives exactly once', async () => {
    const responses = await Promise.all(
      Array.from({ length: 40 }, (_, i) => gw(`http://${INVENTORY}/burst/${i}`, { headers: { ...API, cookie: `tg_session=${alice.inventory}` } })),
    );
    const ids = responses.map((r) => {
      expect(r.status).toBe(200);
      return expectRequestId(r);
    });
    await Promise.all(responses.map((r) => r.body?.cancel()));
    for (const rid of ids) await eventually(rid);
    const counts = await env.DB.prepare(`SELECT request_id, COUNT(*) AS n FROM audit WHERE request_id IN (${ids.map(() => '?').join(',')}) GROUP BY request_id`)
      .bind(...ids)
      .all<{ request_id: string; n: number }>();
    expect(counts.results.map((r) => r.n)).toEqual(ids.map(() => 1));
  });

  it('a deny: the reasons and no jti (nothing was minted)', async () => {
    const res = await gw(`http://${BILLING}/ledger`, { headers: { ...API, cookie: `tg_session=${alice.billing}` } });
    expect(res.status).toBe(403);
    const [row] = await eventually(expectRequestId(res));
    const data = JSON.parse(row!.data) as DecisionEvent;
    expect(row).toMatchObject({ decision: 'deny', workload: 'billing' });
    expect(data).toMatchObject({ decision: 'deny', reasons: ['no-matching-grant'], roles: [] });
    expect(data.jti).toBeUndefined();
    expect(data.input?.request.path).toBe('/ledger');
  });

  it('an explicit deny names the rule', async () => {
    const res = await gw(`http://${INVENTORY}/forbidden/x`, { headers: { ...API, cookie: `tg_session=${alice.inventory}` } });
    const data = JSON.parse((await eventually(expectRequestId(res)))[0]!.data) as DecisionEvent;
    expect(data).toMatchObject({ reasons: ['explicit-deny'], matched: { kind: 'deny-rule', ruleId: 'no-forbidden' } });
  });

  it('no session: a no-session deny record without input (API client 401 and browser hand-off alike)', async () => {
    const api = await gw(`http://${INVENTORY}/x`, { headers: API });
    expect(api.status).toBe(401);
    const browser = await gw(`http://${INVENTORY}/y`, { headers: NAVIGATE });
    expect(browser.status).toBe(302);
    for (const res of [api, browser]) {
      const [row] = await eventually(expectRequestId(res));
      const data = JSON.parse(row!.data) as DecisionEvent;
      expect(data).toMatchObject({ decision: 'deny', reasons: ['no-session'], session: 'absent', subject: null });
      expect(data.input).toBeUndefined();
    }
  });
});

describe('session records', () => {
  it('sign-in and sign-out are recorded with the session id, never the cookie', async () => {
    const origin = await signIn('bob');
    // The sign-in record is on its way through the queue.
    let sign: Row | undefined;
    for (let i = 0; i < 100 && !sign; i++) {
      sign = (await env.DB.prepare("SELECT * FROM audit WHERE kind = 'sign-in' AND data LIKE '%bob@example.com%'").all<Row>()).results[0];
      if (!sign) await new Promise((x) => setTimeout(x, 100));
    }
    if (!sign) throw new Error('no sign-in record');
    const s = JSON.parse(sign.data) as AuditEvent & { sessionId: string; email: string; amr: string[] };
    expect(s).toMatchObject({ kind: 'sign-in', host: '127.0.0.1:8787', email: 'bob@example.com', sessionId: expect.any(String), groups: ['contractors'], authTime: expect.any(Number) });
    expect(sign.data).not.toContain(origin);

    const out = await gw(`${GATEWAY_ORIGIN}/auth/logout`, { method: 'POST', headers: { ...API, origin: GATEWAY_ORIGIN, cookie: `tg_session=${origin}` } });
    expect(out.status).toBe(303);
    const [row] = await eventually(expectRequestId(out));
    expect(JSON.parse(row!.data)).toMatchObject({ kind: 'sign-out', subject: expect.stringMatching(/:bob$/), reason: expect.stringContaining('revoked') });
    expect(row!.data).not.toContain(origin);
  });

  it('an admin revocation is on the record (kind revocation) and found by the query API', async () => {
    const origin = await signIn('alice');
    const sid = (await (await gw(`${GATEWAY_ORIGIN}/auth/whoami`, { headers: { ...API, cookie: `tg_session=${origin}` } })).json() as { session: { id: string } }).session.id;
    const got = await call('GET', `/sessions/${sid}`);
    expect(got.status).toBe(200);
    const del = await call('DELETE', `/sessions/${sid}`, { ifMatch: got.headers.get('etag')! });
    expect(del.status, await del.text()).toBe(200);
    const page = (await (await call('GET', '/audit?kind=revocation', { token: await auditorToken() })).json()) as { items: { request_id: string; data: { id: string } }[] };
    expect(page.items[0]).toMatchObject({ request_id: expectRequestId(del), data: expect.objectContaining({ id: sid }) });
  });
});

describe('the consumer, fed by hand', () => {
  it('writes a batch, acks it, and a redelivery inserts nothing twice', async () => {
    const sink = memoryAuditSink();
    const app = await buildGateway(env, { audit: sink });
    const res = await app.fetch(new Request(`http://${INVENTORY}/hand`, { headers: API }));
    expect(res.status).toBe(401);
    await sink.settled();
    expect(sink.events).toHaveLength(1);
    const messages = sink.events.map((body, i) => ({ id: `m${i}`, timestamp: new Date(), attempts: 1, body }));
    for (let round = 0; round < 2; round++) {
      const batch = createMessageBatch('tollgate-audit', messages);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      const result = await getQueueResult(batch, ctx);
      expect(result.explicitAcks.length + (result.ackAll ? messages.length : 0)).toBeGreaterThan(0);
      expect(result.retryBatch.retry).toBe(false);
    }
    expect(await rowsFor(sink.events[0]!.requestId)).toHaveLength(1);
  });

  it('a failing queue send never changes the response; it is logged', async () => {
    const logger = recordingLogger();
    const ctx = createExecutionContext();
    const app = await buildGateway(env, { logger, audit: queueAuditSink({ sendBatch: () => Promise.reject(new Error('queue unavailable')) }, logger, { lingerMs: 0 }) });
    const res = await app.fetch(new Request(`http://${INVENTORY}/x`, { headers: API }), ctx);
    expect(res.status).toBe(401);
    await waitOnExecutionContext(ctx);
    expect(logger.lines).toContainEqual({ event: 'audit-send-failed', fields: { count: 1, request_ids: expectRequestId(res), error: 'Error' } });
  });
});

describe('GET /admin/v1/audit and /audit/export', () => {
  const base = 1_700_000_000;
  const store = createD1AuditStore(env.DB);
  const ev = (i: number, o: { subject: string; workload: string; decision?: 'allow' | 'deny' }): AuditEvent => {
    const e = noSessionEvent({ id: `q${i}`, at: (base + i * 60) * 1000, requestId: `query-${i}`, host: 'h', workload: o.workload, method: 'GET', path: `/${i}`, policyVersion: '1', session: 'absent', subject: o.subject });
    if (o.decision === 'allow') Object.assign(e, { decision: 'allow', reasons: ['allowed'] });
    return e;
  };
  beforeAll(async () => {
    const events: AuditEvent[] = [];
    for (let i = 0; i < 30; i++) events.push(ev(i, { subject: i % 3 === 0 ? 'user:h:zed' : 'user:h:yan', workload: i % 2 ? 'inventory' : 'billing', decision: i % 5 === 0 ? 'allow' : 'deny' }));
    events.push(sessionEvent('sign-in', { id: 'q-signin', at: (base + 31 * 60) * 1000, requestId: 'query-signin', host: 'o', subject: 'user:h:zed', sessionId: 's' }));
    await store.append(events);
  });

  type Page = { items: { seq: number; at: number; time: string; request_id: string; subject: string; workload: string | null; decision: string | null; kind: string; data: Record<string, unknown> }[]; next_cursor: string | null };
  const q = async (query: string, token?: string): Promise<Page> => {
    const res = await call('GET', `/audit?${query}`, { token: token ?? (await auditorToken()) });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    return JSON.parse(text) as Page;
  };
  const window = `from=${base}&to=${base + 32 * 60}`;

  it('filters combine; newest first; records carry the whole event', async () => {
    const page = await q(`${window}&subject=user:h:zed&workload=billing&limit=200`);
    expect(page.items.map((r) => r.request_id)).toEqual(['query-24', 'query-18', 'query-12', 'query-6', 'query-0']);
    expect(page.items[0]).toMatchObject({ at: base + 24 * 60, time: new Date((base + 24 * 60) * 1000).toISOString(), kind: 'decision', decision: 'deny', data: { path: '/24' } });
    expect((await q(`${window}&decision=allow&limit=200`)).items.map((r) => r.request_id)).toEqual(['query-25', 'query-20', 'query-15', 'query-10', 'query-5', 'query-0']);
    expect((await q(`${window}&kind=sign-in`)).items.map((r) => r.request_id)).toEqual(['query-signin']);
    const iso = new Date((base + 10 * 60) * 1000).toISOString();
    const isoTo = new Date((base + 13 * 60) * 1000).toISOString();
    expect((await q(`from=${iso}&to=${isoTo}`)).items.map((r) => r.request_id)).toEqual(['query-12', 'query-11', 'query-10']);
  });

  it('cursor pages cover everything exactly once', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await q(`${window}&limit=7${cursor ? `&cursor=${cursor}` : ''}`);
      seen.push(...page.items.map((r) => r.request_id));
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(31);
    expect(new Set(seen).size).toBe(31);
    expect(seen[0]).toBe('query-signin');
  });

  it('NDJSON export streams the same records, same filters', async () => {
    const res = await call('GET', `/audit/export?${window}&workload=inventory`, { token: await auditorToken() });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-ndjson; charset=utf-8');
    const lines = (await res.text()).trim().split('\n').map((l) => JSON.parse(l) as { request_id: string });
    expect(lines.map((l) => l.request_id)).toEqual((await q(`${window}&workload=inventory&limit=200`)).items.map((r) => r.request_id));
    expect(lines).toHaveLength(15);
  });

  it('malformed filters are 400 naming the parameter; no credentials 401; no permission 403', async () => {
    const bad = await expectProblem(await call('GET', '/audit?decision=maybe', { token: await auditorToken() }), 400, 'bad-request');
    expect(bad.errors?.[0]).toMatchObject({ in: 'query', pointer: '/decision' });
    await expectProblem(await call('GET', '/audit?from=yesterday', { token: await auditorToken() }), 400, 'bad-request');
    await expectProblem(await call('GET', `/audit?from=${base + 10}&to=${base}`, { token: await auditorToken() }), 400, 'bad-request');
    await expectProblem(await call('GET', '/audit?cursor=AAAA', { token: await auditorToken() }), 400, 'bad-request');
    await expectProblem(await call('GET', '/audit', { token: null }), 401, 'unauthenticated');
    await expectProblem(await call('GET', '/audit/export', { token: null }), 401, 'unauthenticated');
    await expectProblem(await call('GET', '/audit', { token: await nobodyToken() }), 403, 'forbidden');
    await expectProblem(await call('GET', '/audit/export', { token: await nobodyToken() }), 403, 'forbidden');
    await expectProblem(await call('DELETE', '/audit'), 405, 'method-not-allowed');
  });
});

describe('retention (scheduled)', () => {
  it('deletes records older than AUDIT_RETENTION_DAYS (90), keeps the rest', async () => {
    const now = Date.now();
    const day = 86_400_000;
    const store = createD1AuditStore(env.DB);
    const mk = (id: string, at: number) => noSessionEvent({ id, at, requestId: id, host: 'h', workload: 'w', method: 'GET', path: '/', policyVersion: '1', session: 'absent' });
    const old = Array.from({ length: 2500 }, (_, i) => mk(`old-${i}`, now - 120 * day + i));
    for (let i = 0; i < old.length; i += 100) await store.append(old.slice(i, i + 100));
    await store.append([mk('edge-91', now - 91 * day), mk('edge-89', now - 89 * day), mk('fresh', now)]);
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: now, cron: '17 * * * *' }), env);
    await waitOnExecutionContext(ctx);
    const left = (await env.DB.prepare("SELECT request_id FROM audit WHERE request_id LIKE 'old-%' OR request_id LIKE 'edge-%' OR request_id = 'fresh'").all<{ request_id: string }>()).results.map((r) => r.request_id);
    expect(left.sort()).toEqual(['edge-89', 'fresh']);
  });
});
