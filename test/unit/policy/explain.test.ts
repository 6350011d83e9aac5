import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  compile,
  derivedOutcome,
  evaluate,
  explain,
  type Binding,
  type Conditions,
  type DecisionInput,
  type DenyRule,
  type Explanation,
  type Grant,
  type PolicyDocument,
} from '../../../src/policy/index.js';
import { NOW, baseDoc, input, service, user } from './fixtures.js';

function source(doc: PolicyDocument, workloads?: string[]) {
  const policy = compile(doc, workloads ? { workloads } : {});
  return { policy, document: doc, ...(workloads ? { knownWorkload: (id: string) => workloads.includes(id) } : {}) };
}

function grant(e: Explanation, roleId: string, grantId: string) {
  const g = e.grants.find((x) => x.roleId === roleId && x.grantId === grantId);
  if (!g) throw new Error(`grant ${roleId}/${grantId} not explained`);
  return g;
}

const strong = { device: { id: 'd1', trust: 'high' as const }, auth: { amr: ['pwd', 'otp'], authTime: NOW - 10 } };

describe('explain: bindings', () => {
  const s = source(baseDoc());
  it.each<[string, DecisionInput, { id: string; status: string }[]]>([
    ['raw sub and Tollgate subject', input(user('alice')), [{ id: 'b-alice', status: 'valid' }, { id: 'b-alice-admin', status: 'valid' }]],
    ['by Tollgate subject id', input(user('bob')), [{ id: 'b-bob', status: 'valid' }]],
    ['email, case-insensitive', input(user('carol', { email: 'carol@example.com' })), [{ id: 'b-carol', status: 'valid' }]],
    ['group', input(user('z', { groups: ['sre'] })), [{ id: 'b-sre', status: 'valid' }]],
    ['service', input(service('ci')), [{ id: 'b-ci', status: 'valid' }]],
    ['expired, with its end', input(user('dave')), [{ id: 'b-dave', status: 'expired' }, { id: 'b-dave-audit', status: 'expired' }]],
    ['not yet valid', input(user('erin')), [{ id: 'b-erin', status: 'not-yet-valid' }, { id: 'b-erin-audit', status: 'valid' }]],
    ['a user never matches a service binding', input(user('ci')), []],
    ['nobody', input(user('nobody')), []],
  ])('%s', (_n, inp, expected) => {
    const e = explain(s, inp);
    expect(e.bindings.map(({ id, status }) => ({ id, status }))).toEqual(expected);
  });

  it('keeps the binding window and reason', () => {
    const e = explain(s, input(user('dave')));
    expect(e.bindings[0]).toEqual({
      id: 'b-dave',
      roleId: 'reader',
      subject: { kind: 'user', value: 'dave' },
      status: 'expired',
      expiresAt: NOW - 1,
      reason: 'incident 42',
    });
    expect(e.decision.reasons).toEqual(['binding-expired']);
    expect(grant(e, 'reader', 'read')).toMatchObject({ bindingValid: false, outcome: 'binding-invalid', reasons: ['binding-expired'] });
  });
});

