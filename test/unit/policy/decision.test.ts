import { describe, expect, it } from 'vitest';
import { compile, evaluate, permissionsOf, type Decision, type DecisionInput, type DenyRule, type PolicyDocument, type Snapshot } from '../../../src/policy/index.js';
import { NOW, baseDoc, input, service, user } from './fixtures.js';

type Expect = Partial<Pick<Decision, 'effect' | 'reasons' | 'roles' | 'matched' | 'failed'>>;
type Case = [name: string, input: DecisionInput, expected: Expect];

function check(snapshot: Snapshot, cases: Case[]): void {
  it.each(cases)('%s', (_name, inp, expected) => {
    const d = evaluate(snapshot, inp);
    expect(d).toMatchObject(expected);
    if (d.effect === 'deny') expect(d.roles).toEqual([]);
    expect(d.ttl).toBe(30);
  });
}

const ALLOW = (roles: string[], grant?: [string, string]): Expect => ({
  effect: 'allow',
  reasons: ['allowed'],
  roles,
  failed: [],
  ...(grant ? { matched: { kind: 'grant', roleId: grant[0], grantId: grant[1] } } : {}),
});
const DENY = (reasons: Decision['reasons'], failed?: Decision['failed']): Expect => ({ effect: 'deny', reasons, ...(failed ? { failed } : {}) });

const strongDevice = { device: { id: 'd1', trust: 'high' as const }, auth: { amr: ['pwd', 'otp'] } };

describe('bindings and default deny', () => {
  const s = compile(baseDoc());
  check(s, [
    ['user binding by raw sub', input(user('alice')), ALLOW(['reader'], ['reader', 'read'])],
    ['user binding by Tollgate subject id', input(user('bob'), { method: 'PUT' }, strongDevice), ALLOW(['writer'], ['writer', 'write'])],
    ['email binding is case-insensitive', input(user('carol', { email: 'carol@example.com' })), ALLOW(['reader'])],
    ['group binding', input(user('zed', { groups: ['x', 'sre'] }), { ip: '10.1.2.3', country: 'DE' }), ALLOW(['ops'], ['ops', 'ops-any'])],
    ['service binding by sub', input(service('ci')), ALLOW(['reader'])],
    ['a service does not match a user binding of the same name', input(service('alice')), DENY(['no-matching-grant'], [])],
    ['a user does not match a service binding of the same name', input(user('ci')), DENY(['no-matching-grant'], [])],
    ['a service with a matching email does not use email bindings', input(service('svc', { email: 'carol@example.com' })), DENY(['no-matching-grant'])],
    ['no binding: default deny', input(user('nobody')), DENY(['no-matching-grant'], [])],
    ['wrong method', input(user('alice'), { method: 'DELETE' }), DENY(['no-matching-grant'], [])],
    ['methods are case-sensitive', input(user('alice'), { method: 'get' }), DENY(['no-matching-grant'])],
    ['path outside the grant', input(user('alice'), { path: '/admin' }), DENY(['no-matching-grant'])],
    ['another workload with grants, none for this subject', input(user('alice'), { workload: 'billing' }), DENY(['no-matching-grant'])],
    ['unknown workload', input(user('alice'), { workload: 'nope' }), DENY(['unknown-workload'])],
    ['glob workload grant: inv* covers inventory and inv-2', input(user('z', { groups: ['sre'] }), { workload: 'inv-2', ip: '10.0.0.1', country: 'FR' }), ALLOW(['ops'])],
    ['two roles allow: both reported, sorted', input(user('alice', { groups: ['sre'] }), { ip: '10.0.0.1', country: 'DE' }), ALLOW(['ops', 'reader'], ['ops', 'ops-any'])],
    [
      'expired binding',
      input(user('dave')),
      DENY(['binding-expired'], [{ roleId: 'reader', grantId: 'read', reasons: ['binding-expired'] }]),
    ],
    [
      'not-yet-valid binding',
      input(user('erin')),
      DENY(['binding-not-yet-valid'], [{ roleId: 'reader', grantId: 'read', reasons: ['binding-not-yet-valid'] }]),
    ],
    ['expired binding does not explain a request it would not have granted', input(user('dave'), { path: '/other' }), DENY(['no-matching-grant'], [])],
    ['a valid binding next to an expired one grants', input(user('dave', { groups: ['sre'] }), { ip: '10.0.0.1', country: 'DE' }), ALLOW(['ops'])],
    ['binding window: notBefore inclusive, expiresAt exclusive (inside)', input(user('gina')), ALLOW(['reader'])],
    ['binding window: at expiresAt', input(user('gina'), {}, { now: NOW + 10 }), DENY(['binding-expired'])],
    ['binding window: just before notBefore', input(user('gina'), {}, { now: NOW - 11 }), DENY(['binding-not-yet-valid'])],
    ['binding window: at notBefore', input(user('gina'), {}, { now: NOW - 10 }), ALLOW(['reader'])],
  ]);

  it('permissionsOf: union over currently valid bindings', () => {
    expect(permissionsOf(s, user('alice'), NOW)).toEqual(['admin']);
    expect(permissionsOf(s, user('alice', { groups: ['sre'] }), NOW)).toEqual(['admin']);
    expect(permissionsOf(s, user('dave'), NOW)).toEqual([]);
    expect(permissionsOf(s, user('erin'), NOW)).toEqual(['auditor']);
    expect(permissionsOf(s, user('erin'), NOW + 60)).toEqual([]);
    expect(permissionsOf(s, user('erin'), NOW - 1)).toEqual([]);
    expect(permissionsOf(s, user('nobody'), NOW)).toEqual([]);
    expect(permissionsOf(s, service('alice'), NOW)).toEqual([]);
    const both = compile({
      ...baseDoc(),
      bindings: [...baseDoc().bindings, { id: 'x', subject: { kind: 'group', value: 'audit' }, roleId: 'auditors' }],
    });
    expect(permissionsOf(both, user('alice', { groups: ['audit'] }), NOW)).toEqual(['admin', 'auditor']);
    expect(permissionsOf({ version: 'forged' }, user('alice'), NOW)).toEqual([]);
  });
});

