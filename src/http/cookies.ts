/** Cookie header parsing (tolerant: malformed input is ignored, never thrown) and Set-Cookie serialisation. */

const MAX_COOKIE_HEADER = 16 * 1024;

/** Every value sent for `name`, in header order. Malformed pairs are skipped. */
export function cookieValues(header: string | null, name: string): string[] {
  if (header === null || header.length > MAX_COOKIE_HEADER) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() !== name) continue;
    let value = part.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (value.length > 0) out.push(value);
  }
  return out;
}

export interface CookieAttributes {
  secure: boolean;
  /** Seconds; 0 clears the cookie. */
  maxAge: number;
}

/** `HttpOnly; SameSite=Lax; Path=/`, host-only (no Domain); `Secure` over https. */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  const parts = [`${name}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Lax', `Max-Age=${Math.max(0, Math.floor(attrs.maxAge))}`];
  if (attrs.secure) parts.push('Secure');
  return parts.join('; ');
}

export function clearCookie(name: string, secure: boolean): string {
  return serializeCookie(name, '', { secure, maxAge: 0 });
}
