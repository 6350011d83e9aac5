import fc from 'fast-check';
import { CompactEncrypt } from 'jose';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import {
  GATEWAY_COOKIE_NAMES,
  MAX_SEALED_LENGTH,
  cookieNames,
  createCookieCodec,
  sessionState,
  type CookieCodec,
  type CookiePurpose,
  type SessionClaims,
  type SessionState,
} from '../../../src/session/index.js';

const SECRET = Buffer.alloc(32, 7).toString('base64url');
const OTHER_SECRET = Buffer.alloc(32, 8).toString('base64url');
const NOW = 1_767_225_600;
const PURPOSES: CookiePurpose[] = ['session', 'auth-tx', 'nonce'];
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

let codec: CookieCodec;
beforeAll(async () => {
  codec = await createCookieCodec(SECRET);
});

describe('createCookieCodec', () => {
  it.each([
    ['too short', Buffer.alloc(31, 1).toString('base64url')],
    ['empty', ''],
    ['not base64url', '!'.repeat(48)],
    ['standard base64 alphabet', Buffer.alloc(33, 0xfb).toString('base64')],
    ['impossible length', 'A'.repeat(45)],
  ])('refuses a secret that is %s', async (_name, secret) => {
    const err = await createCookieCodec(secret).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TollgateError);
    expect((err as TollgateError).code).toBe('config-invalid');
    expect((err as TollgateError).message).not.toContain(secret || '\u0000');
  });

  it('accepts base64url with or without padding', async () => {
    const raw = Buffer.alloc(32, 7);
    const padded = raw.toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
    const a = await createCookieCodec(padded);
    const sealed = await a.seal('session', { a: 1 }, 60, NOW);
    expect(await codec.open('session', sealed, NOW)).toEqual({ a: 1 });
  });
});

