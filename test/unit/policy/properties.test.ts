import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compile,
  evaluate,
  permissionsOf,
  type Binding,
  type Conditions,
  type DecisionInput,
  type DenyRule,
  type Grant,
  type PolicyDocument,
} from '../../../src/policy/index.js';

// A small universe so random documents and requests actually meet.
const NOW = 1_767_780_000;
const WORKLOADS = ['inv', 'inv-2', 'billing'];
const WORKLOAD_PATTERNS = [...WORKLOADS, 'inv*', '*'];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATHS = ['/', '/a', '/a/', '/a/b', '/a/b/c', '/a/../b', '/a/%2e%2e/b', '/b/x%2Fy', '/c/d.json'];
const GLOBS = ['/**', '/a/**', '/a/*', '/a/b', '/*/b/**', '/b/*', '/**/*.json', '/'];
const USERS = ['u1', 'u2', 'u3'];
const GROUPS = ['g1', 'g2'];
const EMAILS = ['u1@x.test', 'U2@X.test'];
const SERVICES = ['s1', 's2'];
const ROLE_IDS = ['r0', 'r1', 'r2', 'r3'];

const oneCondition: fc.Arbitrary<Conditions> = fc.oneof(
  fc.constantFrom('none', 'low', 'medium', 'high' as const).map((minDeviceTrust) => ({ minDeviceTrust })),
  fc.constant<Conditions>({ mfa: true }),
  fc.constant<Conditions>({ acr: ['gold'] }),
  fc.constant<Conditions>({ mfa: true, acr: ['gold'] }),
  fc.constantFrom(60, 3600).map((maxAuthAgeSeconds) => ({ maxAuthAgeSeconds })),
  fc.constant<Conditions>({ timeWindows: [{ start: '08:00', end: '18:00', timeZone: 'Europe/Berlin' }] }),
  fc.constant<Conditions>({ timeWindows: [{ start: '22:00', end: '06:00', timeZone: 'America/New_York', days: [1, 2, 3] }] }),
  fc.constantFrom<string[]>(['10.0.0.0/8'], ['2001:db8::/32', '192.0.2.0/24']).map((sourceCidrs) => ({ sourceCidrs })),
  fc.constantFrom<string[]>(['DE'], ['US', 'FR']).map((countries) => ({ countries })),
);

// Half the grants and rules carry no conditions; the rest one or two.
const conditions: fc.Arbitrary<Conditions | undefined> = fc.option(
  fc.oneof(oneCondition, fc.tuple(oneCondition, oneCondition).map(([a, b]) => ({ ...a, ...b }))),
  { nil: undefined, freq: 2 },
);

const grant = (i: number): fc.Arbitrary<Grant> =>
  fc.record({
    id: fc.constant(`g${i}`),
    workload: fc.constantFrom(...WORKLOAD_PATTERNS),
    methods: fc.oneof(fc.constant<string[]>(['*']), fc.subarray(METHODS, { minLength: 1 })),
    paths: fc.subarray(GLOBS, { minLength: 1 }),
    conditions,
  }).map((g) => (g.conditions === undefined ? { id: g.id, workload: g.workload, methods: g.methods, paths: g.paths } : g));

const time = fc.option(fc.integer({ min: NOW - 100, max: NOW + 100 }), { nil: undefined });

const subjectSel = fc.oneof(
  fc.constantFrom(...USERS).map((value) => ({ kind: 'user' as const, value })),
  fc.constantFrom(...USERS).map((value) => ({ kind: 'user' as const, value: `user:h:${value}` })),
  fc.constantFrom(...EMAILS).map((value) => ({ kind: 'email' as const, value })),
  fc.constantFrom(...GROUPS).map((value) => ({ kind: 'group' as const, value })),
  fc.constantFrom(...SERVICES).map((value) => ({ kind: 'service' as const, value })),
);

