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
  /** Drop the client's Authorization header too (it carried a token meant for the gateway). */
  stripAuthorization?: boolean;
}

/**
 * Header fields as a plain record with no prototype (so a field named
 * `__proto__` is just a field), for `fetch` and `Response`. A record, not a
 * `Headers` or a list of pairs: in workerd, converting the two lists of a
 * forward costs ~30 µs of CPU per request more than two records
 * (bench/workerd-headers.ts).
 */
export type HeaderRecord = Record<string, string>;

function record(): HeaderRecord {
  return Object.create(null) as HeaderRecord;
}

/**
 * The record as `fetch`/`Response` should get it. A field named `__proto__`
 * is legal but would vanish in runtimes that copy records into ordinary
 * objects (undici does): then, and only then, a `Headers` from the entries.
 */
function finish(out: HeaderRecord): HeaderRecord | Headers {
  return Object.hasOwn(out, '__proto__') ? new Headers(Object.entries(out)) : out;
}

/**
 * Headers to send upstream, built from the client's request headers. The input is not modified.
 * Iteration yields lower-case names, one entry per name (values combined: a request has no
 * Set-Cookie), so a record holds the whole set.
 */
export function upstreamRequestHeaders(client: Headers, options: UpstreamHeaderOptions): HeaderRecord | Headers {
  const hop = hopByHopNames(client);
  const out = record();
  let cookieHeader: string | null = null;
  let priorForwardedFor: string | null = null;
  for (const [name, value] of client) {
    const lower = name.toLowerCase();
    if (hop.has(lower) || isTollgateHeader(lower)) continue;
    // The upstream's Host comes from the endpoint URL; the client's goes in X-Forwarded-Host.
    if (lower === 'host' || lower === 'x-forwarded-host' || lower === 'x-forwarded-proto') continue;
    if (lower === 'authorization' && options.stripAuthorization) continue;
    if (lower === 'cookie') {
      cookieHeader = value;
      continue;
    }
    if (lower === 'x-forwarded-for' && options.clientIp) {
      priorForwardedFor = value;
      continue;
    }
    out[lower] = value;
  }
  const cookie = stripCookies(cookieHeader, options.gatewayCookies);
  if (cookie !== null) out.cookie = cookie;
  out['x-forwarded-host'] = options.clientHost;
  out['x-forwarded-proto'] = options.proto;
  if (options.clientIp) out['x-forwarded-for'] = priorForwardedFor ? `${priorForwardedFor}, ${options.clientIp}` : options.clientIp;
  out['tollgate-assertion'] = options.assertion;
  return finish(out);
}

export interface ClientResponseHeaderOptions {
  requestId: string;
  gatewayCookies: readonly string[];
  /** A Set-Cookie of the gateway's own to add (e.g. a renewed session). */
  setCookie?: string;
  /**
   * The URL the forward went to and the client's scheme (`http:`/`https:`) and authority: a `Location` that
   * points at the endpoint is rewritten to the client's origin (see {@link rewriteLocation}). Origins are
   * worked out only when the response has a `Location`.
   */
  location?: { forwardedTo: URL; clientProtocol: string; clientAuthority: string };
}

/**
 * A redirect from the upstream, as the client should see it. The upstream gets
 * the endpoint's authority as Host (the client's is in X-Forwarded-Host), so an
 * app that builds absolute URLs from Host redirects to the endpoint: that
 * `Location` — absolute or scheme-relative, same origin as `from` — gets the
 * client's origin `to` instead, path, query and fragment kept, as reverse
 * proxies do (nginx `proxy_redirect default`, Apache `ProxyPassReverse`). The
 * client neither learns the endpoint's address nor is sent to it. Relative
 * references, other origins and values that are not URLs pass unchanged.
 */
export function rewriteLocation(value: string, from: string, to: string): string {
  const trimmed = value.trim();
  let url: URL;
  try {
    // Only absolute (scheme:) and scheme-relative (//host; browsers read \ as / there) references can name the endpoint.
    if (/^[/\\]{2}/.test(trimmed)) url = new URL(trimmed, from);
    else if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) url = new URL(trimmed);
    else return value;
  } catch {
    return value;
  }
  if (url.origin !== from) return value;
  return `${to}${url.pathname}${url.search}${url.hash}`;
}

/**
 * Headers to return to the client, built from the upstream's response headers:
 * a {@link HeaderRecord}, or a `Headers` when Set-Cookie fields remain (they
 * cannot be combined into one value).
 */
export function clientResponseHeaders(upstream: Headers, options: ClientResponseHeaderOptions): HeaderRecord | Headers {
  const hop = hopByHopNames(upstream);
  const out = record();
  let setCookies = false;
  for (const [name, value] of upstream) {
    const lower = name.toLowerCase();
    if (lower === 'set-cookie') {
      setCookies = true;
      continue;
    }
    if (hop.has(lower) || lower === 'tollgate-request-id') continue;
    const loc = lower === 'location' ? options.location : undefined;
    out[lower] = loc ? rewriteLocation(value, loc.forwardedTo.origin, `${loc.clientProtocol}//${loc.clientAuthority}`) : value;
  }
  out['tollgate-request-id'] = options.requestId;
  const kept: string[] = [];
  if (setCookies) {
    const drop = lowerSet(options.gatewayCookies);
    for (const cookie of upstream.getSetCookie()) if (!drop.has(setCookieName(cookie).toLowerCase())) kept.push(cookie);
  }
  if (options.setCookie) kept.push(options.setCookie);
  if (kept.length === 0) return finish(out);
  const headers = new Headers(Object.entries(out));
  for (const cookie of kept) headers.append('set-cookie', cookie);
  return headers;
}
