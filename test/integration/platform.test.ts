/**
 * src/platform inside workerd, where `base64url` uses the runtime's native
 * `Uint8Array.prototype.toBase64`: it must agree with the portable encoder
 * that Node (and the unit tests) use, for every input.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { base64url, base64urlPortable } from '../../src/platform/index.js';

describe('base64url in workerd', () => {
  it('uses the native encoder here', () => {
    expect(typeof (Uint8Array.prototype as { toBase64?: unknown }).toBase64).toBe('function');
  });

  it('native and portable agree on any bytes, views included', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.nat(8), (bytes, offset) => {
        const view = new Uint8Array(bytes.length + offset).subarray(offset);
        view.set(bytes);
        expect(base64url(view)).toBe(base64urlPortable(view));
      }),
      { numRuns: 500 },
    );
  });
});
