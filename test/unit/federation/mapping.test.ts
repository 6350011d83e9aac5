import { describe, expect, it } from 'vitest';
import { mapClaims, rulesProblem, starMatch } from '../../../src/federation/mapping.js';
import type { MappingRule } from '../../../src/federation/model.js';

describe('starMatch', () => {
  it.each([
    ['octo-org/*', 'octo-org/deploy', true],
    ['octo-org/*', 'octo-org/', true],
    ['octo-org/*', 'octo-orgx/deploy', false],
    ['repo:octo-org/*:ref:refs/heads/main', 'repo:octo-org/app:ref:refs/heads/main', true],
    ['repo:octo-org/*:ref:refs/heads/main', 'repo:octo-org/app:ref:refs/heads/evil', false],
    ['*', '', true],
    ['a*a', 'a', false],
    ['a*b*c', 'abc', true],
    ['a*b*c', 'acb', false],
    ['exact', 'exact', true],
    ['exact', 'Exact', false],
    ['system:serviceaccount:prod:*', 'system:serviceaccount:prod:api', true],
    ['system:serviceaccount:prod:*', 'system:serviceaccount:prod-x:api', false],
  ])('%s ~ %s → %s', (p, v, want) => {
    expect(starMatch(p, v)).toBe(want);
  });
});

describe('mapping rules', () => {
  const github: MappingRule[] = [
    { service: 'deployer', claims: { repository: 'octo-org/deploy', ref: 'refs/heads/main' } },
    { service: 'ci', claims: { repository: 'octo-org/*' } },
  ];

  it('first matching rule wins; every claim must match', () => {
    expect(mapClaims('github-actions', github, { repository: 'octo-org/deploy', ref: 'refs/heads/main' })).toBe('deployer');
    expect(mapClaims('github-actions', github, { repository: 'octo-org/deploy', ref: 'refs/heads/feature' })).toBe('ci');
    expect(mapClaims('github-actions', github, { repository: 'evil-org/deploy', ref: 'refs/heads/main' })).toBeNull();
    // A claim that is not a string never matches.
    expect(mapClaims('github-actions', github, { repository: ['octo-org/deploy'] as unknown as string })).toBeNull();
  });

  it('kubernetes aliases read the nested kubernetes.io claims', () => {
    const rules = [{ service: 'orders', claims: { namespace: 'shop', service_account: 'orders' } }];
    const token = { sub: 'system:serviceaccount:shop:orders', 'kubernetes.io': { namespace: 'shop', serviceaccount: { name: 'orders', uid: 'u' } } };
    expect(mapClaims('kubernetes', rules, token)).toBe('orders');
    expect(mapClaims('kubernetes', rules, { ...token, 'kubernetes.io': { namespace: 'other', serviceaccount: { name: 'orders' } } })).toBeNull();
  });

  it('entra managed identities map by xms_mirid', () => {
    const mirid = '/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/app';
    expect(mapClaims('entra', [{ service: 'app', claims: { xms_mirid: mirid } }], { xms_mirid: mirid, oid: 'o' })).toBe('app');
  });

  it.each([
    ['github-actions', [], /at least one mapping rule/],
    ['github-actions', [{ service: 'x', claims: {} }], /at least one claim/],
    ['github-actions', [{ service: 'x', claims: { ref: 'refs/heads/main' } }], /pin down a workload/],
    ['github-actions', [{ service: 'x', claims: { repository: '*' } }], /pin down a workload/],
    ['github-actions', [{ service: 'x', claims: { nonsense: 'a' } }], /not a claim of the github-actions preset/],
    ['github-actions', [{ service: 'bad id!', claims: { repository: 'a/b' } }], /service id/],
    ['kubernetes', [{ service: 'x', claims: { service_account: 'orders' } }], /namespace and service_account/],
    ['entra', [{ service: 'x', claims: { tid: 'tenant' } }], /pin down/],
    ['generic-oidc', [{ service: 'x', claims: { aud: 'a' } }], /pin down/],
  ] as const)('%s rules %j are refused', (preset, rules, why) => {
    expect(rulesProblem(preset, rules as never)?.detail).toMatch(why);
  });

  it('accepts well-scoped rules', () => {
    expect(rulesProblem('github-actions', github)).toBeNull();
    expect(rulesProblem('kubernetes', [{ service: 'x', claims: { namespace: 'shop', service_account: 'orders' } }])).toBeNull();
    expect(rulesProblem('kubernetes', [{ service: 'x', claims: { sub: 'system:serviceaccount:shop:orders' } }])).toBeNull();
    expect(rulesProblem('generic-oidc', [{ service: 'x', claims: { sub: 'spiffe://example.org/ns/shop/sa/orders' } }])).toBeNull();
  });
});
