/**
 * Settings of the token endpoint and the bearer path, from the Worker's vars
 * (validated once per isolate, like src/config.ts; messages name the
 * variable, never a value):
 *
 * | var | default | meaning |
 * |---|---|---|
 * | `ACCESS_TOKEN_TTL_SECONDS` | 600 | lifetime of issued access tokens, 60..900 (≤ 15 min) |
 * | `TOKEN_RATE_LIMIT_PER_MINUTE` | 60 | token requests per client and minute (a service account may override it) |
 * | `ALLOW_INSECURE_ISSUERS` | (empty) | `loopback`: trusted issuers and their JWKS may be http://localhost / 127.0.0.1 (tests and the demo only) |
 * | `ISSUER_JWKS_COOLDOWN_SECONDS` | 30 | at most one refetch of an external JWKS per this many seconds (1..300) |
 */
import { TollgateError } from '../errors.js';
import type { InsecureIssuers } from '../federation/index.js';

export interface OAuthConfig {
  accessTokenTtlSeconds: number;
  rateLimitPerMinute: number;
  allowInsecureIssuers: InsecureIssuers;
  jwksCooldownSeconds: number;
}

/** Upper bound of any service access token's lifetime (issue 5: ≤ 15 min). */
export const MAX_SERVICE_TOKEN_LIFETIME = 900;

function int(env: Record<string, unknown>, name: string, def: number, min: number, max: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) return def;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw.trim())) {
    problems.push(`${name} must be a whole number`);
    return def;
  }
  const n = Number(raw.trim());
  if (n < min || n > max) problems.push(`${name} must be between ${min} and ${max}`);
  return n;
}

export function parseOAuthConfig(env: Record<string, unknown>): OAuthConfig {
  const problems: string[] = [];
  const ttl = int(env, 'ACCESS_TOKEN_TTL_SECONDS', 600, 60, MAX_SERVICE_TOKEN_LIFETIME, problems);
  const rate = int(env, 'TOKEN_RATE_LIMIT_PER_MINUTE', 60, 1, 100_000, problems);
  const cooldown = int(env, 'ISSUER_JWKS_COOLDOWN_SECONDS', 30, 1, 300, problems);
  const insecureRaw = typeof env.ALLOW_INSECURE_ISSUERS === 'string' ? env.ALLOW_INSECURE_ISSUERS.trim() : '';
  let insecure: InsecureIssuers = 'none';
  if (insecureRaw === 'loopback') insecure = 'loopback';
  else if (insecureRaw !== '' && insecureRaw !== 'none') problems.push('ALLOW_INSECURE_ISSUERS must be empty, "none" or "loopback"');
  if (problems.length > 0) {
    throw new TollgateError('config-invalid', `invalid gateway configuration: ${problems.join('; ')}`, { details: { problems } });
  }
  return { accessTokenTtlSeconds: ttl, rateLimitPerMinute: rate, allowInsecureIssuers: insecure, jwksCooldownSeconds: cooldown };
}
