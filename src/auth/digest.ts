/** Hashing helpers for codes and nonces (WebCrypto; same in workerd and Node). */
import { base64url } from '../platform/index.js';

/** base64url(SHA-256(utf8(text))). */
export async function sha256b64url(text: string): Promise<string> {
  const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(text));
  return base64url(new Uint8Array(digest));
}

/** Constant-time comparison of two strings of equal length (false otherwise). */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** 43 characters of base64url: the encoding of 32 random bytes or of a SHA-256 digest. */
export const B64URL_256 = /^[A-Za-z0-9_-]{43}$/;
