/**
 * ETag / If-Match (RFC 9110 §8.8.3, §13.1.1). Every admin resource has an
 * integer version; its ETag is the strong tag `"<version>"`. Updates and
 * deletes need `If-Match` with the ETag that was read: missing → 428, not
 * matching → 412 (both problem+json). `If-Match: *` is refused with 428: it
 * would allow exactly the lost update the header is there to prevent. Weak
 * tags never match (If-Match uses the strong comparison).
 */
import { TollgateError } from '../../errors.js';
import type { AdminContext } from './context.js';

export function etag(version: number): string {
  return `"${version}"`;
}

const ENTITY_TAG = /^(W\/)?"([\x21\x23-\x7e]*)"$/;

/**
 * The versions named by the request's If-Match (a list is allowed). Throws 428
 * when it is missing, empty or `*`, 400 when it is not a list of entity tags.
 * Tags that cannot match (weak, not a version) are dropped: an empty result
 * then fails the comparison as 412.
 */
export function ifMatchVersions(c: AdminContext): number[] {
  const raw = c.req.header('if-match');
  if (raw === undefined || raw.trim() === '') {
    throw new TollgateError('precondition-required', 'this change needs an If-Match header with the ETag of the resource as you read it');
  }
  if (raw.trim() === '*') {
    throw new TollgateError('precondition-required', 'If-Match: * is not accepted here: send the ETag you read, so a concurrent change is not overwritten');
  }
  if (raw.length > 1024) throw new TollgateError('bad-request', 'the If-Match header is too long');
  const out: number[] = [];
  for (const part of raw.split(',')) {
    const m = ENTITY_TAG.exec(part.trim());
    if (!m) throw new TollgateError('bad-request', 'the If-Match header is not a list of entity tags', {
      details: { errors: [{ in: 'header', pointer: '/if-match', detail: 'must be one or more entity tags such as "12"' }] },
    });
    if (m[1] === undefined && /^[1-9]\d{0,15}$/.test(m[2]!)) out.push(Number(m[2]));
  }
  return out;
}

/** Throws 412 unless `current` is one of the request's If-Match versions. */
export function checkIfMatch(c: AdminContext, current: number): number {
  const wanted = ifMatchVersions(c);
  if (!wanted.includes(current)) {
    throw new TollgateError('precondition-failed', 'the resource has changed since it was read (If-Match does not match its ETag); read it again');
  }
  return current;
}