const binding = (i: number): fc.Arbitrary<Binding> =>
  fc
    .record({ subject: subjectSel, roleId: fc.constantFrom(...ROLE_IDS), a: time, b: time })
    .map(({ subject, roleId, a, b }) => {
      const out: Binding = { id: `b${i}`, subject, roleId };
      // Keep notBefore < expiresAt so the document compiles.
      if (a !== undefined && b !== undefined && a !== b) {
        out.notBefore = Math.min(a, b);
        out.expiresAt = Math.max(a, b);
      } else if (a !== undefined) out.expiresAt = a;
      return out;
    });

const denyRule = (i: number): fc.Arbitrary<DenyRule> =>
  fc
    .record({
      sel: fc.oneof(
        fc.constant({ everyone: true }),
        fc.subarray(USERS, { minLength: 1 }).map((users) => ({ users })),
        fc.subarray(GROUPS, { minLength: 1 }).map((groups) => ({ groups })),
        fc.subarray(EMAILS, { minLength: 1 }).map((emails) => ({ emails })),
        fc.subarray(SERVICES, { minLength: 1 }).map((services) => ({ services })),
      ),
      workload: fc.constantFrom(...WORKLOAD_PATTERNS),
      methods: fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
      paths: fc.option(fc.subarray(GLOBS, { minLength: 1 }), { nil: undefined }),
      conditions,
    })
    .map(({ sel, workload, methods, paths, conditions: c }) => {
      const rule: DenyRule = { id: `d${i}`, subjects: sel, workload };
      if (methods) rule.methods = methods;
      if (paths) rule.paths = paths;
      if (c) rule.conditions = c;
      return rule;
    });

function indexed<T>(make: (i: number) => fc.Arbitrary<T>, max: number): fc.Arbitrary<T[]> {
  return fc.integer({ min: 0, max }).chain((n) => (n === 0 ? fc.constant([]) : fc.tuple(...Array.from({ length: n }, (_, i) => make(i)))));
}

const doc: fc.Arbitrary<PolicyDocument> = fc
  .record({
    grants: fc.tuple(...ROLE_IDS.map(() => indexed(grant, 3))),
    perms: fc.tuple(...ROLE_IDS.map(() => fc.subarray(['admin', 'auditor'] as const))),
    bindings: indexed(binding, 12),
    denyRules: indexed(denyRule, 3),
  })
  .map(({ grants, perms, bindings, denyRules }) => ({
    roles: ROLE_IDS.map((id, i) => ({ id, grants: grants[i]!, permissions: [...perms[i]!] })),
    bindings,
    denyRules,
  }));

const decisionInput: fc.Arbitrary<DecisionInput> = fc.record({
  subject: fc.oneof(
    fc.record({
      kind: fc.constant('user' as const),
      sub: fc.constantFrom(...USERS),
      email: fc.option(fc.constantFrom(...EMAILS, 'u2@x.test'), { nil: undefined }),
      groups: fc.subarray(GROUPS),
    }).map((s) => ({ ...s, id: `user:h:${s.sub}` })),
    fc.constantFrom(...SERVICES).map((sub) => ({ kind: 'service' as const, sub, id: `service:${sub}`, groups: [] })),
  ),
  device: fc.option(fc.record({ id: fc.constant('d'), trust: fc.constantFrom('none', 'low', 'medium', 'high' as const) }), { nil: undefined }),
  auth: fc.option(
    fc.record({ amr: fc.subarray(['pwd', 'otp', 'hwk']), acr: fc.option(fc.constantFrom('gold', 'silver'), { nil: undefined }), authTime: fc.integer({ min: NOW - 7200, max: NOW }) }),
    { nil: undefined },
  ),
  request: fc.record({
    workload: fc.constantFrom(...WORKLOADS, 'other'),
    method: fc.constantFrom(...METHODS),
    path: fc.constantFrom(...PATHS),
    ip: fc.option(fc.constantFrom('10.1.2.3', '192.0.2.5', '2001:db8::7', '::ffff:10.0.0.1', '8.8.8.8', 'junk'), { nil: undefined }),
    country: fc.option(fc.constantFrom('DE', 'US', 'FR', 'KP'), { nil: undefined }),
  }),
  now: fc.integer({ min: NOW - 150, max: NOW + 150 }),
});

