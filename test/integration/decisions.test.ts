/**
 * POST /admin/v1/decisions:simulate (explain on the live policy, no side
 * effects) and POST /admin/v1/decisions:replay (a candidate document against
 * recorded decisions: flips with counts and examples; 10,000 records in one
 * request), with 400/401/403/422.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PolicyExport } from '../../src/admin/index.js';
import { createD1AuditStore } from '../../src/audit/d1.js';
import { decisionEvent, type AuditEvent } from '../../src/audit/index.js';
import { createD1Store } from '../../src/store/index.js';
import { compile, evaluate, type DecisionInput } from '../../src/policy/index.js';
import { userSubject } from '../../src/token/index.js';
import { IDP_ISSUER, auditorToken, call, expectProblem, nobodyToken, seedAdminRoles } from './support/admin.js';
import { BILLING } from './support/constants.js';

beforeAll(seedAdminRoles);

const post = async (path: string, body: unknown, token?: string | null) =>
  call('POST', path, { body, token: token === undefined ? await auditorToken() : token });

async function json<T>(res: Response, status = 200): Promise<T> {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function decisionCount(): Promise<number> {
  return Number(await env.DB.prepare("SELECT count(*) AS n FROM audit WHERE kind = 'decision'").first('n'));
}

interface Simulated {
  decision: { effect: string; reasons: string[]; roles: string[]; matched?: Record<string, string>; failed: { role_id: string; grant_id: string; reasons: string[] }[] };
  details: { reason: string; detail: string }[];
  explanation: {
    policy_version: string;
    workload: { id: string; known: boolean };
    bindings: { id: string; role_id: string; status: string }[];
    grants: { role_id: string; grant_id: string; binding_valid: boolean; target: { method: boolean; path: boolean }; conditions: { condition: string; passed: boolean; required: unknown; actual: unknown }[]; outcome: string }[];
    deny_rules: { id: string; applies: boolean; subject: boolean }[];
  };
  input: Record<string, unknown>;
}

describe('POST /decisions:simulate', () => {
  it('allow: the bindings and the grant that allowed, on the live policy; nothing recorded', async () => {
    const before = await decisionCount();
    const r = await json<Simulated>(await post('/decisions:simulate', { subject: { sub: 'alice', groups: ['engineering'] }, request: { host: 'inventory.localhost:8787', method: 'get', path: '/items/1' } }));
    expect(r.decision).toMatchObject({ effect: 'allow', reasons: ['allowed'], roles: ['inventory-user'], matched: { kind: 'grant', role_id: 'inventory-user', grant_id: 'all' } });
    expect(r.explanation.workload).toEqual({ id: 'inventory', known: true });
    expect(r.explanation.bindings.map((b) => [b.id, b.status])).toEqual([['eng-down', 'valid'], ['eng-inventory', 'valid']]);
    expect(r.explanation.grants).toEqual([expect.objectContaining({ role_id: 'inventory-user', grant_id: 'all', binding_valid: true, outcome: 'allows' })]);
    expect(r.explanation.deny_rules).toEqual([expect.objectContaining({ id: 'no-forbidden', subject: true, applies: false })]);
    expect(r.input).toMatchObject({ subject: { kind: 'user', id: await userSubject(IDP_ISSUER, 'alice'), sub: 'alice' }, request: { workload: 'inventory', method: 'GET' } });
    expect(await decisionCount()).toBe(before);
  });

  it('deny with conditions and an expired just-in-time binding: each condition passed or failed, in words', async () => {
    const store = createD1Store({ DB: env.DB, CONFIG: env.CONFIG });
    const now = Math.floor(Date.now() / 1000);
    await store.configWriter.putRole({
      id: 'pay-strong',
      permissions: [],
      grants: [{ id: 'pay', workload: 'billing', methods: ['POST'], paths: ['/pay'], conditions: { mfa: true, maxAuthAgeSeconds: 43200, minDeviceTrust: 'high' } }],
    });
    await store.configWriter.putBinding({ id: 'bob-pay', subject: { kind: 'user', value: 'bob' }, roleId: 'pay-strong' });
    await store.configWriter.putBinding({ id: 'bob-billing-jit', subject: { kind: 'user', value: 'bob' }, roleId: 'billing-user', notBefore: now - 7200, expiresAt: now - 60, reason: 'INC-7' });
    await store.version.publish(await store.configWriter.bumpVersion());

    const r = await json<Simulated>(
      await post('/decisions:simulate', {
        subject: { sub: 'bob', groups: ['contractors'], email: 'bob@example.com' },
        device: { id: 'laptop-1', trust: 'medium' },
        auth: { amr: ['pwd'], auth_time: now - 50_000 },
        request: { workload: 'billing', method: 'POST', path: '/pay' },
        time: now,
      }),
    );
    expect(r.decision.effect).toBe('deny');
    expect(r.decision.reasons).toEqual(['binding-expired', 'device-untrusted', 'mfa-required', 'auth-too-old']);
    expect(r.explanation.bindings).toEqual([
      expect.objectContaining({ id: 'bob-billing-jit', role_id: 'billing-user', status: 'expired', reason: 'INC-7' }),
      expect.objectContaining({ id: 'bob-pay', status: 'valid' }),
    ]);
    const pay = r.explanation.grants.find((g) => g.grant_id === 'pay')!;
    expect(pay.outcome).toBe('conditions-failed');
    expect(pay.conditions.map((c) => [c.condition, c.passed])).toEqual([
      ['min_device_trust', false],
      ['mfa', false],
      ['max_auth_age_seconds', false],
    ]);
    expect(pay.conditions[2]).toMatchObject({ required: 43200, actual: 50_000 });
    expect(r.explanation.grants.find((g) => g.role_id === 'billing-user')).toMatchObject({ binding_valid: false, outcome: 'binding-invalid' });
    expect(r.details.map((d) => d.detail)).toEqual([
      'Your temporary access has expired.',
      'This needs a managed device.',
      'This needs multi-factor sign-in.',
      'Your sign-in is older than 12 hours — sign in again.',
    ]);
    // At a time inside the binding's window the JIT binding grants.
    const earlier = await json<Simulated>(await post('/decisions:simulate', { subject: { sub: 'bob' }, request: { host: BILLING, method: 'GET', path: '/' }, time: now - 3600 }));
    expect(earlier.decision.effect).toBe('allow');
  });

  it('validation 400, unknown host 400, 401, 403', async () => {
    const body = { subject: { sub: 'alice' }, request: { workload: 'inventory', method: 'GET', path: '/' } };
    expect((await expectProblem(await post('/decisions:simulate', { ...body, extra: 1 }), 400, 'bad-request')).errors?.[0]?.pointer).toBe('/extra');
    await expectProblem(await post('/decisions:simulate', { ...body, request: { method: 'GET', path: '/' } }), 400, 'bad-request');
    await expectProblem(await post('/decisions:simulate', { ...body, request: { ...body.request, path: 'x' } }), 400, 'bad-request');
    await expectProblem(await post('/decisions:simulate', { ...body, request: { host: 'nowhere.localhost:8787', method: 'GET', path: '/' } }), 400, 'bad-request');
    await expectProblem(await post('/decisions:simulate', { subject: {}, request: body.request }), 400, 'bad-request');
    await expectProblem(await post('/decisions:simulate', body, null), 401, 'unauthenticated');
    await expectProblem(await post('/decisions:simulate', body, await nobodyToken()), 403, 'forbidden');
    await expectProblem(await call('GET', '/decisions:simulate'), 405, 'method-not-allowed');
  });
});

describe('POST /decisions:replay', () => {
  let current: PolicyExport;
  const audit = createD1AuditStore(env.DB);
  const T0 = 1_760_000_000;

  async function record(inputs: DecisionInput[], prefix: string): Promise<void> {
    const state = await (await call('GET', '/policy', { token: await auditorToken() })).json() as PolicyExport;
    const { contentOfDocument } = await import('../../src/admin/index.js');
    const c = contentOfDocument(state);
    const snap = compile({ roles: c.roles, bindings: c.bindings, denyRules: c.denyRules }, { workloads: c.workloads.map((w) => w.id) });
    const events: AuditEvent[] = inputs.map((input, i) =>
      decisionEvent(input, evaluate(snap, input), { id: `${prefix}-${i}`, at: input.now * 1000, requestId: `${prefix}-${i}`, host: `${input.request.workload}.localhost:8787`, policyVersion: state.version }),
    );
    for (let i = 0; i < events.length; i += 100) await audit.append(events.slice(i, i + 100));
  }

  const user = (sub: string, groups: string[]): DecisionInput['subject'] => ({ kind: 'user', id: `user:h:${sub}`, sub, groups });

  beforeAll(async () => {
    await record(
      [
        { subject: user('alice', ['engineering']), request: { workload: 'inventory', method: 'GET', path: '/a' }, now: T0 },
        { subject: user('alice', ['engineering']), request: { workload: 'inventory', method: 'DELETE', path: '/a' }, now: T0 + 1 },
        { subject: user('alice', ['engineering']), request: { workload: 'inventory', method: 'GET', path: '/forbidden/x' }, now: T0 + 2 },
        { subject: user('bob', ['contractors']), request: { workload: 'inventory', method: 'GET', path: '/a' }, now: T0 + 3 },
        { subject: user('ada', ['admins']), request: { workload: 'billing', method: 'POST', path: '/pay' }, now: T0 + 4 },
      ],
      'replay',
    );
    current = (await (await call('GET', '/policy', { token: await auditorToken() })).json()) as PolicyExport;
  });

  type Report = {
    evaluated: number;
    skipped: number;
    unchanged: number;
    reasons_changed: number;
    flips: { allow_to_deny: number; deny_to_allow: number };
    by_workload: Record<string, { allow_to_deny: number; deny_to_allow: number }>;
    examples: { allow_to_deny: Record<string, unknown>[]; deny_to_allow: Record<string, unknown>[] };
    policy_diff: { added: number; removed: number; changed: number };
  };
  const window = { from: T0, to: T0 + 10 };

  it('the current policy: nothing flips', async () => {
    const r = await json<Report>(await post('/decisions:replay', { policy: current, ...window }));
    expect(r).toMatchObject({ evaluated: 5, skipped: 0, unchanged: 5, flips: { allow_to_deny: 0, deny_to_allow: 0 }, policy_diff: { added: 0, removed: 0, changed: 0 } });
  });

  it('a candidate that drops a binding and opens inventory to contractors: flips both ways, with examples', async () => {
    const candidate = structuredClone(current);
    candidate.bindings = candidate.bindings.filter((b) => b.id !== 'admins-billing');
    candidate.bindings.push({ id: 'contractors-inv', subject: { kind: 'group', value: 'contractors' }, role_id: 'inventory-user', not_before: null, expires_at: null, reason: '' });
    const r = await json<Report>(await post('/decisions:replay', { policy: candidate, ...window, max_examples: 5 }));
    expect(r.flips).toEqual({ allow_to_deny: 1, deny_to_allow: 1 });
    expect(r.by_workload).toEqual({ billing: { allow_to_deny: 1, deny_to_allow: 0 }, inventory: { allow_to_deny: 0, deny_to_allow: 1 } });
    expect(r.examples.allow_to_deny).toEqual([
      { request_id: 'replay-4', subject: 'user:h:ada', workload: 'billing', method: 'POST', path: '/pay', at: (T0 + 4) * 1000, old: { decision: 'allow', reasons: ['allowed'] }, new: { decision: 'deny', reasons: ['no-matching-grant'] } },
    ]);
    expect(r.examples.deny_to_allow[0]).toMatchObject({ request_id: 'replay-3', subject: 'user:h:bob', old: { reasons: ['no-matching-grant'] }, new: { decision: 'allow', matched: { kind: 'grant', role_id: 'inventory-user', grant_id: 'all' } } });
    expect(r.policy_diff).toEqual({ added: 1, removed: 1, changed: 0 });
  });

  it('a new deny rule turns allows into denies; removing one lifts its denies', async () => {
    const candidate = structuredClone(current);
    candidate.deny_rules = [{ id: 'no-get-a', subjects: { everyone: true }, workload: '*', methods: ['GET'], paths: ['/a'], reason: '' }];
    const r = await json<Report>(await post('/decisions:replay', { policy: candidate, ...window }));
    expect(r.flips).toEqual({ allow_to_deny: 1, deny_to_allow: 1 }); // alice GET /a now denied; /forbidden/x no longer denied
  });

  it('10,000 recorded decisions in one request (one compile, the newest N by default)', async () => {
    const inputs: DecisionInput[] = Array.from({ length: 10_000 }, (_, i) => ({
      subject: user(i % 2 ? 'alice' : 'bob', [i % 2 ? 'engineering' : 'contractors']),
      request: { workload: 'inventory', method: 'GET', path: `/items/${i}` },
      now: T0 + 100 + i,
    }));
    await record(inputs, 'bulk');
    const candidate = structuredClone(current);
    candidate.bindings = candidate.bindings.filter((b) => b.id !== 'eng-inventory');
    const r = await json<Report>(await post('/decisions:replay', { policy: candidate }));
    expect(r.evaluated).toBe(10_000);
    expect(r.flips.allow_to_deny).toBe(5000);
    expect(r.examples.allow_to_deny).toHaveLength(20);
    const limited = await json<Report>(await post('/decisions:replay', { policy: candidate, limit: 10 }));
    expect(limited.evaluated).toBe(10);
  });

  it('an invalid candidate is 422, a malformed body 400; 401 and 403', async () => {
    const bad = structuredClone(current);
    bad.bindings.push({ id: 'dangling', subject: { kind: 'user', value: 'u' }, role_id: 'missing', not_before: null, expires_at: null, reason: '' });
    await expectProblem(await post('/decisions:replay', { policy: bad }), 422, 'policy-invalid');
    await expectProblem(await post('/decisions:replay', { policy: current, limit: 0 }), 400, 'bad-request');
    await expectProblem(await post('/decisions:replay', { policy: { roles: [] } }), 400, 'bad-request');
    await expectProblem(await post('/decisions:replay', { policy: current }, null), 401, 'unauthenticated');
    await expectProblem(await post('/decisions:replay', { policy: current }, await nobodyToken()), 403, 'forbidden');
  });
});