describe('explain: grants and each condition', () => {
  const s = source(baseDoc());

  it('an allow names the grant; a target mismatch is listed but does not explain the deny', () => {
    const e = explain(s, input(user('alice')));
    expect(e.decision.effect).toBe('allow');
    expect(grant(e, 'reader', 'read')).toEqual({
      roleId: 'reader',
      grantId: 'read',
      workload: 'inventory',
      bindingValid: true,
      target: { method: true, path: true },
      conditions: [],
      outcome: 'allows',
      reasons: [],
    });
    const miss = explain(s, input(user('alice'), { method: 'DELETE' }));
    expect(miss.decision.reasons).toEqual(['no-matching-grant']);
    expect(grant(miss, 'reader', 'read')).toMatchObject({ target: { method: false, path: true }, outcome: 'target-mismatch', reasons: [] });
  });

  type Row = [name: string, inp: DecisionInput, role: string, grantId: string, checks: { condition: string; passed: boolean; reason?: string }[]];
  it.each<Row>([
    [
      'device trust and MFA both fail',
      input(user('bob'), { method: 'PUT' }),
      'writer',
      'write',
      [
        { condition: 'minDeviceTrust', passed: false, reason: 'device-untrusted' },
        { condition: 'mfa', passed: false, reason: 'mfa-required' },
      ],
    ],
    [
      'device trust and MFA pass',
      input(user('bob'), { method: 'PUT' }, strong),
      'writer',
      'write',
      [
        { condition: 'minDeviceTrust', passed: true },
        { condition: 'mfa', passed: true },
      ],
    ],
    [
      'source CIDR and country fail',
      input(user('z', { groups: ['sre'] }), { ip: '8.8.8.8', country: 'US' }),
      'ops',
      'ops-any',
      [
        { condition: 'sourceCidrs', passed: false, reason: 'source-ip-not-allowed' },
        { condition: 'countries', passed: false, reason: 'country-not-allowed' },
      ],
    ],
    [
      'unknown IP and country fail a grant',
      input(user('z', { groups: ['sre'] })),
      'ops',
      'ops-any',
      [
        { condition: 'sourceCidrs', passed: false, reason: 'source-ip-not-allowed' },
        { condition: 'countries', passed: false, reason: 'country-not-allowed' },
      ],
    ],
    [
      'time window: Wednesday 11:00 Berlin is inside',
      input(user('f', { groups: ['finance'] }), { workload: 'billing', path: '/x' }),
      'office-hours',
      'weekdays',
      [{ condition: 'timeWindows', passed: true }],
    ],
    [
      'time window: 20:00 Berlin is outside',
      input(user('f', { groups: ['finance'] }), { workload: 'billing', path: '/x' }, { now: NOW + 9 * 3600 }),
      'office-hours',
      'weekdays',
      [{ condition: 'timeWindows', passed: false, reason: 'outside-time-window' }],
    ],
    [
      'auth age: too old',
      input(user('frank'), { workload: 'billing', method: 'POST', path: '/pay' }, { auth: { authTime: NOW - 301 } }),
      'payer',
      'pay',
      [{ condition: 'maxAuthAgeSeconds', passed: false, reason: 'auth-too-old' }],
    ],
    [
      'auth age: unknown auth time fails',
      input(user('frank'), { workload: 'billing', method: 'POST', path: '/pay' }),
      'payer',
      'pay',
      [{ condition: 'maxAuthAgeSeconds', passed: false, reason: 'auth-too-old' }],
    ],
    [
      'acr alone',
      input(user('frank'), { workload: 'billing', method: 'POST', path: '/pay/gold' }, { auth: { acr: 'urn:acr:gold' } }),
      'payer',
      'pay-gold',
      [{ condition: 'mfa', passed: true }],
    ],
  ])('%s', (_n, inp, role, grantId, checks) => {
    const e = explain(s, inp);
    const g = grant(e, role, grantId);
    expect(g.conditions.map(({ condition, passed, reason }) => ({ condition, passed, ...(reason ? { reason } : {}) }))).toEqual(checks);
    expect(g.outcome).toBe(checks.every((c) => c.passed) ? 'allows' : 'conditions-failed');
    expect(derivedOutcome(e)).toEqual({ effect: e.decision.effect, reasons: e.decision.reasons });
  });

  it('reports the facts each condition was checked against', () => {
    const e = explain(s, input(user('frank'), { workload: 'billing', method: 'POST', path: '/pay' }, { auth: { authTime: NOW - 400, amr: ['pwd'] } }));
    expect(grant(e, 'payer', 'pay').conditions[0]).toEqual({
      condition: 'maxAuthAgeSeconds',
      required: 300,
      actual: 400,
      passed: false,
      reason: 'auth-too-old',
    });
  });

  it('every MFA amr value the evaluator accepts is accepted here too', () => {
    const doc: PolicyDocument = {
      roles: [{ id: 'r', permissions: [], grants: [{ id: 'g', workload: 'w', methods: ['*'], paths: ['/**'], conditions: { mfa: true } }] }],
      bindings: [{ id: 'b', subject: { kind: 'user', value: 'u' }, roleId: 'r' }],
      denyRules: [],
    };
    const src = source(doc);
    for (const amr of ['mfa', 'mca', 'otp', 'hwk', 'swk', 'fpt', 'face', 'iris', 'retina', 'vbm', 'sc', 'pop', 'pwd', 'kba', 'MFA']) {
      const e = explain(src, input(user('u'), { workload: 'w', path: '/' }, { auth: { amr: [amr] } }));
      expect(grant(e, 'r', 'g').outcome === 'allows', amr).toBe(e.decision.effect === 'allow');
    }
  });
});

