/**
 * Pure header rewriting for the forward path (DESIGN §3). No I/O: runs the
 * same in workerd and Node.
 */

/** RFC 9110 §7.6.1 hop-by-hop fields plus the legacy ones proxies drop. */
export const HOP_BY_HOP = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
] as const;

const FIXED_HOP_BY_HOP: ReadonlySet<string> = new Set(HOP_BY_HOP);

/** Hop-by-hop names for this message: the fixed list plus every name `Connection` lists. */
function hopByHopNames(headers: Headers): ReadonlySet<string> {
  const connection = headers.get('connection');
  // Most messages on the forward path carry no Connection header: share the fixed set.
  if (!connection) return FIXED_HOP_BY_HOP;
  const names = new Set<string>(HOP_BY_HOP);
  for (const token of connection.split(',')) {
    const name = token.trim().toLowerCase();
    if (name) names.add(name);
  }
  return names;
}

function isTollgateHeader(name: string): boolean {
  return name.toLowerCase().startsWith('tollgate-');
}

/**
 * Remove the named cookies from a Cookie header value. Returns null when
 * nothing remains. Names compare case-insensitively, so a differently-cased
 * copy of a gateway cookie never reaches the workload either.
 */
const lowerSets = new WeakMap<readonly string[], ReadonlySet<string>>();

/** The lower-cased names as a set, built once per list: callers pass a constant (GATEWAY_COOKIE_NAMES), never a list they later change. */
function lowerSet(names: readonly string[]): ReadonlySet<string> {
  let set = lowerSets.get(names);
  if (!set) {
    set = new Set(names.map((n) => n.toLowerCase()));
    lowerSets.set(names, set);
  }
  return set;
}

export function stripCookies(cookieHeader: string | null, names: readonly string[]): string | null {
  if (cookieHeader === null) return null;
  const drop = lowerSet(names);
  const kept: string[] = [];
  for (const part of cookieHeader.split(';')) {
    const trimmed = part.trim();
    if (trimmed === '') continue;
    const eq = trimmed.indexOf('=');
    const name = (eq === -1 ? trimmed : trimmed.slice(0, eq)).trim().toLowerCase();
    if (drop.has(name)) continue;
    kept.push(trimmed);
  }
  return kept.length === 0 ? null : kept.join('; ');
}

/**
 * The cookie name a Set-Cookie value sets (text before the first '=' of its
 * first attribute). Without '=' the whole first part is returned: browsers store
 * that as a nameless cookie whose header form is indistinguishable from a name.
 */
export function setCookieName(value: string): string {
  const first = value.split(';', 1)[0] ?? '';
  const eq = first.indexOf('=');
  return (eq === -1 ? first : first.slice(0, eq)).trim();
}

export interface UpstreamHeaderOptions {
  /** The client's Host header (authority). */
  clientHost: string;
  /** "https" or "http" as the client connected. */
  proto: string;
  /** From CF-Connecting-IP; absent when unknown. */
  clientIp?: string;
  /** The per-request assertion (compact JWS). */
  assertion: string;
  /** Cookie names the gateway owns (both variants). */
  gatewayCookies: readonly string[];
}

/**
 * Headers to send upstream, built from the client's request headers. The input is not modified.
 * Built as one list and handed to `new Headers` once: in workerd every `append`/`set`/`get` is a
 * call into the runtime, and this runs on every forwarded request.
 */
export function upstreamRequestHeaders(client: Headers, options: UpstreamHeaderOptions): Headers {
  const hop = hopByHopNames(client);
  const out: [string, string][] = [];
  let cookieHeader: string | null = null;
  let priorForwardedFor: string | null = null;
  // Iteration yields lower-case names, one entry per name (values combined), in both runtimes.
  for (const [name, value] of client) {
    const lower = name.toLowerCase();
    if (hop.has(lower) || isTollgateHeader(lower)) continue;
    // The upstream's Host comes from the endpoint URL; the client's goes in X-Forwarded-Host.
    if (lower === 'host' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') continue;
    if (lower === 'cookie') {
      cookieHeader = value;
      continue;
    }
    if (lower === 'x-forwarded-for' && options.clientIp) {
      priorForwardedFor = value;
      continue;
    }
    out.push([name, value]);
  }
  const cookie = stripCookies(cookieHeader, options.gatewayCookies);
  if (cookie !== null) out.push(['cookie', cookie]);
  out.push(['x-forwarded-host', options.clientHost], ['x-forwarded-proto', options.proto]);
  if (options.clientIp) out.push(['x-forwarded-for', priorForwardedFor ? `${priorForwardedFor}, ${options.clientIp}` : options.clientIp]);
  out.push(['tollgate-assertion', options.assertion]);
  return new Headers(out);
}

export interface ClientResponseHeaderOptions {
  requestId: string;
  gatewayCookies: readonly string[];
}

/** Headers to return to the client, built from the upstream's response headers (one list, one `new Headers`). */
export function clientResponseHeaders(upstream: Headers, options: ClientResponseHeaderOptions): Headers {
  const hop = hopByHopNames(upstream);
  const out: [string, string][] = [];
  let setCookies = false;
  for (const [name, value] of upstream) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') {
      setCookies = true;
      continue;
    }
    if (hop.has(lower) || lower === 'tollgate-request-id') continue;
    out.push([name, value]);
  }
  if (setCookies) {
    const drop = lowerSet(options.gatewayCookies);
    for (const cookie of upstream.getSetCookie()) if (!drop.has(setCookieName(cookie).toLowerCase())) out.push(['set-cookie', cookie]);
  }
  out.push(['tollgate-request-id', options.requestId]);
  return new Headers(out);
}
