/**
 * Which URLs the gateway may fetch on an admin's say-so (trusted issuers'
 * discovery documents and JWKS). Without this, registering an "issuer" would be
 * a way to make the gateway request internal addresses (SSRF).
 *
 * Refused: anything but https; credentials, fragments; IP literals in
 * loopback, private, link-local (cloud metadata 169.254.169.254, fd00:ec2::254),
 * CGNAT, unspecified, multicast, documentation and other special ranges, also
 * as IPv4-mapped / NAT64 IPv6; names that are local by definition (localhost,
 * *.localhost, *.local, *.internal, *.home.arpa, *.lan, single-label names).
 * The WHATWG URL parser has already turned `http://2130706433/`, `0x7f.1` and
 * `127.1` into `127.0.0.1`, so those spellings are caught as literals.
 *
 * With `allowInsecure: 'loopback'` (ALLOW_INSECURE_ISSUERS=loopback — tests and
 * the demo only) loopback hosts are accepted, over http too. Private ranges stay
 * refused.
 *
 * Limit: this checks names, not what they resolve to. Workers cannot resolve a
 * name before fetching, so a public name whose DNS answer is a private address
 * passes this check (docs/services.md, "SSRF"). On Cloudflare's network a
 * Worker's fetch goes out to the public internet and cannot reach a
 * deployment's private ranges, which is the backstop; redirects are never
 * followed (see jwks.ts), so a checked URL cannot bounce elsewhere.
 */

export type InsecureIssuers = 'loopback' | 'none';

export interface UrlPolicy {
  allowInsecure: InsecureIssuers;
}

/** Why a URL is refused, or null when it may be fetched. */
export function urlProblem(raw: string, policy: UrlPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (raw.length > 2048) return 'is too long';
  if (url.username || url.password) return 'must not carry credentials';
  if (url.hash) return 'must not have a fragment';
  const host = url.hostname.toLowerCase().replace(/\.$/, '');
  const loopback = isLoopbackHost(host);
  const devLoopback = policy.allowInsecure === 'loopback' && loopback;
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && devLoopback)) {
    return devLoopback || policy.allowInsecure === 'loopback' ? 'must be https (http only on a loopback host in development)' : 'must be https';
  }
  if (devLoopback) return null;
  if (loopback) return 'must not point at a loopback address';
  const literal = hostProblem(host);
  if (literal) return literal;
  return null;
}

/** 127.0.0.0/8, ::1, localhost, *.localhost. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = parseIPv4(h);
  if (v4 !== null) return v4[0] === 127;
  const v6 = parseIPv6(h);
  if (v6 !== null) {
    if (v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1) return true;
    const mapped = embeddedV4(v6);
    return mapped !== null && mapped[0] === 127;
  }
  return false;
}

const LOCAL_SUFFIXES = ['.local', '.internal', '.home.arpa', '.lan', '.intranet', '.corp', '.localdomain'];

function hostProblem(host: string): string | null {
  const bare = host.replace(/^\[|\]$/g, '');
  const v4 = parseIPv4(bare);
  if (v4 !== null) return v4Special(v4) ? 'must not point at a private, link-local or otherwise special address' : null;
  if (bare.includes(':')) {
    const v6 = parseIPv6(bare);
    if (v6 === null) return 'has an unreadable IPv6 address';
    return v6Special(v6) ? 'must not point at a private, link-local or otherwise special address' : null;
  }
  if (!bare.includes('.')) return 'must be a fully qualified public name';
  if (LOCAL_SUFFIXES.some((s) => bare === s.slice(1) || bare.endsWith(s))) return 'must not be a local name';
  return null;
}

function parseIPv4(h: string): number[] | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(h);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  return parts.every((p) => p <= 255) ? parts : null;
}

/** Eight 16-bit groups, or null. Accepts the forms the URL parser produces (compressed, lower case, dotted tail). */
function parseIPv6(h: string): number[] | null {
  if (!/^[0-9a-f:.]+$/i.test(h) || !h.includes(':')) return null;
  let head = h;
  const tail: number[] = [];
  const dotted = /:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(h);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]!);
    if (!v4) return null;
    tail.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    head = h.slice(0, h.length - dotted[1]!.length);
    if (head.endsWith('::')) {
      // keep "::" intact
    } else head = head.slice(0, -1);
  }
  const halves = head.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const left = parse(halves[0]!);
  const right = halves.length === 2 ? parse(halves[1]!) : [];
  if ([...left, ...right].some((n) => Number.isNaN(n))) return null;
  const fill = 8 - left.length - right.length - tail.length;
  if (halves.length === 1 ? fill !== 0 : fill < 1) return null;
  return [...left, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...right, ...tail];
}

function embeddedV4(g: number[]): number[] | null {
  const toV4 = (hi: number, lo: number) => [hi >> 8, hi & 255, lo >> 8, lo & 255];
  // ::ffff:a.b.c.d (mapped), ::a.b.c.d (compatible, deprecated)
  if (g.slice(0, 5).every((x) => x === 0) && (g[5] === 0xffff || g[5] === 0)) return toV4(g[6]!, g[7]!);
  // 64:ff9b::/96 (NAT64) and 64:ff9b:1::/48 (local-use NAT64)
  if (g[0] === 0x64 && g[1] === 0xff9b) return toV4(g[6]!, g[7]!);
  return null;
}

function inV4(a: number[], base: number[], bits: number): boolean {
  const n = (x: number[]) => ((x[0]! << 24) | (x[1]! << 16) | (x[2]! << 8) | x[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (n(a) & mask) === (n(base) & mask);
}

const V4_SPECIAL: [number[], number][] = [
  [[0, 0, 0, 0], 8], // "this" network, unspecified
  [[10, 0, 0, 0], 8],
  [[100, 64, 0, 0], 10], // CGNAT
  [[127, 0, 0, 0], 8],
  [[169, 254, 0, 0], 16], // link-local, cloud metadata
  [[172, 16, 0, 0], 12],
  [[192, 0, 0, 0], 24],
  [[192, 0, 2, 0], 24],
  [[192, 88, 99, 0], 24],
  [[192, 168, 0, 0], 16],
  [[198, 18, 0, 0], 15],
  [[198, 51, 100, 0], 24],
  [[203, 0, 113, 0], 24],
  [[224, 0, 0, 0], 4], // multicast
  [[240, 0, 0, 0], 4], // reserved, broadcast
];

function v4Special(a: number[]): boolean {
  return V4_SPECIAL.some(([base, bits]) => inV4(a, base, bits));
}

function v6Special(g: number[]): boolean {
  if (g.every((x) => x === 0)) return true; // ::
  if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return true; // ::1
  const v4 = embeddedV4(g);
  if (v4 !== null) return true; // mapped / NAT64: never needed for an issuer, and a way around the v4 list
  const first = g[0]!;
  if ((first & 0xfe00) === 0xfc00) return true; // fc00::/7 unique local (incl. fd00:ec2::254 metadata)
  if ((first & 0xffc0) === 0xfe80) return true; // fe80::/10 link-local
  if ((first & 0xffc0) === 0xfec0) return true; // fec0::/10 site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return true; // multicast
  if (first === 0x2001 && g[1] === 0x0db8) return true; // documentation
  if (first === 0x0100 && g[1] === 0 && g[2] === 0 && g[3] === 0) return true; // discard-only
  if (first === 0x2001 && g[1]! < 0x0200) return true; // 2001::/23 IETF special (Teredo, benchmarking, ORCHID)
  if (first === 0x2002) return true; // 6to4 embeds arbitrary v4
  return false;
}
