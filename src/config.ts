/**
 * Gateway configuration: the Worker's vars and secrets, validated once per
 * isolate. Error messages name the variable, never its value.
 */
import { z } from 'zod';
import type { OidcSettings } from './auth/oidc.js';
import { TollgateError } from './errors.js';

/** 127.0.0.0/8, ::1, localhost and *.localhost (RFC 6761). */
export function isLoopbackHostname(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** An https URL, or an http URL on a loopback host (dev and tests only). */
function secureOrLoopbackUrl(name: string, originOnly: boolean) {
  return z.string({ error: `${name} is required` }).transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `${name} is not a URL` });
      return z.NEVER;
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopbackHostname(url.hostname))) {
      ctx.addIssue({ code: 'custom', message: `${name} must be https (http only on a loopback host)` });
      return z.NEVER;
    }
    if (url.username || url.password || url.hash || url.search) {
      ctx.addIssue({ code: 'custom', message: `${name} must not carry credentials, query or fragment` });
      return z.NEVER;
    }
    if (originOnly && url.pathname !== '/') {
      ctx.addIssue({ code: 'custom', message: `${name} must be an origin (no path)` });
      return z.NEVER;
    }
    return url;
  });
}

function intVar(name: string, def: number, min: number, max: number) {
  return z
    .string()
    .optional()
    .transform((value, ctx) => {
      if (value === undefined || value.trim() === '') return def;
      if (!/^\d+$/.test(value.trim())) {
        ctx.addIssue({ code: 'custom', message: `${name} must be a whole number` });
        return z.NEVER;
      }
      const n = Number(value.trim());
      if (n < min || n > max) {
        ctx.addIssue({ code: 'custom', message: `${name} must be between ${min} and ${max}` });
        return z.NEVER;
      }
      return n;
    });
}

function requiredString(name: string) {
  return z.string({ error: `${name} is required` }).min(1, { error: `${name} is required` });
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const schema = z
  .object({
    TOLLGATE_ORIGIN: secureOrLoopbackUrl('TOLLGATE_ORIGIN', true),
    OIDC_ISSUER: secureOrLoopbackUrl('OIDC_ISSUER', false),
    OIDC_CLIENT_ID: requiredString('OIDC_CLIENT_ID'),
    OIDC_CLIENT_SECRET: requiredString('OIDC_CLIENT_SECRET'),
    SESSION_SECRET: requiredString('SESSION_SECRET'),
    SIGNING_KEYS: requiredString('SIGNING_KEYS'),
    SIGNING_KID: optionalString,
    ASSERTION_TTL_SECONDS: intVar('ASSERTION_TTL_SECONDS', 30, 1, 60),
    SESSION_IDLE_SECONDS: intVar('SESSION_IDLE_SECONDS', 7200, 60, 30 * 86400),
    SESSION_MAX_SECONDS: intVar('SESSION_MAX_SECONDS', 43200, 60, 30 * 86400),
    REVOCATION_CACHE_SECONDS: intVar('REVOCATION_CACHE_SECONDS', 5, 0, 60),
    POLICY_REFRESH_SECONDS: intVar('POLICY_REFRESH_SECONDS', 5, 0, 3600),
    UPSTREAM_TIMEOUT_MS: intVar('UPSTREAM_TIMEOUT_MS', 30000, 1, 600000),
    AUDIT_RETENTION_DAYS: intVar('AUDIT_RETENTION_DAYS', 90, 1, 3650),
    REQUEST_LOG: z
      .string()
      .optional()
      .transform((v) => (v === undefined || v.trim() === '' ? 'except-allowed' : v.trim()))
      .pipe(z.enum(['all', 'except-allowed'], { error: 'REQUEST_LOG must be "all" or "except-allowed"' })),
  })
  .refine((v) => v.SESSION_IDLE_SECONDS <= v.SESSION_MAX_SECONDS, {
    message: 'SESSION_IDLE_SECONDS must not exceed SESSION_MAX_SECONDS',
  });

export interface GatewayConfig {
  /** e.g. "http://127.0.0.1:8787" (no trailing slash). Also the assertion `iss`. */
  origin: string;
  /** `new URL(origin).host`, lower case: the authority the gateway's own routes are served on. */
  originAuthority: string;
  /** "https" or "http": the scheme of the gateway and of every workload host it redirects to. */
  scheme: 'https' | 'http';
  /** Cookies get `Secure` and `__Host-` names. */
  secureCookies: boolean;
  /** `allowInsecureRequests` is true only for an http issuer on a loopback host. */
  oidc: OidcSettings;
  sessionSecret: string;
  signingKeys: string;
  signingKid?: string;
  assertionTtlSeconds: number;
  session: { idleSeconds: number; maxSeconds: number };
  revocationCacheSeconds: number;
  policyRefreshSeconds: number;
  upstreamTimeoutMs: number;
  /** Audit records older than this many days are deleted by the scheduled handler (docs/audit.md). */
  auditRetentionDays: number;
  /**
   * Which requests get a `request` log line: every one, or all but those allowed and forwarded
   * without a gateway error (default) — those are in the audit trail already, and a log line
   * per request is the largest single cost left on the forward path (docs/performance.md).
   */
  requestLog: 'all' | 'except-allowed';
}

/** Validate the Worker's environment. Throws TollgateError('config-invalid') naming the bad variables. */
export function parseConfig(env: Record<string, unknown>): GatewayConfig {
  const input: Record<string, unknown> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // Bindings of other kinds (objects) are not configuration values.
    if (typeof value === 'string') input[key] = value;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => i.message);
    throw new TollgateError('config-invalid', `invalid gateway configuration: ${problems.join('; ')}`, {
      details: { problems },
    });
  }
  const v = parsed.data;
  const origin = v.TOLLGATE_ORIGIN.origin;
  return {
    origin,
    originAuthority: v.TOLLGATE_ORIGIN.host.toLowerCase(),
    scheme: v.TOLLGATE_ORIGIN.protocol === 'https:' ? 'https' : 'http',
    secureCookies: v.TOLLGATE_ORIGIN.protocol === 'https:',
    oidc: {
      // Exactly as configured: issuer identifiers are compared as strings.
      issuer: String(env.OIDC_ISSUER),
      clientId: v.OIDC_CLIENT_ID,
      clientSecret: v.OIDC_CLIENT_SECRET,
      redirectUri: `${origin}/auth/callback`,
      postLogoutRedirectUri: `${origin}/auth/signed-out`,
      allowInsecureRequests: v.OIDC_ISSUER.protocol === 'http:' && isLoopbackHostname(v.OIDC_ISSUER.hostname),
    },
    sessionSecret: v.SESSION_SECRET,
    signingKeys: v.SIGNING_KEYS,
    ...(v.SIGNING_KID ? { signingKid: v.SIGNING_KID } : {}),
    assertionTtlSeconds: v.ASSERTION_TTL_SECONDS,
    session: { idleSeconds: v.SESSION_IDLE_SECONDS, maxSeconds: v.SESSION_MAX_SECONDS },
    revocationCacheSeconds: v.REVOCATION_CACHE_SECONDS,
    policyRefreshSeconds: v.POLICY_REFRESH_SECONDS,
    upstreamTimeoutMs: v.UPSTREAM_TIMEOUT_MS,
    auditRetentionDays: v.AUDIT_RETENTION_DAYS,
    requestLog: v.REQUEST_LOG,
  };
}
