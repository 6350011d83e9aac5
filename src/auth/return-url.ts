/**
 * Return targets after sign-in: only an exact origin the gateway serves (its
 * own, or a workload host in the catalog) — never an open redirect.
 */

const MAX_RETURN_LENGTH = 2048;

/**
 * A return path is safe when it starts with a single '/', has no '//' and no
 * backslash anywhere (browsers treat '\' as '/'), no control or non-ASCII
 * characters, and is not absurdly long. Anything else is refused (null).
 */
export function safeReturnPath(value: string | null | undefined): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_LENGTH) return null;
  if (value[0] !== '/') return null;
  if (value.includes('//') || value.includes('\\')) return null;
  // Printable ASCII only: no controls, no DEL, no spaces, nothing a browser would reinterpret.
  if (!/^[\x21-\x7e]+$/.test(value)) return null;
  // The path must stay a path: a '#' fragment is dropped by browsers anyway; refuse it to keep things exact.
  if (value.includes('#')) return null;
  return value;
}

/**
 * `value` as an absolute URL on exactly `origin` with a safe path, or null.
 * Used for `/auth/login?return=`: the gateway's own origin only.
 */
export function sameOriginReturnUrl(value: string | null | undefined, origin: string): string | null {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_RETURN_LENGTH) return null;
  if (!value.startsWith(`${origin}/`)) return null;
  const path = safeReturnPath(value.slice(origin.length));
  if (path === null) return null;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    return null;
  }
  if (parsed.origin !== origin || parsed.username || parsed.password) return null;
  return `${origin}${path}`;
}
