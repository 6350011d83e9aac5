/**
 * What each kind of external issuer looks like: defaults, the claims a mapping
 * rule may test, and which of them identify a workload well enough to be the
 * only thing a rule relies on.
 *
 * | preset | tokens | identifying claims |
 * |---|---|---|
 * | entra | Entra ID managed identity / workload identity access tokens | `xms_mirid` (the managed identity's ARM resource id), `oid`, `sub`, `appid`, `azp` |
 * | github-actions | GitHub Actions OIDC (`token.actions.githubusercontent.com`) | `sub`, `repository`, `repository_id`, `job_workflow_ref` |
 * | kubernetes | projected service account tokens | `sub` (`system:serviceaccount:<ns>:<sa>`), `namespace` + `service_account` |
 * | generic-oidc | any OIDC / JWT issuer (AWS STS web identity, SPIFFE JWT-SVIDs, …) | `sub` |
 */
import type { JWTPayload } from 'jose';
import type { ExternalAlgorithm, IssuerPreset } from './model.js';

export interface PresetSpec {
  /** Default `issuer` when the admin gives none (null: must be given). */
  issuer: string | null;
  algorithms: ExternalAlgorithm[];
  maxLifetimeSeconds: number;
  /** Claims (or aliases) a rule may name; null = any top-level string claim. */
  claims: readonly string[] | null;
  /** A rule must test at least one of these with a pattern that is not just `*`. */
  identifying: readonly string[];
  /** Read a claim (or alias) as a string; undefined when absent or not a string. */
  read(payload: JWTPayload, name: string): string | undefined;
}

function topLevel(payload: JWTPayload, name: string): string | undefined {
  const v = (payload as Record<string, unknown>)[name];
  return typeof v === 'string' ? v : typeof v === 'number' && Number.isSafeInteger(v) ? String(v) : undefined;
}

function kubernetes(payload: JWTPayload, name: string): string | undefined {
  const k = (payload as Record<string, unknown>)['kubernetes.io'];
  const obj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined);
  switch (name) {
    case 'namespace':
      return str(obj(k)?.namespace);
    case 'service_account':
      return str(obj(obj(k)?.serviceaccount)?.name);
    case 'pod':
      return str(obj(obj(k)?.pod)?.name);
    default:
      return topLevel(payload, name);
  }
}

export const PRESETS: Record<IssuerPreset, PresetSpec> = {
  entra: {
    issuer: null,
    algorithms: ['RS256'],
    maxLifetimeSeconds: 86400,
    claims: ['sub', 'oid', 'xms_mirid', 'appid', 'azp', 'tid', 'idtyp', 'xms_az_rid'],
    identifying: ['xms_mirid', 'oid', 'sub', 'appid', 'azp'],
    read: topLevel,
  },
  'github-actions': {
    issuer: 'https://token.actions.githubusercontent.com',
    algorithms: ['RS256'],
    maxLifetimeSeconds: 3600,
    claims: [
      'sub', 'repository', 'repository_id', 'repository_owner', 'repository_owner_id', 'ref', 'ref_type', 'environment',
      'workflow', 'job_workflow_ref', 'event_name', 'actor', 'runner_environment',
    ],
    identifying: ['sub', 'repository', 'repository_id', 'job_workflow_ref'],
    read: topLevel,
  },
  kubernetes: {
    issuer: null,
    algorithms: ['RS256', 'ES256'],
    maxLifetimeSeconds: 86400,
    claims: ['sub', 'namespace', 'service_account', 'pod'],
    identifying: ['sub', 'service_account'],
    read: kubernetes,
  },
  'generic-oidc': {
    issuer: null,
    algorithms: ['RS256', 'ES256'],
    maxLifetimeSeconds: 86400,
    claims: null,
    identifying: ['sub'],
    read: topLevel,
  },
};
