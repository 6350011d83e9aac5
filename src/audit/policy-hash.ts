/**
 * A short content hash of the policy document a decision was made with, so a
 * record names the exact policy and not only the version counter. Computed
 * once per document object (one per loaded snapshot), off the hot path: the
 * caller awaits it inside `waitUntil`.
 */
import { base64url as b64url } from '../platform/index.js';

const cache = new WeakMap<object, Promise<string>>();

/** "sha256:" + the first 22 base64url characters (132 bits) of SHA-256 over the document's JSON. */
export function policyHash(document: object): Promise<string> {
  let hit = cache.get(document);
  if (!hit) {
    hit = crypto.subtle
      .digest('SHA-256', new TextEncoder().encode(JSON.stringify(document)))
      .then((d) => `sha256:${b64url(new Uint8Array(d)).slice(0, 22)}`);
    cache.set(document, hit);
  }
  return hit;
}