describe('explain: deny rules', () => {
  const doc = baseDoc();
  doc.denyRules = [
    { id: 'embargo', subjects: { everyone: true }, workload: '*', conditions: { countries: ['KP'] }, reason: 'sanctions' },
    { id: 'contractor-exports', subjects: { groups: ['contractors'] }, workload: 'inventory', methods: ['GET'], paths: ['/items/export/**'] },
    { id: 'writes-need-strong', subjects: { everyone: true }, workload: 'inv*', methods: ['POST', 'PUT'], conditions: { minDeviceTrust: 'high', mfa: true } },
  ];
  const s = source(doc);

  it('deny wins and names the rule; rules that do not apply say why', () => {
    const e = explain(s, input(user('alice', { groups: ['contractors'] }), { path: '/items/export/all', country: 'DE' }));
    expect(e.decision).toMatchObject({ effect: 'deny', reasons: ['explicit-deny'], matched: { kind: 'deny-rule', ruleId: 'contractor-exports' } });
    expect(e.denyRules).toEqual([
      { id: 'embargo', reason: 'sanctions', subject: true, target: { method: true, path: true }, scope: [{ condition: 'countries', required: ['KP'], actual: 'DE', passed: false }], requirements: [], applies: false, reasons: [] },
      { id: 'contractor-exports', subject: true, target: { method: true, path: true }, scope: [], requirements: [], applies: true, reasons: ['explicit-deny'] },
      { id: 'writes-need-strong', subject: true, target: { method: false, path: true }, scope: [], requirements: expect.any(Array), applies: false, reasons: [] },
    ]);
    // The grant that would have allowed is still explained.
    expect(grant(e, 'reader', 'read').outcome).toBe('allows');
  });

  it('scope: an unknown country counts as inside (fail closed); a known one outside the list keeps the rule out', () => {
    const unknown = explain(s, input(user('alice')));
    expect(unknown.denyRules.find((d) => d.id === 'embargo')).toMatchObject({ applies: true, scope: [{ condition: 'countries', actual: null, passed: true }] });
    expect(unknown.decision.matched).toEqual({ kind: 'deny-rule', ruleId: 'embargo' });
    const e = explain(s, input(user('alice'), { country: 'DE' }));
    expect(e.denyRules.find((d) => d.id === 'embargo')).toMatchObject({ applies: false, scope: [{ condition: 'countries', passed: false }] });
    expect(e.decision.effect).toBe('allow');
  });

  it('requirements: "deny unless" reports the unmet ones', () => {
    const e = explain(s, input(user('bob'), { method: 'PUT', country: 'DE' }, { device: { id: 'd', trust: 'high' } }));
    const rule = e.denyRules.find((d) => d.id === 'writes-need-strong')!;
    expect(rule.requirements.map((r) => [r.condition, r.passed])).toEqual([
      ['minDeviceTrust', true],
      ['mfa', false],
    ]);
    expect(rule).toMatchObject({ applies: true, reasons: ['explicit-deny', 'mfa-required'] });
    expect(e.decision.reasons).toEqual(['explicit-deny', 'mfa-required']);
  });
});

describe('explain: workload and malformed input', () => {
  it('unknown workload with a catalog', () => {
    const e = explain(source(baseDoc(), ['inventory', 'billing']), input(user('alice'), { workload: 'nope' }));
    expect(e.workload).toEqual({ id: 'nope', known: false });
    expect(e.decision.reasons).toEqual(['unknown-workload']);
    expect(derivedOutcome(e)).toEqual({ effect: 'deny', reasons: ['unknown-workload'] });
  });

  it('a malformed input is an evaluation-error deny with an empty explanation, never a throw', () => {
    const bad = { subject: { kind: 'robot' }, request: {}, now: 'x' } as unknown as DecisionInput;
    const e = explain(source(baseDoc()), bad);
    expect(e.decision).toMatchObject({ effect: 'deny', reasons: ['evaluation-error'] });
    expect(e).toMatchObject({ bindings: [], grants: [], denyRules: [], error: expect.any(String) });
  });
});

// ---------------------------------------------------------------------------
// Property: the explanation leads to exactly the evaluator's effect and reasons.

