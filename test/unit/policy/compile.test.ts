import { describe, expect, it } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import { compile, usesCountries, type CompileOptions, type Conditions, type DenyRule, type PolicyDocument, type Role } from '../../../src/policy/index.js';
import { baseDoc } from './fixtures.js';

type Mutation = (d: PolicyDocument & Record<string, unknown>) => void;
const any = (v: unknown) => v as never;

function role0(d: PolicyDocument) {
  return d.roles[0]!;
}
function grant0(d: PolicyDocument) {
  return d.roles[0]!.grants[0]!;
}

const invalidDocs: [string, Mutation][] = [
  ['roles not an array', (d) => void (d.roles = any({}))],
  ['bindings missing', (d) => void delete (d as Partial<PolicyDocument>).bindings],
  ['denyRules not an array', (d) => void (d.denyRules = any(null))],
  ['unknown top-level field', (d) => void (d.extra = 1)],
  ['duplicate role id', (d) => void d.roles.push({ ...role0(d) })],
  ['empty role id', (d) => void (role0(d).id = '')],
  ['unknown permission', (d) => void (role0(d).permissions = any(['root']))],
  ['unknown field on a role (typo)', (d) => void Object.assign(role0(d), { grant: [] })],
  ['duplicate grant id in a role', (d) => void role0(d).grants.push({ ...grant0(d) })],
  ['unknown field on a grant (typo of conditions)', (d) => void Object.assign(grant0(d), { condition: { mfa: true } })],
  ['bad glob: no leading slash', (d) => void (grant0(d).paths = ['items/**'])],
  ['bad glob: ** inside a segment', (d) => void (grant0(d).paths = ['/items/**x'])],
  ['bad glob: dot-dot', (d) => void (grant0(d).paths = ['/items/../admin'])],
  ['no paths', (d) => void (grant0(d).paths = [])],
  ['bad method: lower case', (d) => void (grant0(d).methods = ['get'])],
  ['bad method: empty list', (d) => void (grant0(d).methods = [])],
  ['bad workload: contains a slash', (d) => void (grant0(d).workload = 'a/b')],
  ['bad workload: empty', (d) => void (grant0(d).workload = '')],
  ['unknown condition (typo)', (d) => void (grant0(d).conditions = any({ minDeviceTrst: 'high' }))],
  ['bad trust level', (d) => void (grant0(d).conditions = any({ minDeviceTrust: 'max' }))],
  ['mfa not a boolean', (d) => void (grant0(d).conditions = any({ mfa: 'yes' }))],
  ['empty acr list', (d) => void (grant0(d).conditions = { acr: [] })],
  ['negative auth age', (d) => void (grant0(d).conditions = { maxAuthAgeSeconds: -1 })],
  ['bad CIDR', (d) => void (grant0(d).conditions = { sourceCidrs: ['10.0.0.0/33'] })],
  ['CIDR with host bits', (d) => void (grant0(d).conditions = { sourceCidrs: ['10.1.0.0/8'] })],
  ['empty CIDR list', (d) => void (grant0(d).conditions = { sourceCidrs: [] })],
  ['bad country', (d) => void (grant0(d).conditions = { countries: ['Germany'] })],
  ['bad time zone', (d) => void (grant0(d).conditions = { timeWindows: [{ start: '09:00', end: '17:00', timeZone: 'Europe/Atlantis' }] })],
  ['bad time', (d) => void (grant0(d).conditions = { timeWindows: [{ start: '9am', end: '17:00', timeZone: 'UTC' }] })],
  ['bad day', (d) => void (grant0(d).conditions = { timeWindows: [{ days: [8], start: '09:00', end: '17:00', timeZone: 'UTC' }] })],
  ['unknown window field', (d) => void (grant0(d).conditions = any({ timeWindows: [{ start: '09:00', end: '17:00', timeZone: 'UTC', tz: 'x' }] }))],
  ['empty window list', (d) => void (grant0(d).conditions = { timeWindows: [] })],
  ['unknown role in binding', (d) => void d.bindings.push({ id: 'x', subject: { kind: 'user', value: 'u' }, roleId: 'ghost' })],
  ['duplicate binding id', (d) => void d.bindings.push({ ...d.bindings[0]! })],
  ['unknown subject kind', (d) => void d.bindings.push({ id: 'x', subject: any({ kind: 'device', value: 'u' }), roleId: 'reader' })],
  ['empty subject value', (d) => void d.bindings.push({ id: 'x', subject: { kind: 'user', value: '' }, roleId: 'reader' })],
  ['snake_case expiry (would silently never expire)', (d) => void d.bindings.push(any({ id: 'x', subject: { kind: 'user', value: 'u' }, roleId: 'reader', expires_at: 5 }))],
  ['non-numeric expiresAt', (d) => void d.bindings.push(any({ id: 'x', subject: { kind: 'user', value: 'u' }, roleId: 'reader', expiresAt: '2026-01-01' }))],
  ['notBefore after expiresAt', (d) => void d.bindings.push({ id: 'x', subject: { kind: 'user', value: 'u' }, roleId: 'reader', notBefore: 10, expiresAt: 5 })],
  ['deny rule selecting nobody', (d) => void d.denyRules.push({ id: 'x', subjects: {}, workload: '*' })],
  ['deny rule with everyone: false only', (d) => void d.denyRules.push({ id: 'x', subjects: { everyone: false }, workload: '*' })],
  ['deny rule with a bad glob', (d) => void d.denyRules.push({ id: 'x', subjects: { everyone: true }, workload: '*', paths: ['nope'] })],
  ['deny rule with a bad method', (d) => void d.denyRules.push({ id: 'x', subjects: { everyone: true }, workload: '*', methods: ['Post'] })],
  ['deny rule with a bad CIDR', (d) => void d.denyRules.push({ id: 'x', subjects: { everyone: true }, workload: '*', conditions: { sourceCidrs: ['1.2.3.4/40'] } })],
  ['deny rule with unknown selector', (d) => void d.denyRules.push(any({ id: 'x', subjects: { user: ['a'] }, workload: '*' }))],
  ['duplicate deny rule id', (d) => void d.denyRules.push({ id: 'x', subjects: { everyone: true }, workload: '*' }, { id: 'x', subjects: { everyone: true }, workload: 'a' })],
  ['not an object', (d) => void (d.roles[0] = any('reader'))],
];

