/**
 * The admin API's wire form: conversions round-trip (property), the subject
 * the policy sees for a principal, and compile() errors mapped to the body
 * field that caused them.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { applyOps, createConfigService, decisionSubject, fromWire, toWire } from '../../../src/admin/index.js';
import { isTollgateError } from '../../../src/errors.js';
import { silentLogger } from '../../../src/platform/index.js';
import type { Binding, DenyRule, Role } from '../../../src/policy/index.js';
import type { ConfigState } from '../../../src/store/admin-ports.js';

const str = fc.string({ minLength: 1, maxLength: 8 });
const conditions = fc.record(
  {
    minDeviceTrust: fc.constantFrom('none', 'low', 'medium', 'high' as const),
    mfa: fc.boolean(),
    acr: fc.array(str, { minLength: 1, maxLength: 2 }),
    maxAuthAgeSeconds: fc.nat(),
    timeWindows: fc.array(fc.record({ days: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 3 }), start: fc.constant('09:00'), end: fc.constant('17:00'), timeZone: fc.constant('UTC') }, { requiredKeys: ['start', 'end', 'timeZone'] }), { minLength: 1, maxLength: 2 }),
    sourceCidrs: fc.array(fc.constant('10.0.0.0/8'), { minLength: 1, maxLength: 2 }),
    countries: fc.array(fc.constantFrom('DE', 'US'), { minLength: 1, maxLength: 2 }),
  },
  { requiredKeys: [] },
);
const nonEmptyConditions = conditions.filter((c) => Object.keys(c).length > 0);
const grant = fc.record({ id: str, workload: str, methods: fc.array(str, { minLength: 1, maxLength: 2 }), paths: fc.array(str, { minLength: 1, maxLength: 2 }), conditions: nonEmptyConditions }, { requiredKeys: ['id', 'workload', 'methods', 'paths'] });
const role: fc.Arbitrary<Role> = fc.record({
  id: str,
  description: str,
  permissions: fc.uniqueArray(fc.constantFrom('admin', 'auditor' as const)).map((p) => [...p].sort()),
  grants: fc.array(grant, { maxLength: 3 }),
});
const binding: fc.Arbitrary<Binding> = fc.record(
  {
    id: str,
    subject: fc.record({ kind: fc.constantFrom('user', 'email', 'group', 'service' as const), value: str }),
    roleId: str,
    notBefore: fc.nat(),
    expiresAt: fc.nat(),
    reason: str,
  },
  { requiredKeys: ['id', 'subject', 'roleId'] },
) as fc.Arbitrary<Binding>;
const deny: fc.Arbitrary<DenyRule> = fc.record(
  {
    id: str,
    subjects: fc.record({ everyone: fc.boolean(), groups: fc.array(str, { maxLength: 2 }) }, { requiredKeys: [] }),
    workload: str,
    methods: fc.array(str, { minLength: 1, maxLength: 2 }),
    paths: fc.array(str, { minLength: 1, maxLength: 2 }),
    conditions: nonEmptyConditions,
    reason: str,
  },
  { requiredKeys: ['id', 'subjects', 'workload', 'methods', 'paths'] },
);

describe('wire form', () => {
  it('domain → wire → domain is the identity (roles, bindings, deny rules)', () => {
    fc.assert(fc.property(role, (r) => {
      expect(fromWire.role(toWire.role(r))).toEqual(r);
    }));
    fc.assert(fc.property(binding, (b) => {
      expect(fromWire.binding(toWire.binding(b))).toEqual(b);
    }));
    fc.assert(fc.property(deny, (d) => {
      expect(fromWire['deny-rule'](toWire['deny-rule'](d))).toEqual(d);
    }));
  });

  it('is snake_case', () => {
    const w = toWire.binding({ id: 'b', subject: { kind: 'group', value: 'g' }, roleId: 'r', notBefore: 1, expiresAt: 2 });
    expect(Object.keys(w).sort()).toEqual(['expires_at', 'id', 'not_before', 'reason', 'role_id', 'subject']);
    const r = toWire.role({ id: 'r', permissions: [], grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/'], conditions: { maxAuthAgeSeconds: 1, timeWindows: [{ start: '09:00', end: '10:00', timeZone: 'UTC' }] } }] });
    expect(r.grants[0]!.conditions).toEqual({ max_auth_age_seconds: 1, time_windows: [{ start: '09:00', end: '10:00', time_zone: 'UTC' }] });
  });

  it('workload hosts are lower-cased and de-duplicated on the way in', () => {
    expect(fromWire.workload({ id: 'w', name: 'W', hosts: ['A.example', 'a.example'], endpoints: [] }).hosts).toEqual(['a.example']);
  });
});

describe('the policy’s view of a principal', () => {
  it.each([
    ['user:VS52XyOFL_cY:alice', undefined, { kind: 'user', id: 'user:VS52XyOFL_cY:alice', sub: 'alice' }],
    ['user:VS52XyOFL_cY:a:b', undefined, { kind: 'user', sub: 'a:b' }],
    ['user:VS52XyOFL_cY:alice', 'raw-sub', { kind: 'user', sub: 'raw-sub' }],
    ['service:ci', undefined, { kind: 'service', id: 'service:ci', sub: 'ci' }],
    ['weird', undefined, { kind: 'user', id: 'weird', sub: 'weird' }],
  ])('%s', (subject, idpSub, expected) => {
    expect(decisionSubject(subject, 'e@example.com', ['g'], idpSub)).toMatchObject({ ...expected, email: 'e@example.com', groups: ['g'] });
  });
});

describe('validation against the whole policy', () => {
  const service = createConfigService({
    store: {} as never,
    versions: { publish: async () => {} },
    logger: silentLogger,
    originAuthority: '127.0.0.1:8787',
    assertionTtlSeconds: 30,
  });
  const state: ConfigState = {
    version: '7',
    roles: [{ value: { id: 'r', permissions: [], grants: [] }, version: 3 }],
    bindings: [{ value: { id: 'b', subject: { kind: 'group', value: 'g' }, roleId: 'r' }, version: 4 }],
    denyRules: [],
    workloads: [{ value: { id: 'w', name: 'W', hosts: ['w.example'], endpoints: [{ id: 'e', url: 'http://127.0.0.1:1', location: 'onprem', source: 'static', health: 'unknown' }] }, version: 5 }],
  };
  const code = (f: () => void) => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return isTollgateError(e) ? `${e.code} ${JSON.stringify(e.details.errors ?? [])}` : 'other';
    }
  };

  it('names the changed resource’s field as a JSON pointer, in snake_case', () => {
    const bad: Role = { id: 'n', permissions: [], grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/'], conditions: { timeWindows: [{ start: '09:00', end: '10:00', timeZone: 'Nowhere/City' }] } }] };
    const next = applyOps(state, [{ type: 'put', kind: 'role', value: bad }]);
    expect(code(() => service.validate(next, { kind: 'role', id: 'n' }))).toMatch(/^policy-invalid \[\{"in":"body","pointer":"\/grants\/0\/conditions\/time_windows\/0","detail":"[^"]+"\}\]$/);
    const unbound = applyOps(state, [{ type: 'put', kind: 'binding', value: { id: 'x', subject: { kind: 'group', value: 'g' }, roleId: 'missing' } }]);
    expect(code(() => service.validate(unbound, { kind: 'binding', id: 'x' }))).toContain('"pointer":"/role_id"');
  });

  it('a problem elsewhere (a dependency) is reported without a body pointer', () => {
    const next = applyOps(state, [{ type: 'delete', kind: 'role', id: 'r' }]);
    expect(code(() => service.validate(next))).toBe('policy-invalid []');
  });

  it('applyOps puts a changed resource last and gives it the next version', () => {
    const next = applyOps(state, [{ type: 'put', kind: 'workload', value: { ...state.workloads[0]!.value, name: 'W2' } }]);
    expect(next.workloads.at(-1)).toEqual({ value: { ...state.workloads[0]!.value, name: 'W2' }, version: 8 });
    expect(state.workloads[0]!.value.name).toBe('W');
  });

  it('catalog: host clash (409), endpoint id clash (409), origin host and bad URL (422)', () => {
    const w2 = (over: object) => applyOps(state, [{ type: 'put', kind: 'workload', value: { id: 'w2', name: 'W2', hosts: [], endpoints: [], ...over } }]);
    expect(code(() => service.validate(w2({ hosts: ['w.example'] }), { kind: 'workload', id: 'w2' }))).toMatch(/^conflict .*"\/hosts\/0"/);
    expect(code(() => service.validate(w2({ endpoints: [{ id: 'e', url: 'http://127.0.0.1:2', location: 'onprem', source: 'static', health: 'unknown' }] }), { kind: 'workload', id: 'w2' }))).toMatch(/^conflict .*"\/endpoints\/0\/id"/);
    expect(code(() => service.validate(w2({ hosts: ['127.0.0.1:8787'] }), { kind: 'workload', id: 'w2' }))).toMatch(/^policy-invalid .*"\/hosts\/0"/);
    expect(code(() => service.validate(w2({ endpoints: [{ id: 'e2', url: 'ftp://x', location: 'onprem', source: 'static', health: 'unknown' }] }), { kind: 'workload', id: 'w2' }))).toMatch(/^policy-invalid .*"\/endpoints\/0\/url"/);
    expect(code(() => service.validate(w2({ hosts: ['w2.example'] }), { kind: 'workload', id: 'w2' }))).toBe('ok');
  });
});
