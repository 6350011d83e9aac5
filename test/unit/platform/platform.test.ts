// src/platform: the base64url encoders and the pooled CSPRNG.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64url, base64urlPortable, pooledRandom } from '../../../src/platform/index.js';

describe('base64url', () => {
  it('matches RFC 4648 §5 without padding for any bytes (portable and as exported)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const expected = Buffer.from(bytes).toString('base64url');
        expect(base64urlPortable(bytes)).toBe(expected);
        expect(base64url(bytes)).toBe(expected);
      }),
      { numRuns: 500 },
    );
  });

  it.each([
    [[], ''],
    [[0xfb], '-w'],
    [[0xfb, 0xff], '-_8'],
    [[0xfb, 0xff, 0x01], '-_8B'],
  ])('%j → %s', (bytes, text) => expect(base64urlPortable(new Uint8Array(bytes))).toBe(text));

  it('honours a view into a larger buffer', () => {
    const backing = new Uint8Array([1, 2, 3, 0xfb, 0xff, 0x01, 9]);
    expect(base64url(backing.subarray(3, 6))).toBe('-_8B');
    expect(base64urlPortable(backing.subarray(3, 6))).toBe('-_8B');
  });
});

describe('pooledRandom', () => {
  it('hands out fresh bytes of the asked length, across pool refills and above the pool size', () => {
    const r = pooledRandom(64);
    const seen = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const b = r.bytes(16);
      expect(b).toHaveLength(16);
      seen.add(Buffer.from(b).toString('hex'));
    }
    expect(seen.size).toBe(200);
    expect(r.bytes(100)).toHaveLength(100);
    expect(r.id()).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });
});