describe('conditions', () => {
  const s = compile(baseDoc());
  const bob = user('bob');
  const sre = user('sam', { groups: ['sre'] });
  const fin = user('fay', { groups: ['finance'] });
  const frank = user('frank');
  const at = (iso: string) => Date.parse(iso) / 1000;
  check(s, [
    // minDeviceTrust + mfa on writer/write
    ['device trust medium and MFA', input(bob, { method: 'POST' }, { device: { id: 'd', trust: 'medium' }, auth: { amr: ['mfa'] } }), ALLOW(['writer'])],
    [
      'device trust low',
      input(bob, { method: 'POST' }, { device: { id: 'd', trust: 'low' }, auth: { amr: ['hwk'] } }),
      DENY(['device-untrusted'], [{ roleId: 'writer', grantId: 'write', reasons: ['device-untrusted'] }]),
    ],
    ['no device counts as trust none', input(bob, { method: 'POST' }, { auth: { amr: ['otp'] } }), DENY(['device-untrusted'])],
    ['unknown trust string counts as none', input(bob, { method: 'POST' }, { device: { id: 'd', trust: 'ultra' as 'high' }, auth: { amr: ['otp'] } }), DENY(['device-untrusted'])],
    ['password only: mfa-required', input(bob, { method: 'POST' }, { device: { id: 'd', trust: 'high' }, auth: { amr: ['pwd'] } }), DENY(['mfa-required'])],
    ['no auth context: mfa-required', input(bob, { method: 'POST' }, { device: { id: 'd', trust: 'high' } }), DENY(['mfa-required'])],
    [
      'both fail: every reason is listed',
      input(bob, { method: 'POST' }),
      DENY(['device-untrusted', 'mfa-required'], [{ roleId: 'writer', grantId: 'write', reasons: ['device-untrusted', 'mfa-required'] }]),
    ],
    // acr
    ['acr in list', input(frank, { workload: 'billing', method: 'POST', path: '/pay/gold' }, { auth: { acr: 'urn:acr:gold' } }), ALLOW(['payer'], ['payer', 'pay-gold'])],
    ['acr not in list', input(frank, { workload: 'billing', method: 'POST', path: '/pay/gold' }, { auth: { acr: 'urn:acr:silver', amr: ['mfa'] } }), DENY(['mfa-required'])],
    // maxAuthAgeSeconds
    ['auth age within limit (inclusive)', input(frank, { workload: 'billing', method: 'POST', path: '/pay' }, { auth: { authTime: NOW - 300 } }), ALLOW(['payer'], ['payer', 'pay'])],
    ['auth too old', input(frank, { workload: 'billing', method: 'POST', path: '/pay' }, { auth: { authTime: NOW - 301 } }), DENY(['auth-too-old'])],
    ['auth time unknown', input(frank, { workload: 'billing', method: 'POST', path: '/pay' }), DENY(['auth-too-old'])],
    // sourceCidrs + countries (ops)
    ['v4 inside, country allowed', input(sre, { ip: '10.255.255.255', country: 'FR' }), ALLOW(['ops'])],
    ['v4 just outside', input(sre, { ip: '11.0.0.0', country: 'FR' }), DENY(['source-ip-not-allowed'])],
    ['v4-mapped v6 address matches a v4 block', input(sre, { ip: '::ffff:10.9.8.7', country: 'DE' }), ALLOW(['ops'])],
    ['v6 inside', input(sre, { ip: '2001:db8:ffff::1', country: 'DE' }), ALLOW(['ops'])],
    ['v6 just outside', input(sre, { ip: '2001:db9::', country: 'DE' }), DENY(['source-ip-not-allowed'])],
    ['no ip', input(sre, { country: 'DE' }), DENY(['source-ip-not-allowed'])],
    ['garbage ip', input(sre, { ip: '10.0.0.1, 1.2.3.4', country: 'DE' }), DENY(['source-ip-not-allowed'])],
    ['country not allowed', input(sre, { ip: '10.0.0.1', country: 'US' }), DENY(['country-not-allowed'])],
    ['country compared case-insensitively', input(sre, { ip: '10.0.0.1', country: 'de' }), ALLOW(['ops'])],
    ['country unknown', input(sre, { ip: '10.0.0.1' }), DENY(['country-not-allowed'])],
    ['ip and country fail', input(sre, { ip: '192.0.2.1', country: 'US' }), DENY(['source-ip-not-allowed', 'country-not-allowed'])],
    // timeWindows: Mon–Fri 09:00–17:00 Europe/Berlin
    ['inside window (Wed 11:00 Berlin)', input(fin, { workload: 'billing' }), ALLOW(['office-hours'])],
    ['start inclusive (08:00 UTC = 09:00 CET)', input(fin, { workload: 'billing' }, { now: at('2026-01-07T08:00:00Z') }), ALLOW(['office-hours'])],
    ['before start', input(fin, { workload: 'billing' }, { now: at('2026-01-07T07:59:59Z') }), DENY(['outside-time-window'])],
    ['end exclusive (16:00 UTC = 17:00 CET)', input(fin, { workload: 'billing' }, { now: at('2026-01-07T16:00:00Z') }), DENY(['outside-time-window'])],
    ['weekend', input(fin, { workload: 'billing' }, { now: at('2026-01-10T10:00:00Z') }), DENY(['outside-time-window'])],
  ]);

  it('several failing grants: reasons are the union, failed lists each', () => {
    const d = evaluate(s, input(user('bob', { groups: ['sre'] }), { method: 'POST', ip: '1.1.1.1', country: 'DE' }));
    expect(d).toEqual({
      effect: 'deny',
      reasons: ['device-untrusted', 'mfa-required', 'source-ip-not-allowed'],
      roles: [],
      failed: [
        { roleId: 'ops', grantId: 'ops-any', reasons: ['source-ip-not-allowed'] },
        { roleId: 'writer', grantId: 'write', reasons: ['device-untrusted', 'mfa-required'] },
      ],
      ttl: 30,
    });
  });

  it('a failing grant does not block another that passes', () => {
    const d = evaluate(s, input(user('bob', { groups: ['sre'] }), { method: 'POST', ip: '10.0.0.1', country: 'DE' }));
    expect(d).toMatchObject({ effect: 'allow', roles: ['ops'], failed: [] });
  });
});

