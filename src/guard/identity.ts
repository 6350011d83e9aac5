/**
 * Identity headers for the app, built from verified claims only (DESIGN §6).
 * A claim that is absent leaves its header absent; a claim that is present
 * but could not be passed on faithfully as a header value (wrong type, control
 * characters, non-ASCII, a role containing a comma or space) refuses the
 * request instead of being altered or dropped.
 */

/** The headers the guard sets for the app; `Tollgate-User` is always present on success. */
export interface IdentityHeaders {
  'Tollgate-User': string;
  'Tollgate-Email'?: string;
  'Tollgate-Roles'?: string;
  'Tollgate-Device-Trust'?: string;
}

const MAX_VALUE = 1024;
const MAX_ROLES = 256;
// Visible ASCII, inner spaces allowed, no leading/trailing space.
const SAFE_VALUE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;
// A role is joined with "," into one header: no comma, no whitespace.
const SAFE_ROLE = /^[\x21-\x2b\x2d-\x7e]+$/;

/** True when `v` can travel as a header value byte for byte. */
export function isSafeHeaderValue(v: unknown): v is string {
  return typeof v === 'string' && v.length <= MAX_VALUE && SAFE_VALUE.test(v);
}

/** The identity headers for `claims`, or undefined when a present claim is unfit for a header. */
export function identityHeadersOf(claims: Record<string, unknown>): IdentityHeaders | undefined {
  const { sub, email, roles, dev } = claims;
  if (!isSafeHeaderValue(sub)) return undefined;
  const headers: IdentityHeaders = { 'Tollgate-User': sub };
  if (email !== undefined) {
    if (!isSafeHeaderValue(email)) return undefined;
    headers['Tollgate-Email'] = email;
  }
  if (roles !== undefined) {
    if (!Array.isArray(roles) || roles.length > MAX_ROLES) return undefined;
    for (const role of roles) {
      if (typeof role !== 'string' || role.length > MAX_VALUE || !SAFE_ROLE.test(role)) return undefined;
    }
    // An empty list leaves the header absent, like an absent claim.
    if (roles.length > 0) headers['Tollgate-Roles'] = roles.join(',');
  }
  if (dev !== undefined) {
    if (typeof dev !== 'object' || dev === null || Array.isArray(dev)) return undefined;
    const trust = (dev as Record<string, unknown>).trust;
    if (trust !== undefined) {
      if (!isSafeHeaderValue(trust)) return undefined;
      headers['Tollgate-Device-Trust'] = trust;
    }
  }
  return headers;
}