describe('seal / open', () => {
  it('round-trips arbitrary JSON objects for every purpose', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PURPOSES),
        fc.oneof(fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 8 }), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 6 })),
        fc.integer({ min: 1, max: 86_400 }),
        async (purpose, payload, ttl) => {
          const normalised = JSON.parse(JSON.stringify(payload)) as object;
          const sealed = await codec.seal(purpose, payload, ttl, NOW);
          expect(sealed.length).toBeLessThanOrEqual(MAX_SEALED_LENGTH);
          expect(await codec.open(purpose, sealed, NOW)).toEqual(normalised);
          expect(await codec.open(purpose, sealed, NOW + ttl - 1)).toEqual(normalised);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('hides the payload (it is encrypted, not only signed)', async () => {
    const sealed = await codec.seal('session', { marker: 'very-visible-marker' }, 60, NOW);
    const decoded = sealed.split('.').map((p) => Buffer.from(p, 'base64url').toString('latin1')).join('');
    expect(decoded).not.toContain('very-visible-marker');
    expect(JSON.parse(Buffer.from(sealed.split('.')[0]!, 'base64url').toString())).toEqual({ alg: 'dir', enc: 'A256GCM' });
  });

  it('uses a fresh IV each time', async () => {
    const a = await codec.seal('session', { x: 1 }, 60, NOW);
    const b = await codec.seal('session', { x: 1 }, 60, NOW);
    expect(a).not.toBe(b);
  });

  it('changing any single character gives null', async () => {
    const sealed = await codec.seal('session', { sid: 'abc', groups: ['g'] }, 600, NOW);
    for (let i = 0; i < sealed.length; i++) {
      for (const replacement of [B64URL[(B64URL.indexOf(sealed[i]!) + 1) % 64]!, B64URL[(B64URL.indexOf(sealed[i]!) + 33) % 64]!, '.', '=']) {
        if (replacement === sealed[i]) continue;
        const tampered = sealed.slice(0, i) + replacement + sealed.slice(i + 1);
        expect(await codec.open('session', tampered, NOW), `position ${i} -> ${replacement}`).toBeNull();
      }
    }
    // Truncation and extension too.
    expect(await codec.open('session', sealed.slice(0, -1), NOW)).toBeNull();
    expect(await codec.open('session', sealed + 'A', NOW)).toBeNull();
  });

  it('a value sealed for one purpose never opens as another', async () => {
    for (const from of PURPOSES) {
      const sealed = await codec.seal(from, { p: from }, 60, NOW);
      for (const to of PURPOSES) {
        const opened = await codec.open(to, sealed, NOW);
        if (from === to) expect(opened).toEqual({ p: from });
        else expect(opened).toBeNull();
      }
    }
  });

  it('a value sealed under another secret does not open', async () => {
    const other = await createCookieCodec(OTHER_SECRET);
    expect(await codec.open('session', await other.seal('session', { a: 1 }, 60, NOW), NOW)).toBeNull();
  });

  it('expires at now + ttl', async () => {
    const sealed = await codec.seal('nonce', { n: 1 }, 60, NOW);
    expect(await codec.open('nonce', sealed, NOW + 59)).toEqual({ n: 1 });
    expect(await codec.open('nonce', sealed, NOW + 60)).toBeNull();
    expect(await codec.open('nonce', sealed, NOW + 10_000)).toBeNull();
    expect(await codec.open('nonce', sealed, Number.NaN)).toBeNull();
  });

  it('a payload `exp` does not extend the sealed lifetime', async () => {
    const sealed = await codec.seal('session', { exp: NOW + 10_000, pur: 'nonce' }, 5, NOW);
    expect(await codec.open('session', sealed, NOW)).toEqual({ exp: NOW + 10_000, pur: 'nonce' });
    expect(await codec.open('session', sealed, NOW + 5)).toBeNull();
  });

  it('refuses oversized values without opening them', async () => {
    const sealed = await codec.seal('session', { a: 1 }, 60, NOW);
    expect(await codec.open('session', sealed + 'A'.repeat(MAX_SEALED_LENGTH), NOW)).toBeNull();
    // seal leaves the budget to the caller; a value over the limit never opens (fails closed).
    const big = await codec.seal('session', { big: 'x'.repeat(4000) }, 60, NOW);
    expect(big.length).toBeGreaterThan(MAX_SEALED_LENGTH);
    expect(await codec.open('session', big, NOW)).toBeNull();
  });

  it('refuses JWEs with other algorithms or a non-JSON / non-object body, even under the right key', async () => {
    // Build a JWE with the same key material the codec derives, to show the checks after decryption hold.
    const ikm = await crypto.subtle.importKey('raw', Buffer.alloc(32, 7), 'HKDF', false, ['deriveKey']);
    const key = await crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(0), info: new TextEncoder().encode('tollgate cookie session') },
      ikm,
      { name: 'AES-GCM', length: 256 },
      false,
      ['encrypt'],
    );
    const enc = (body: string) => new CompactEncrypt(new TextEncoder().encode(body)).setProtectedHeader({ alg: 'dir', enc: 'A256GCM' }).encrypt(key);
    // Sanity: the independently derived key does produce values the codec opens.
    expect(await codec.open('session', await enc(JSON.stringify({ pur: 'session', exp: NOW + 9, v: { ok: true } })), NOW)).toEqual({ ok: true });
    for (const body of [
      'not json',
      'null',
      '[]',
      JSON.stringify({ pur: 'session', exp: NOW + 9, v: 'string' }),
      JSON.stringify({ pur: 'session', exp: NOW + 9, v: null }),
      JSON.stringify({ pur: 'session', exp: String(NOW + 9), v: {} }),
      JSON.stringify({ pur: 'session', v: {} }),
      JSON.stringify({ pur: 'nonce', exp: NOW + 9, v: {} }),
      JSON.stringify({ exp: NOW + 9, v: {} }),
    ]) {
      expect(await codec.open('session', await enc(body), NOW), body).toBeNull();
    }
  });

  it('never throws on garbage', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 5000 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
          fc.array(fc.constantFrom(...B64URL, '.'), { maxLength: 300 }).map((a) => a.join('')),
          fc
            .tuple(fc.stringMatching(/^[A-Za-z0-9_-]{0,40}$/), fc.stringMatching(/^[A-Za-z0-9_-]{16}$/), fc.stringMatching(/^[A-Za-z0-9_-]{1,60}$/), fc.stringMatching(/^[A-Za-z0-9_-]{22}$/))
            .map(([h, iv, c, t]) => `${h}..${iv}.${c}.${t}`),
        ),
        fc.constantFrom(...PURPOSES),
        async (value, purpose) => {
          expect(await codec.open(purpose, value, NOW)).toBeNull();
        },
      ),
      { numRuns: 500 },
    );
    for (const value of [undefined, null, 42, {}, ['a']] as unknown as string[]) {
      expect(await codec.open('session', value, NOW)).toBeNull();
    }
    expect(await codec.open('bogus' as CookiePurpose, 'x', NOW)).toBeNull();
  });
});