describe('deny rules', () => {
  const rules: DenyRule[] = [
    { id: 'no-mallory', subjects: { users: ['mallory'] }, workload: '*' },
    { id: 'contractors-no-export', subjects: { groups: ['contractors'] }, workload: 'inventory', methods: ['GET'], paths: ['/items/export/**'] },
    { id: 'embargo', subjects: { everyone: true }, workload: 'inv*', conditions: { countries: ['KP', 'IR'] } },
    { id: 'untrusted-writes', subjects: { everyone: true }, workload: 'inventory', methods: ['POST', 'PUT', 'DELETE'], conditions: { minDeviceTrust: 'high', mfa: true } },
    { id: 'no-ci-admin', subjects: { services: ['ci'] }, workload: 'inventory', paths: ['/items/admin/**'] },
    { id: 'freeze', subjects: { emails: ['Freeze@Example.com'] }, workload: 'inventory', conditions: { timeWindows: [{ start: '10:00', end: '12:00', timeZone: 'UTC' }] } },
    { id: 'outside-vpn', subjects: { groups: ['sre'] }, workload: 'billing', conditions: { sourceCidrs: ['0.0.0.0/0', '::/0'] } },
  ];
  const doc: PolicyDocument = {
    ...baseDoc(),
    roles: [...baseDoc().roles, { id: 'all', grants: [{ id: 'all', workload: '*', methods: ['*'], paths: ['/**'] }], permissions: [] }],
    bindings: [
      ...baseDoc().bindings,
      { id: 'b-mallory', subject: { kind: 'user', value: 'mallory' }, roleId: 'all' },
      { id: 'b-contractors', subject: { kind: 'group', value: 'contractors' }, roleId: 'all' },
      { id: 'b-ci-all', subject: { kind: 'service', value: 'ci' }, roleId: 'all' },
      { id: 'b-frz', subject: { kind: 'email', value: 'freeze@example.com' }, roleId: 'all' },
      { id: 'b-sre-all', subject: { kind: 'group', value: 'sre' }, roleId: 'all' },
    ],
    denyRules: rules,
  };
  const s = compile(doc);
  const denied = (ruleId: string, reasons: Decision['reasons'] = ['explicit-deny']): Expect => ({
    effect: 'deny',
    reasons,
    matched: { kind: 'deny-rule', ruleId },
    failed: [],
  });
  check(s, [
    ['user deny wins over an allow-everything grant', input(user('mallory')), denied('no-mallory')],
    ['user deny matches the Tollgate subject id too', input(user('x', { id: 'mallory' }), {}, {}), denied('no-mallory')],
    ['deny with glob workload applies to an unknown workload too', input(user('mallory'), { workload: 'zzz' }), denied('no-mallory')],
    ['group deny on a path', input(user('c', { groups: ['contractors'] }), { path: '/items/export/all.csv' }), denied('contractors-no-export')],
    ['group deny: other method not denied', input(user('c', { groups: ['contractors'] }), { method: 'HEAD', path: '/items/export/all.csv', country: 'DE' }), ALLOW(['all'])],
    ['group deny: other path not denied', input(user('c', { groups: ['contractors'] }), { path: '/items/1', country: 'DE' }), ALLOW(['all'])],
    ['country scope: from an embargoed country', input(user('alice'), { country: 'KP' }), denied('embargo')],
    ['country scope: unknown country counts as inside (fail closed)', input(user('alice'), { workload: 'inv-2' }), denied('embargo')],
    ['requirement: deny unless high trust and MFA', input(user('bob'), { method: 'POST', country: 'DE' }, { device: { id: 'd', trust: 'medium' }, auth: { amr: ['mfa'] } }), denied('untrusted-writes', ['explicit-deny', 'device-untrusted'])],
    ['requirement met: no deny', input(user('bob'), { method: 'POST', country: 'DE' }, { device: { id: 'd', trust: 'high' }, auth: { amr: ['mfa'] } }), ALLOW(['writer'])],
    ['service deny by sub', input(service('ci'), { path: '/items/admin/x', country: 'DE' }), denied('no-ci-admin')],
    ['service deny: not another service', input(service('cd'), { path: '/items/admin/x', country: 'DE' }), DENY(['no-matching-grant'])],
    ['email deny inside its window (case-insensitive)', input(user('f', { email: 'FREEZE@example.com' }), { country: 'DE' }, { now: Date.UTC(2026, 0, 7, 11, 0) / 1000 }), denied('freeze')],
    ['email deny outside its window', input(user('f', { email: 'freeze@example.com' }), { country: 'DE' }, { now: Date.UTC(2026, 0, 7, 12, 0) / 1000 }), ALLOW(['all'])],
    ['cidr scope: unparseable ip counts as inside', input(user('s', { groups: ['sre'] }), { workload: 'billing', ip: 'bogus' }), denied('outside-vpn')],
    ['without deny-rule match the allow stands', input(user('alice'), { country: 'DE' }), ALLOW(['reader'])],
  ]);

  it('the first applicable rule in document order is reported', () => {
    const d = evaluate(s, input(user('mallory'), { country: 'KP' }));
    expect(d.matched).toEqual({ kind: 'deny-rule', ruleId: 'no-mallory' });
  });
});