const P_NOW = 1_767_780_000;
const WORKLOADS = ['inv', 'inv-2', 'billing'];
const PATTERNS = [...WORKLOADS, 'inv*', '*'];
const METHODS = ['GET', 'POST', 'DELETE'];
const PATHS = ['/', '/a', '/a/', '/a/b', '/a/b/c', '/a/../b', '/b/x%2Fy', '/c/d.json'];
const GLOBS = ['/**', '/a/**', '/a/*', '/a/b', '/*/b/**', '/b/*', '/**/*.json', '/'];
const USERS = ['u1', 'u2'];
const GROUPS = ['g1', 'g2'];
const EMAILS = ['u1@x.test', 'U2@X.test'];
const SERVICES = ['s1', 's2'];
const ROLES = ['r0', 'r1', 'r2'];

const cond: fc.Arbitrary<Conditions> = fc.oneof(
  fc.constantFrom('none', 'low', 'medium', 'high' as const).map((minDeviceTrust) => ({ minDeviceTrust })),
  fc.constant<Conditions>({ mfa: true }),
  fc.constant<Conditions>({ acr: ['gold'] }),
  fc.constant<Conditions>({ mfa: true, acr: ['gold'] }),
  fc.constantFrom(60, 3600).map((maxAuthAgeSeconds) => ({ maxAuthAgeSeconds })),
  fc.constant<Conditions>({ timeWindows: [{ start: '08:00', end: '18:00', timeZone: 'Europe/Berlin' }] }),
  fc.constantFrom<string[]>(['10.0.0.0/8'], ['2001:db8::/32', '192.0.2.0/24']).map((sourceCidrs) => ({ sourceCidrs })),
  fc.constantFrom<string[]>(['DE'], ['US', 'fr']).map((countries) => ({ countries })),
);
const conds = fc.option(fc.tuple(cond, cond).map(([a, b]) => ({ ...a, ...b })), { nil: undefined });
const time = fc.option(fc.integer({ min: P_NOW - 100, max: P_NOW + 100 }), { nil: undefined });

const arbGrant = (i: number): fc.Arbitrary<Grant> =>
  fc
    .record({ workload: fc.constantFrom(...PATTERNS), methods: fc.oneof(fc.constant<string[]>(['*']), fc.subarray(METHODS, { minLength: 1 })), paths: fc.subarray(GLOBS, { minLength: 1 }), conditions: conds })
    .map(({ conditions, ...g }) => ({ id: `g${i}`, ...g, ...(conditions ? { conditions } : {}) }));
const arbBinding = (i: number): fc.Arbitrary<Binding> =>
  fc
    .record({
      subject: fc.oneof(
        fc.constantFrom(...USERS).map((value) => ({ kind: 'user' as const, value })),
        fc.constantFrom(...USERS).map((value) => ({ kind: 'user' as const, value: `user:h:${value}` })),
        fc.constantFrom(...EMAILS).map((value) => ({ kind: 'email' as const, value })),
        fc.constantFrom(...GROUPS).map((value) => ({ kind: 'group' as const, value })),
        fc.constantFrom(...SERVICES).map((value) => ({ kind: 'service' as const, value })),
      ),
      roleId: fc.constantFrom(...ROLES),
      a: time,
      b: time,
    })
    .map(({ subject, roleId, a, b }) => {
      const out: Binding = { id: `b${i}`, subject, roleId };
      if (a !== undefined && b !== undefined && a !== b) {
        out.notBefore = Math.min(a, b);
        out.expiresAt = Math.max(a, b);
      } else if (a !== undefined) out.expiresAt = a;
      return out;
    });
const arbDeny = (i: number): fc.Arbitrary<DenyRule> =>
  fc
    .record({
      subjects: fc.oneof(
        fc.constant({ everyone: true }),
        fc.subarray(USERS, { minLength: 1 }).map((users) => ({ users })),
        fc.subarray(GROUPS, { minLength: 1 }).map((groups) => ({ groups })),
        fc.subarray(EMAILS, { minLength: 1 }).map((emails) => ({ emails })),
        fc.subarray(SERVICES, { minLength: 1 }).map((services) => ({ services })),
      ),
      workload: fc.constantFrom(...PATTERNS),
      methods: fc.option(fc.subarray(METHODS, { minLength: 1 }), { nil: undefined }),
      paths: fc.option(fc.subarray(GLOBS, { minLength: 1 }), { nil: undefined }),
      conditions: conds,
    })
    .map(({ methods, paths, conditions, ...r }) => ({ id: `d${i}`, ...r, ...(methods ? { methods } : {}), ...(paths ? { paths } : {}), ...(conditions ? { conditions } : {}) }));