describe('opened-session cache', () => {
  afterEach(() => vi.restoreAllMocks());
  const decrypts = () => vi.spyOn(crypto.subtle, 'decrypt');

  it('opens a session value once, then answers from memory with the same payload', async () => {
    const c = await createCookieCodec(SECRET);
    const sealed = await c.seal('session', { sid: 's1', groups: ['a'] }, 600, NOW);
    const spy = decrypts();
    for (let i = 0; i < 5; i++) expect(await c.open('session', sealed, NOW + i)).toEqual({ sid: 's1', groups: ['a'] });
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('still enforces the sealed exp on a hit', async () => {
    const c = await createCookieCodec(SECRET);
    const sealed = await c.seal('session', { a: 1 }, 60, NOW);
    expect(await c.open('session', sealed, NOW)).toEqual({ a: 1 });
    expect(await c.open('session', sealed, NOW + 59)).toEqual({ a: 1 });
    expect(await c.open('session', sealed, NOW + 60)).toBeNull();
    expect(await c.open('session', sealed, NOW + 1)).toEqual({ a: 1 });
    expect(await c.open('session', sealed, Number.NaN)).toBeNull();
  });

  it('a cached value never opens as another purpose, and a near miss is decrypted (and refused)', async () => {
    const c = await createCookieCodec(SECRET);
    const sealed = await c.seal('session', { a: 1 }, 60, NOW);
    await c.open('session', sealed, NOW);
    expect(await c.open('nonce', sealed, NOW)).toBeNull();
    expect(await c.open('auth-tx', sealed, NOW)).toBeNull();
    const last = sealed[sealed.length - 1] === 'A' ? 'Q' : 'A';
    expect(await c.open('session', sealed.slice(0, -1) + last, NOW)).toBeNull();
  });

  it('hands out a deep-frozen payload: no caller can change what the next request sees', async () => {
    const c = await createCookieCodec(SECRET);
    const sealed = await c.seal('session', { groups: ['a'], nested: { x: 1 } }, 60, NOW);
    for (let i = 0; i < 2; i++) {
      const opened = await c.open<{ groups: string[]; nested: { x: number } }>('session', sealed, NOW);
      expect(Object.isFrozen(opened)).toBe(true);
      expect(() => opened!.groups.push('admin')).toThrow(TypeError);
      expect(() => { opened!.nested.x = 2; }).toThrow(TypeError);
    }
    expect(await c.open('session', sealed, NOW)).toEqual({ groups: ['a'], nested: { x: 1 } });
    // Other purposes are single-use and handed out as plain objects.
    const nonce = await c.seal('nonce', { n: [1] }, 60, NOW);
    expect(Object.isFrozen(await c.open('nonce', nonce, NOW))).toBe(false);
  });

  it('is bounded (oldest out first) and can be turned off', async () => {
    const small = await createCookieCodec(SECRET, { sessionCacheSize: 2 });
    const values = await Promise.all([1, 2, 3].map((n) => small.seal('session', { n }, 60, NOW)));
    for (const v of values) await small.open('session', v, NOW);
    const spy = decrypts();
    await small.open('session', values[2]!, NOW);
    await small.open('session', values[1]!, NOW);
    expect(spy).toHaveBeenCalledTimes(0);
    await small.open('session', values[0]!, NOW);
    expect(spy).toHaveBeenCalledTimes(1);

    const off = await createCookieCodec(SECRET, { sessionCacheSize: 0 });
    const v = await off.seal('session', { a: 1 }, 60, NOW);
    await off.open('session', v, NOW);
    await off.open('session', v, NOW);
    expect(spy).toHaveBeenCalledTimes(3);
  });

  it('never caches the single-use purposes', async () => {
    const c = await createCookieCodec(SECRET);
    const nonce = await c.seal('nonce', { n: 1 }, 60, NOW);
    const spy = decrypts();
    await c.open('nonce', nonce, NOW);
    await c.open('nonce', nonce, NOW);
    expect(spy).toHaveBeenCalledTimes(2);
  });
});

describe('cookie names', () => {
  it('uses __Host- over https', () => {
    expect(cookieNames(true).session).toBe('__Host-tg_session');
    expect(cookieNames(false).session).toBe('tg_session');
    expect(GATEWAY_COOKIE_NAMES).toHaveLength(6);
  });
});

describe('sessionState', () => {
  const T = { idleSeconds: 7200, maxSeconds: 43_200 };
  const base: SessionClaims = {
    sid: 's',
    sub: 'user:h:alice',
    iss: 'http://localhost:9400',
    idpSub: 'alice',
    groups: [],
    authTime: NOW,
    createdAt: NOW,
    seenAt: NOW,
    expiresAt: NOW + 43_200,
    host: 'inventory.localhost:8787',
  };
  const HOST = 'inventory.localhost:8787';
  const cases: [string, Partial<SessionClaims>, number, SessionState, { idleSeconds: number; maxSeconds: number }?][] = [
    ['fresh', {}, NOW, 'valid'],
    ['just before refresh (300 s cap)', {}, NOW + 299, 'valid'],
    ['refresh at min(idle/4, 300)', {}, NOW + 300, 'refresh'],
    ['small idle: refresh at idle/4', {}, NOW + 25, 'refresh', { idleSeconds: 100, maxSeconds: 43_200 }],
    ['small idle: valid before idle/4', {}, NOW + 24, 'valid', { idleSeconds: 100, maxSeconds: 43_200 }],
    ['just before idle expiry', {}, NOW + 7199, 'refresh'],
    ['idle expiry is inclusive', {}, NOW + 7200, 'idle-expired'],
    ['activity keeps it alive', { seenAt: NOW + 7000 }, NOW + 7200, 'valid'],
    ['absolute expiry is inclusive', { seenAt: NOW + 43_190 }, NOW + 43_200, 'expired'],
    ['expiresAt before the configured max', { expiresAt: NOW + 100 }, NOW + 100, 'expired'],
    ['a cookie issued under a longer max is bounded by the current max', { expiresAt: NOW + 99_999, seenAt: NOW + 43_199 }, NOW + 43_200, 'expired'],
    ['expired beats idle', {}, NOW + 50_000, 'expired'],
    ['wrong host', { host: 'billing.localhost:8787' }, NOW, 'wrong-host'],
    ['host compare is exact (port)', { host: 'inventory.localhost' }, NOW, 'wrong-host'],
    ['wrong host even when expired', { host: 'x' }, NOW + 99_999, 'wrong-host'],
    ['non-numeric times fail closed', { expiresAt: Number.NaN }, NOW, 'expired'],
  ];
  it.each(cases)('%s', (_name, patch, now, expected, timeouts = T) => {
    expect(sessionState({ ...base, ...patch }, HOST, now, timeouts)).toBe(expected);
  });
});
