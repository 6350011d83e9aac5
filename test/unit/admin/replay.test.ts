import { describe, expect, it } from 'vitest';
import { decisionEvent, noSessionEvent } from '../../../src/audit/events.js';
import { createReplay, replay, type ReplayRecord } from '../../../src/admin/replay.js';
import { compile, evaluate, type DecisionInput, type PolicyDocument } from '../../../src/policy/index.js';

const NOW = 1_767_780_000; // Wednesday 2026-01-07 10:00 UTC
const WORKLOADS = ['inventory', 'billing'];

const current: PolicyDocument = {
  roles: [
    { id: 'reader', permissions: [], grants: [{ id: 'read', workload: 'inventory', methods: ['GET'], paths: ['/items/**'] }] },
    { id: 'payer', permissions: [], grants: [{ id: 'pay', workload: 'billing', methods: ['POST'], paths: ['/pay'] }] },
  ],
  bindings: [
    { id: 'eng', subject: { kind: 'group', value: 'engineering' }, roleId: 'reader' },
    { id: 'bob-jit', subject: { kind: 'user', value: 'bob' }, roleId: 'payer', expiresAt: NOW + 3600 },
  ],
  denyRules: [],
};

const user = (sub: string, groups: string[] = []): DecisionInput['subject'] => ({ kind: 'user', id: `user:h:${sub}`, sub, groups });
let n = 0;
function recorded(doc: PolicyDocument, input: DecisionInput): ReplayRecord {
  const d = evaluate(compile(doc, { workloads: WORKLOADS }), input);
  n++;
  return decisionEvent(input, d, { id: `e${n}`, at: input.now * 1000, requestId: `r${n}`, host: `${input.request.workload}.localhost`, policyVersion: '1' });
}

const inputs: DecisionInput[] = [
  { subject: user('alice', ['engineering']), request: { workload: 'inventory', method: 'GET', path: '/items/1' }, now: NOW },
  { subject: user('alice', ['engineering']), request: { workload: 'inventory', method: 'DELETE', path: '/items/1' }, now: NOW + 1 },
  { subject: user('bob'), request: { workload: 'billing', method: 'POST', path: '/pay' }, now: NOW + 2 },
  { subject: user('carol', ['contractors']), request: { workload: 'inventory', method: 'GET', path: '/items/2' }, now: NOW + 3 },
  // Recorded after bob's binding expired: a deny at that time.
  { subject: user('bob'), request: { workload: 'billing', method: 'POST', path: '/pay' }, now: NOW + 7200 },
];

describe('replay', () => {
  const records = inputs.map((i) => recorded(current, i)).reverse(); // newest first, as storage returns them

  it('the current policy replays without a flip (each record at its own recorded time)', () => {
    const r = replay(compile(current, { workloads: WORKLOADS }), records);
    expect(r).toMatchObject({ evaluated: 5, skipped: 0, unchanged: 5, reasonsChanged: 0, flips: { allowToDeny: 0, denyToAllow: 0 }, byWorkload: {} });
    expect(r.range).toEqual({ from: NOW * 1000, to: (NOW + 7200) * 1000 });
  });

  it('a deny rule flips allows to denies, with examples that name request, subject, path and both reasons', () => {
    const candidate: PolicyDocument = { ...current, denyRules: [{ id: 'freeze', subjects: { everyone: true }, workload: 'billing', methods: ['POST'] }] };
    const r = replay(compile(candidate, { workloads: WORKLOADS }), records);
    expect(r.flips).toEqual({ allowToDeny: 1, denyToAllow: 0 });
    expect(r.byWorkload).toEqual({ billing: { allowToDeny: 1, denyToAllow: 0 } });
    expect(r.reasonsChanged).toBe(1); // the late bob deny is now explicit-deny instead of binding-expired
    expect(r.examples.allowToDeny).toEqual([
      {
        requestId: records[2]!.requestId,
        subject: 'user:h:bob',
        workload: 'billing',
        method: 'POST',
        path: '/pay',
        at: (NOW + 2) * 1000,
        old: { decision: 'allow', reasons: ['allowed'] },
        new: { decision: 'deny', reasons: ['explicit-deny'], matched: { kind: 'deny-rule', ruleId: 'freeze' } },
      },
    ]);
  });

  it('a wider grant flips denies to allows; removing a binding flips allows to denies', () => {
    const wider: PolicyDocument = { ...current, bindings: [...current.bindings, { id: 'contractors', subject: { kind: 'group', value: 'contractors' }, roleId: 'reader' }] };
    const r1 = replay(compile(wider, { workloads: WORKLOADS }), records);
    expect(r1.flips).toEqual({ allowToDeny: 0, denyToAllow: 1 });
    expect(r1.examples.denyToAllow[0]).toMatchObject({ subject: 'user:h:carol', old: { reasons: ['no-matching-grant'] }, new: { decision: 'allow', reasons: ['allowed'] } });

    const narrower: PolicyDocument = { ...current, bindings: current.bindings.filter((b) => b.id !== 'eng') };
    expect(replay(compile(narrower, { workloads: WORKLOADS }), records).flips).toEqual({ allowToDeny: 1, denyToAllow: 0 });
  });

  it('records without an input are skipped; examples are capped; pages can be streamed in', () => {
    const noSession = noSessionEvent({ id: 'x', at: 1, requestId: 'rx', host: 'h', workload: 'inventory', method: 'GET', path: '/', policyVersion: '1', session: 'absent' });
    const many = Array.from({ length: 30 }, (_, i) => recorded(current, { ...inputs[0]!, now: NOW + i }));
    const candidate: PolicyDocument = { ...current, bindings: [] };
    const acc = createReplay(compile(candidate, { workloads: WORKLOADS }), { maxExamples: 3 });
    acc.addAll(many.slice(0, 10));
    acc.add(noSession);
    acc.addAll(many.slice(10));
    const r = acc.report();
    expect(r).toMatchObject({ evaluated: 30, skipped: 1, flips: { allowToDeny: 30, denyToAllow: 0 } });
    expect(r.examples.allowToDeny).toHaveLength(3);
  });

  it('10,000 records against a compiled candidate: one compile, one evaluate each', () => {
    const big = Array.from({ length: 10_000 }, (_, i) => recorded(current, { ...inputs[i % inputs.length]!, now: NOW + i }));
    const candidate = compile({ ...current, denyRules: [{ id: 'no-deletes', subjects: { everyone: true }, workload: '*', methods: ['DELETE'] }] }, { workloads: WORKLOADS });
    const r = replay(candidate, big);
    expect(r.evaluated).toBe(10_000);
    expect(r.flips.denyToAllow).toBe(0);
  });
});
