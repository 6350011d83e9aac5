/**
 * The sidecar's environment (DESIGN §6), validated once at start-up.
 */
import { TollgateError } from '../../errors.js';
import { parseUpstream } from './upstream.js';

/** Default `PORT` when unset. */
export const DEFAULT_GUARD_PORT = 8443;

/** The validated configuration read from the environment. */
export interface GuardEnvConfig {
  issuer: string;
  jwksUrl: string;
  audience: string;
  upstream: string;
  port: number;
  host: string;
  endpointId?: string;
  replayCacheMaxEntries?: number;
}

/** The problems of a configuration error thrown by {@link parseGuardEnv} (one line per bad variable). */
export function configProblems(err: unknown): string[] | undefined {
  if (!(err instanceof TollgateError) || err.code !== 'config-invalid') return undefined;
  const problems = err.details.problems;
  return Array.isArray(problems) ? problems.map(String) : [err.message];
}

function httpUrl(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.username === '' && u.password === '';
  } catch {
    return false;
  }
}

/**
 * Read and check `TOLLGATE_ISSUER` (required, http(s) URL), `TOLLGATE_JWKS_URL`
 * (default `<issuer without trailing slash>/.well-known/jwks.json`),
 * `TOLLGATE_AUDIENCE` (required), `TOLLGATE_UPSTREAM` (required,
 * `http://host:port` or `unix:/path`), `PORT` (default 8443), `HOST` (default
 * `0.0.0.0`), `TOLLGATE_ENDPOINT_ID` (optional; empty means unset) and
 * `TOLLGATE_REPLAY_CACHE_MAX_ENTRIES` (optional, default 1,000,000).
 *
 * @throws TollgateError `config-invalid` with `details.problems` listing every
 *   problem at once (see {@link configProblems}).
 */
export function parseGuardEnv(env: Readonly<Record<string, string | undefined>>): GuardEnvConfig {
  const problems: string[] = [];
  const get = (name: string): string | undefined => {
    const v = env[name];
    return v === undefined || v.trim() === '' ? undefined : v.trim();
  };

  const issuer = get('TOLLGATE_ISSUER');
  if (issuer === undefined) problems.push('TOLLGATE_ISSUER is required (the gateway issuer URL, e.g. http://127.0.0.1:8787)');
  else if (!httpUrl(issuer)) problems.push('TOLLGATE_ISSUER must be an http(s) URL');

  let jwksUrl = get('TOLLGATE_JWKS_URL');
  if (jwksUrl === undefined && issuer !== undefined) jwksUrl = `${issuer.replace(/\/+$/, '')}/.well-known/jwks.json`;
  else if (jwksUrl !== undefined && !httpUrl(jwksUrl)) problems.push('TOLLGATE_JWKS_URL must be an http(s) URL');

  const audience = get('TOLLGATE_AUDIENCE');
  if (audience === undefined) problems.push("TOLLGATE_AUDIENCE is required (this workload's id)");

  const upstream = get('TOLLGATE_UPSTREAM');
  if (upstream === undefined) problems.push('TOLLGATE_UPSTREAM is required (http://host:port or unix:/path/to.sock)');
  else {
    const parsed = parseUpstream(upstream);
    if (typeof parsed === 'string') problems.push(`TOLLGATE_UPSTREAM ${parsed}`);
  }

  const portText = get('PORT');
  let port = DEFAULT_GUARD_PORT;
  if (portText !== undefined) {
    port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
    if (!(port >= 0 && port <= 65535)) problems.push('PORT must be an integer 0..65535');
  }

  const host = get('HOST') ?? '0.0.0.0';
  const endpointId = get('TOLLGATE_ENDPOINT_ID');

  const maxText = get('TOLLGATE_REPLAY_CACHE_MAX_ENTRIES');
  let replayCacheMaxEntries: number | undefined;
  if (maxText !== undefined) {
    replayCacheMaxEntries = /^\d{1,9}$/.test(maxText) ? Number(maxText) : NaN;
    if (!(replayCacheMaxEntries >= 1)) problems.push('TOLLGATE_REPLAY_CACHE_MAX_ENTRIES must be a positive integer');
  }

  if (problems.length > 0) {
    throw new TollgateError('config-invalid', `invalid guard configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  return {
    issuer: issuer!,
    jwksUrl: jwksUrl!,
    audience: audience!,
    upstream: upstream!,
    port,
    host,
    ...(endpointId !== undefined ? { endpointId } : {}),
    ...(replayCacheMaxEntries !== undefined ? { replayCacheMaxEntries } : {}),
  };
}
