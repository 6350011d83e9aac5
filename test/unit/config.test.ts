// Gateway configuration (src/config.ts): validated once, errors name variables, never values.
import { describe, expect, it } from 'vitest';
import { isTollgateError } from '../../src/errors.js';
import { isLoopbackHostname, parseConfig } from '../../src/config.js';

const base = {
  TOLLGATE_ORIGIN: 'http://127.0.0.1:8787',
  OIDC_ISSUER: 'http://localhost:9400',
  OIDC_CLIENT_ID: 'tollgate',
  OIDC_CLIENT_SECRET: 'very-secret-client-secret',
  SESSION_SECRET: 'x'.repeat(43),
  SIGNING_KEYS: '{"keys":[]}',
};

function refused(env: Record<string, unknown>): string {
  try {
    parseConfig(env);
  } catch (e) {
    if (isTollgateError(e) && e.code === 'config-invalid') return e.message;
    throw e;
  }
  throw new Error('accepted');
}

describe('parseConfig', () => {
  it('applies defaults and derives origin facts', () => {
    const c = parseConfig({ ...base, DB: {}, SIGNING_KID: '' });
    expect(c).toMatchObject({
      origin: 'http://127.0.0.1:8787',
      originAuthority: '127.0.0.1:8787',
      scheme: 'http',
      secureCookies: false,
      assertionTtlSeconds: 30,
      session: { idleSeconds: 7200, maxSeconds: 43200 },
      revocationCacheSeconds: 5,
      policyRefreshSeconds: 5,
      upstreamTimeoutMs: 30000,
      requestLog: 'except-allowed',
    });
    expect(c.signingKid).toBeUndefined();
    expect(parseConfig({ ...base, REQUEST_LOG: 'all' }).requestLog).toBe('all');
    expect(parseConfig({ ...base, REQUEST_LOG: ' ' }).requestLog).toBe('except-allowed');
    expect(c.oidc).toMatchObject({
      issuer: 'http://localhost:9400',
      redirectUri: 'http://127.0.0.1:8787/auth/callback',
      postLogoutRedirectUri: 'http://127.0.0.1:8787/auth/signed-out',
      allowInsecureRequests: true,
    });
  });

  it('https origin: secure cookies; https issuer: no insecure requests', () => {
    const c = parseConfig({ ...base, TOLLGATE_ORIGIN: 'https://gw.example.com', OIDC_ISSUER: 'https://idp.example.com/tenant' });
    expect(c.secureCookies).toBe(true);
    expect(c.scheme).toBe('https');
    expect(c.oidc.allowInsecureRequests).toBe(false);
    expect(c.oidc.issuer).toBe('https://idp.example.com/tenant');
  });

  it.each([
    [{ TOLLGATE_ORIGIN: 'http://gw.example.com' }, 'TOLLGATE_ORIGIN must be https'],
    [{ TOLLGATE_ORIGIN: 'https://gw.example.com/path' }, 'TOLLGATE_ORIGIN must be an origin'],
    [{ OIDC_ISSUER: 'http://idp.example.com' }, 'OIDC_ISSUER must be https'],
    [{ OIDC_ISSUER: 'not a url' }, 'OIDC_ISSUER is not a URL'],
    [{ OIDC_CLIENT_ID: '' }, 'OIDC_CLIENT_ID is required'],
    [{ OIDC_CLIENT_SECRET: undefined }, 'OIDC_CLIENT_SECRET is required'],
    [{ ASSERTION_TTL_SECONDS: '61' }, 'ASSERTION_TTL_SECONDS must be between 1 and 60'],
    [{ ASSERTION_TTL_SECONDS: '1e3' }, 'ASSERTION_TTL_SECONDS must be a whole number'],
    [{ SESSION_IDLE_SECONDS: '50000' }, 'SESSION_IDLE_SECONDS must not exceed SESSION_MAX_SECONDS'],
    [{ REQUEST_LOG: 'everything' }, 'REQUEST_LOG must be "all" or "except-allowed"'],
  ])('refuses %j', (over, message) => {
    const msg = refused({ ...base, ...over });
    expect(msg).toContain(message);
    expect(msg).not.toContain('very-secret-client-secret');
  });
});

describe('isLoopbackHostname', () => {
  it.each(['localhost', 'inventory.localhost', '127.0.0.1', '127.9.9.9', '[::1]', '::1'])('%s is loopback', (h) =>
    expect(isLoopbackHostname(h)).toBe(true));
  it.each(['localhost.example.com', '10.0.0.1', '128.0.0.1', 'example.com', '0.0.0.0'])('%s is not', (h) =>
    expect(isLoopbackHostname(h)).toBe(false));
});
