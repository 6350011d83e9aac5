// Return-URL checks (src/auth/return-url.ts): never an open redirect.
import { describe, expect, it } from 'vitest';
import { safeReturnPath, sameOriginReturnUrl } from '../../../src/auth/return-url.js';

const ORIGIN = 'http://127.0.0.1:8787';

describe('safeReturnPath', () => {
  it.each([
    ['/', '/'],
    ['/x/y?z=1&w=%2F', '/x/y?z=1&w=%2F'],
    ['/a;b=c', '/a;b=c'],
  ])('accepts %s', (input, out) => expect(safeReturnPath(input)).toBe(out));

  it.each([
    [null],
    [undefined],
    [''],
    ['x'],
    ['//evil.example'],
    ['/a//b'],
    ['/\\evil.example'],
    ['\\\\evil.example'],
    ['/a\\b'],
    ['https://evil.example/'],
    ['/a\r\nSet-Cookie: x=1'],
    ['/a\tb'],
    ['/a b'],
    ['/\u0000'],
    ['/\u00e9'],
    ['/a#frag'],
    [`/${'a'.repeat(2048)}`],
  ])('refuses %j', (input) => expect(safeReturnPath(input as string | null | undefined)).toBeNull());
});

describe('sameOriginReturnUrl', () => {
  it.each([
    [`${ORIGIN}/auth/whoami`, `${ORIGIN}/auth/whoami`],
    [`${ORIGIN}/auth/handoff?host=a&nonce=b&return=%2F`, `${ORIGIN}/auth/handoff?host=a&nonce=b&return=%2F`],
  ])('accepts %s', (input, out) => expect(sameOriginReturnUrl(input, ORIGIN)).toBe(out));

  it.each([
    [ORIGIN],
    [`${ORIGIN}.evil.example/`],
    [`${ORIGIN}@evil.example/`],
    [`${ORIGIN}//evil.example`],
    [`${ORIGIN}/\\evil.example`],
    ['http://127.0.0.1:8788/'],
    ['https://127.0.0.1:8787/'],
    ['http://inventory.localhost:8787/'],
    ['/relative'],
    ['javascript:alert(1)'],
    [`${ORIGIN}/a\nb`],
  ])('refuses %s', (input) => expect(sameOriginReturnUrl(input, ORIGIN)).toBeNull());
});