describe('totality', () => {
  const s = compile(baseDoc());
  const broken: [string, unknown, unknown][] = [
    ['forged snapshot', { version: 'x' }, input(user('alice'))],
    ['null input', s, null],
    ['missing request', s, { subject: user('alice'), now: NOW }],
    ['missing subject', s, { request: { workload: 'inventory', method: 'GET', path: '/' }, now: NOW }],
    ['NaN now', s, { ...input(user('alice')), now: Number.NaN }],
    ['numeric path', s, { ...input(user('alice')), request: { workload: 'inventory', method: 'GET', path: 5 } }],
  ];
  it.each(broken)('%s → deny evaluation-error (or a normal deny), never a throw', (_n, snap, inp) => {
    const d = evaluate(snap as Snapshot, inp as DecisionInput);
    expect(d.effect).toBe('deny');
    expect(d.roles).toEqual([]);
  });

  it('malformed input is an evaluation-error', () => {
    expect(evaluate(s, null as unknown as DecisionInput).reasons).toEqual(['evaluation-error']);
    // Ignoring malformed groups could skip a group deny rule: refuse instead.
    expect(evaluate(s, input(user('alice', { groups: 'sre' as unknown as string[] }))).reasons).toEqual(['evaluation-error']);
    expect(evaluate(s, input(user('alice', { groups: [5 as unknown as string] }))).reasons).toEqual(['evaluation-error']);
    expect(evaluate(s, input(user('alice', { email: 5 as unknown as string }))).reasons).toEqual(['evaluation-error']);
    expect(evaluate(s, input(user('alice', { kind: 'robot' as 'user' }))).reasons).toEqual(['evaluation-error']);
    expect(evaluate(s, input(user('alice'), { ip: 5 as unknown as string })).reasons).toEqual(['evaluation-error']);
    expect(evaluate({ version: 'x' }, input(user('alice'))).reasons).toEqual(['evaluation-error']);
  });

  it('the ttl comes from the compile options', () => {
    expect(evaluate(compile(baseDoc(), { assertionTtl: 45 }), input(user('alice'))).ttl).toBe(45);
  });

  it('a catalog, when given, defines unknown workloads', () => {
    const withCatalog = compile(baseDoc(), { workloads: ['inventory', 'billing', 'empty'] });
    expect(evaluate(withCatalog, input(user('alice'), { workload: 'empty' })).reasons).toEqual(['no-matching-grant']);
    expect(evaluate(withCatalog, input(user('alice'), { workload: 'inv-2' })).reasons).toEqual(['unknown-workload']);
  });

  it('snapshots carry a version that follows the document', () => {
    expect(compile(baseDoc()).version).toBe(compile(baseDoc()).version);
    expect(compile({ ...baseDoc(), denyRules: [{ id: 'x', subjects: { everyone: true }, workload: 'a' }] }).version).not.toBe(compile(baseDoc()).version);
    expect(compile(baseDoc(), { version: '42' }).version).toBe('42');
    expect(Object.isFrozen(compile(baseDoc()))).toBe(true);
  });
});

describe('scale', () => {
  it('10,000 bindings: a subject in the middle gets exactly its roles', () => {
    const roles = Array.from({ length: 100 }, (_, r) => ({
      id: `role-${r}`,
      grants: [{ id: 'g', workload: `wl-${r % 10}`, methods: ['GET'], paths: [`/r${r}/**`] }],
      permissions: [],
    }));
    const bindings = Array.from({ length: 10_000 }, (_, i) => ({
      id: `b${i}`,
      subject: i % 3 === 0 ? { kind: 'group' as const, value: `grp-${i}` } : { kind: 'user' as const, value: `u${i}` },
      roleId: `role-${i % 100}`,
    }));
    const s = compile({ roles, bindings, denyRules: [] });
    expect(evaluate(s, input(user('u5002'), { workload: 'wl-2', path: '/r2/x' })).roles).toEqual(['role-2']);
    expect(evaluate(s, input(user('u5002'), { workload: 'wl-1', path: '/r1/x' })).effect).toBe('deny');
    expect(evaluate(s, input(user('nobody', { groups: ['grp-4200'] }), { workload: 'wl-0', path: '/r0/x' })).roles).toEqual(['role-0']);
  });
});