const list = <T,>(make: (i: number) => fc.Arbitrary<T>, max: number) =>
  fc.integer({ min: 0, max }).chain((n) => (n === 0 ? fc.constant([] as T[]) : fc.tuple(...Array.from({ length: n }, (_, i) => make(i)))));
const arbDoc: fc.Arbitrary<PolicyDocument> = fc
  .record({ grants: fc.tuple(...ROLES.map(() => list(arbGrant, 3))), bindings: list(arbBinding, 10), denyRules: list(arbDeny, 3) })
  .map(({ grants, bindings, denyRules }) => ({ roles: ROLES.map((id, i) => ({ id, grants: grants[i]!, permissions: [] })), bindings, denyRules }));
const arbInput: fc.Arbitrary<DecisionInput> = fc.record({
  subject: fc.oneof(
    fc
      .record({ kind: fc.constant('user' as const), sub: fc.constantFrom(...USERS), email: fc.option(fc.constantFrom(...EMAILS, 'u2@x.test'), { nil: undefined }), groups: fc.subarray(GROUPS) })
      .map(({ email, ...s }) => ({ ...s, id: `user:h:${s.sub}`, ...(email ? { email } : {}) })),
    fc.constantFrom(...SERVICES).map((sub) => ({ kind: 'service' as const, sub, id: `service:${sub}`, groups: [] })),
  ),
  device: fc.option(fc.record({ id: fc.constant('d'), trust: fc.constantFrom('none', 'low', 'medium', 'high' as const) }), { nil: undefined }),
  auth: fc.option(fc.record({ amr: fc.subarray(['pwd', 'otp', 'hwk']), acr: fc.option(fc.constantFrom('gold', 'silver'), { nil: undefined }), authTime: fc.integer({ min: P_NOW - 7200, max: P_NOW }) }), { nil: undefined }),
  request: fc.record({
    workload: fc.constantFrom(...WORKLOADS, 'other'),
    method: fc.constantFrom(...METHODS),
    path: fc.constantFrom(...PATHS),
    ip: fc.option(fc.constantFrom('10.1.2.3', '192.0.2.5', '2001:db8::7', '::ffff:10.0.0.1', '8.8.8.8', 'junk'), { nil: undefined }),
    country: fc.option(fc.constantFrom('DE', 'US', 'FR', 'fr', 'KP'), { nil: undefined }),
  }),
  now: fc.integer({ min: P_NOW - 150, max: P_NOW + 150 }),
}).map((i) => {
  const out = { ...i } as DecisionInput;
  if (i.device === undefined) delete out.device;
  if (i.auth === undefined) delete out.auth;
  else if (i.auth.acr === undefined) delete out.auth!.acr;
  return out;
});

describe('explain: property', () => {
  it('the explanation leads to the evaluator’s effect and reasons, and names the failed grants', () => {
    fc.assert(
      fc.property(arbDoc, arbInput, fc.boolean(), (doc, inp, withCatalog) => {
        const src = source(doc, withCatalog ? [...WORKLOADS] : undefined);
        const e = explain(src, inp);
        expect(e.decision).toEqual(evaluate(src.policy, inp));
        expect(derivedOutcome(e)).toEqual({ effect: e.decision.effect, reasons: e.decision.reasons });
        if (e.decision.effect === 'deny' && !e.decision.matched) {
          const failed = e.grants.filter((g) => g.outcome === 'binding-invalid' || g.outcome === 'conditions-failed');
          expect(failed.map((g) => ({ roleId: g.roleId, grantId: g.grantId, reasons: g.reasons }))).toEqual(
            e.decision.reasons.includes('unknown-workload') ? failed.map((g) => ({ roleId: g.roleId, grantId: g.grantId, reasons: g.reasons })) : e.decision.failed,
          );
        }
        if (e.decision.effect === 'allow') {
          const allowing = e.grants.filter((g) => g.outcome === 'allows');
          expect([...new Set(allowing.map((g) => g.roleId))].sort()).toEqual(e.decision.roles);
        }
      }),
      { numRuns: 3000 },
    );
  });
});