describe('compile refuses invalid documents with config-invalid', () => {
  it.each(invalidDocs)('%s', (_name, mutate) => {
    const doc = baseDoc() as PolicyDocument & Record<string, unknown>;
    mutate(doc);
    let err: unknown;
    try {
      compile(doc);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TollgateError);
    expect((err as TollgateError).code).toBe('config-invalid');
    expect(typeof (err as TollgateError).details.path).toBe('string');
  });

  it.each([
    [{ assertionTtl: 0 }],
    [{ assertionTtl: 61 }],
    [{ assertionTtl: 1.5 }],
    [{ version: '' }],
    [{ workloads: [''] }],
  ] as [CompileOptions][])('refuses options %j', (options) => {
    expect(() => compile(baseDoc(), options)).toThrow(TollgateError);
  });

  it('refuses a non-object document', () => {
    expect(() => compile(null as unknown as PolicyDocument)).toThrow(TollgateError);
  });

  it('accepts the empty document and deny rules without conditions', () => {
    expect(() => compile({ roles: [], bindings: [], denyRules: [] })).not.toThrow();
    expect(() => compile({ ...baseDoc(), denyRules: [{ id: 'x', subjects: { everyone: true }, workload: '*', methods: ['*'], paths: ['/**'], conditions: {}, reason: 'r' }] })).not.toThrow();
  });
});

describe('usesCountries', () => {
  const role = (conditions?: Conditions): Role => ({ id: 'r', permissions: [], grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/**'], ...(conditions ? { conditions } : {}) }] });
  const deny = (conditions?: Conditions): DenyRule => ({ id: 'd', subjects: { everyone: true }, workload: 'w', ...(conditions ? { conditions } : {}) });
  it.each<[string, PolicyDocument, boolean]>([
    ['empty', { roles: [], bindings: [], denyRules: [] }, false],
    ['grants without conditions', { roles: [role()], bindings: [], denyRules: [deny()] }, false],
    ['other conditions only', { roles: [role({ mfa: true, sourceCidrs: ['10.0.0.0/8'] })], bindings: [], denyRules: [deny({ sourceCidrs: ['10.0.0.0/8'] })] }, false],
    ['a grant with countries', { roles: [role(), role({ countries: ['DE'] })], bindings: [], denyRules: [] }, true],
    ['a deny rule with countries', { roles: [role()], bindings: [], denyRules: [deny({ countries: ['RU'] })] }, true],
    ['a malformed document (fails closed: read it)', { roles: [{ id: 'r', grants: null }] } as unknown as PolicyDocument, true],
  ])('%s → %s', (_name, doc, expected) => expect(usesCountries(doc)).toBe(expected));
});