const RUNS = { numRuns: 1000 };

describe('policy properties', () => {
  it('adding a deny rule never turns a deny into an allow (and never adds roles)', () => {
    fc.assert(
      fc.property(doc, denyRule(99), decisionInput, (d, extra, inp) => {
        const before = evaluate(compile(d), inp);
        const after = evaluate(compile({ ...d, denyRules: [...d.denyRules, extra] }), inp);
        if (before.effect === 'deny') expect(after.effect).toBe('deny');
        for (const r of after.roles) expect(before.roles).toContain(r);
      }),
      RUNS,
    );
  });

  it('removing a binding never grants more', () => {
    fc.assert(
      fc.property(doc, decisionInput, fc.nat(), (d, inp, pick) => {
        fc.pre(d.bindings.length > 0);
        const i = pick % d.bindings.length;
        const full = compile(d);
        const less = compile({ ...d, bindings: d.bindings.filter((_, j) => j !== i) });
        const a = evaluate(full, inp);
        const b = evaluate(less, inp);
        if (a.effect === 'deny') expect(b.effect).toBe('deny');
        for (const r of b.roles) expect(a.roles).toContain(r);
        for (const p of permissionsOf(less, inp.subject, inp.now)) expect(permissionsOf(full, inp.subject, inp.now)).toContain(p);
      }),
      RUNS,
    );
  });

  it('an expired or not-yet-valid binding never grants', () => {
    fc.assert(
      fc.property(doc, decisionInput, (d, inp) => {
        const valid = (b: Binding) => (b.notBefore === undefined || inp.now >= b.notBefore) && (b.expiresAt === undefined || inp.now < b.expiresAt);
        const withAll = evaluate(compile(d), inp);
        const onlyValid = evaluate(compile({ ...d, bindings: d.bindings.filter(valid) }), inp);
        expect(withAll.effect).toBe(onlyValid.effect);
        expect(withAll.roles).toEqual(onlyValid.roles);
        expect(withAll.matched).toEqual(onlyValid.matched);
        const withPerms = permissionsOf(compile(d), inp.subject, inp.now);
        expect(withPerms).toEqual(permissionsOf(compile({ ...d, bindings: d.bindings.filter(valid) }), inp.subject, inp.now));
      }),
      RUNS,
    );
  });

  it('an allow names only bound roles, a deny names none', () => {
    fc.assert(
      fc.property(doc, decisionInput, (d, inp) => {
        const dec = evaluate(compile(d), inp);
        if (dec.effect === 'allow') {
          expect(dec.reasons).toEqual(['allowed']);
          expect(dec.roles.length).toBeGreaterThan(0);
          expect([...dec.roles].sort()).toEqual(dec.roles);
          expect(dec.matched?.kind).toBe('grant');
        } else {
          expect(dec.roles).toEqual([]);
          expect(dec.reasons.length).toBeGreaterThan(0);
          expect(dec.reasons).not.toContain('allowed');
          expect(dec.reasons).not.toContain('evaluation-error');
        }
        // Paths with dot-segments are never allowed.
        if (/(^|\/)(\.|%2e){1,2}(\/|$)/i.test(inp.request.path)) expect(dec.effect).toBe('deny');
      }),
      RUNS,
    );
  });

  it('evaluation is deterministic (same snapshot, and a recompiled one)', () => {
    fc.assert(
      fc.property(doc, decisionInput, (d, inp) => {
        const s = compile(d);
        const first = evaluate(s, inp);
        expect(evaluate(s, inp)).toEqual(first);
        expect(evaluate(compile(structuredClone(d)), structuredClone(inp))).toEqual(first);
      }),
      RUNS,
    );
  });

  it('evaluate is total on arbitrary input', () => {
    const s = compile({ roles: [{ id: 'r', grants: [{ id: 'g', workload: '*', methods: ['*'], paths: ['/**'] }], permissions: [] }], bindings: [], denyRules: [] });
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        const d = evaluate(s, junk as DecisionInput);
        expect(d.effect).toBe('deny');
      }),
      RUNS,
    );
  });
});
