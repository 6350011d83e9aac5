import type { DecisionInput, PolicyDocument } from '../../../src/policy/index.js';

/** Frozen clock: Wednesday 2026-01-07 10:00:00 UTC (11:00 in Berlin). */
export const NOW = Date.UTC(2026, 0, 7, 10, 0, 0) / 1000;

export function user(sub: string, extra: Partial<DecisionInput['subject']> = {}): DecisionInput['subject'] {
  return { kind: 'user', id: `user:h4sh:${sub}`, sub, groups: [], ...extra };
}

export function service(id: string, extra: Partial<DecisionInput['subject']> = {}): DecisionInput['subject'] {
  return { kind: 'service', id: `service:${id}`, sub: id, groups: [], ...extra };
}

export function input(
  subject: DecisionInput['subject'],
  request: Partial<DecisionInput['request']> = {},
  extra: Partial<Omit<DecisionInput, 'subject' | 'request'>> = {},
): DecisionInput {
  return {
    subject,
    request: { workload: 'inventory', method: 'GET', path: '/items/1', ...request },
    now: NOW,
    ...extra,
  };
}

/** The document most decision tests run against. */
export function baseDoc(): PolicyDocument {
  return {
    roles: [
      { id: 'reader', grants: [{ id: 'read', workload: 'inventory', methods: ['GET', 'HEAD'], paths: ['/items/**'] }], permissions: [] },
      {
        id: 'writer',
        grants: [{ id: 'write', workload: 'inventory', methods: ['POST', 'PUT'], paths: ['/items/*'], conditions: { minDeviceTrust: 'medium', mfa: true } }],
        permissions: [],
      },
      {
        id: 'ops',
        grants: [{ id: 'ops-any', workload: 'inv*', methods: ['*'], paths: ['/**'], conditions: { sourceCidrs: ['10.0.0.0/8', '2001:db8::/32'], countries: ['DE', 'FR'] } }],
        permissions: [],
      },
      {
        id: 'office-hours',
        grants: [
          {
            id: 'weekdays',
            workload: 'billing',
            methods: ['GET'],
            paths: ['/**'],
            conditions: { timeWindows: [{ days: [1, 2, 3, 4, 5], start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' }] },
          },
        ],
        permissions: [],
      },
      {
        id: 'payer',
        grants: [
          { id: 'pay', workload: 'billing', methods: ['POST'], paths: ['/pay'], conditions: { maxAuthAgeSeconds: 300 } },
          { id: 'pay-gold', workload: 'billing', methods: ['POST'], paths: ['/pay/gold'], conditions: { acr: ['urn:acr:gold'] } },
        ],
        permissions: [],
      },
      { id: 'admins', grants: [], permissions: ['admin'] },
      { id: 'auditors', grants: [], permissions: ['auditor'] },
    ],
    bindings: [
      { id: 'b-alice', subject: { kind: 'user', value: 'alice' }, roleId: 'reader' },
      { id: 'b-alice-admin', subject: { kind: 'user', value: 'alice' }, roleId: 'admins' },
      { id: 'b-bob', subject: { kind: 'user', value: 'user:h4sh:bob' }, roleId: 'writer' },
      { id: 'b-carol', subject: { kind: 'email', value: 'Carol@Example.COM' }, roleId: 'reader' },
      { id: 'b-sre', subject: { kind: 'group', value: 'sre' }, roleId: 'ops' },
      { id: 'b-ci', subject: { kind: 'service', value: 'ci' }, roleId: 'reader' },
      { id: 'b-dave', subject: { kind: 'user', value: 'dave' }, roleId: 'reader', expiresAt: NOW - 1, reason: 'incident 42' },
      { id: 'b-dave-audit', subject: { kind: 'user', value: 'dave' }, roleId: 'auditors', expiresAt: NOW - 1 },
      { id: 'b-erin', subject: { kind: 'user', value: 'erin' }, roleId: 'reader', notBefore: NOW + 3600 },
      { id: 'b-erin-audit', subject: { kind: 'user', value: 'erin' }, roleId: 'auditors', notBefore: NOW, expiresAt: NOW + 60 },
      { id: 'b-fin', subject: { kind: 'group', value: 'finance' }, roleId: 'office-hours' },
      { id: 'b-frank', subject: { kind: 'user', value: 'frank' }, roleId: 'payer' },
      { id: 'b-gina', subject: { kind: 'user', value: 'gina' }, roleId: 'reader', notBefore: NOW - 10, expiresAt: NOW + 10 },
    ],
    denyRules: [],
  };
}
