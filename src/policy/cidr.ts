/**
 * IPv4 / IPv6 addresses and CIDR blocks. Addresses are four 32-bit words
 * (IPv4 uses only the first), so one comparison routine serves both families.
 * IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are treated as the IPv4 address,
 * so a v4 CIDR matches a client the edge reports in mapped form.
 */

export interface Address {
  v6: boolean;
  words: [number, number, number, number];
}

export interface Cidr extends Address {
  prefix: number;
}

const V4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const HEX_GROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseV4(s: string): number | null {
  const m = V4_RE.exec(s);
  if (!m) return null;
  return ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0;
}

/** Eight 16-bit groups, or null. Accepts "::" compression and a trailing dotted IPv4; refuses zone ids. */
function parseV6Groups(s: string): number[] | null {
  if (s.length > 45 || s.length < 2) return null;
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const parseHalf = (h: string, allowV4Tail: boolean): number[] | null => {
    if (h === '') return [];
    const parts = h.split(':');
    const out: number[] = [];
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (allowV4Tail && i === parts.length - 1 && p.includes('.')) {
        const v4 = parseV4(p);
        if (v4 === null) return null;
        out.push(v4 >>> 16, v4 & 0xffff);
      } else if (HEX_GROUP_RE.test(p)) {
        out.push(parseInt(p, 16));
      } else {
        return null;
      }
    }
    return out;
  };
  if (halves.length === 1) {
    const all = parseHalf(s, true);
    return all && all.length === 8 ? all : null;
  }
  const head = parseHalf(halves[0]!, false);
  const tail = parseHalf(halves[1]!, true);
  if (!head || !tail || head.length + tail.length > 7) return null;
  return [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
}

function isMapped(g: number[]): boolean {
  return g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff;
}

/** Parse an address; null for anything that is not a plain IPv4 or IPv6 literal. */
export function parseAddress(s: unknown): Address | null {
  if (typeof s !== 'string') return null;
  if (!s.includes(':')) {
    const v4 = parseV4(s);
    return v4 === null ? null : { v6: false, words: [v4, 0, 0, 0] };
  }
  const g = parseV6Groups(s);
  if (!g) return null;
  if (isMapped(g)) return { v6: false, words: [((g[6]! << 16) | g[7]!) >>> 0, 0, 0, 0] };
  return {
    v6: true,
    words: [((g[0]! << 16) | g[1]!) >>> 0, ((g[2]! << 16) | g[3]!) >>> 0, ((g[4]! << 16) | g[5]!) >>> 0, ((g[6]! << 16) | g[7]!) >>> 0],
  };
}

function maskWord(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}

/**
 * Parse "addr/prefix" (a bare address means a single host). Refuses host bits
 * set beyond the prefix ("10.1.0.0/8"): that is almost always a typo for a
 * narrower block, and silently widening it would grant more than intended.
 */
export function parseCidr(s: unknown): Cidr | null {
  if (typeof s !== 'string') return null;
  const slash = s.indexOf('/');
  const addrPart = slash === -1 ? s : s.slice(0, slash);
  const prefixPart = slash === -1 ? null : s.slice(slash + 1);
  const addr = parseAddress(addrPart);
  if (!addr) return null;
  // A mapped IPv6 block (::ffff:a.b.c.d/96+) is the IPv4 block it maps.
  const mappedV4 = !addr.v6 && addrPart.includes(':');
  const max = addr.v6 ? 128 : 32;
  let prefix = max;
  if (prefixPart !== null) {
    if (!/^(0|[1-9]\d{0,2})$/.test(prefixPart)) return null;
    prefix = Number(prefixPart);
    if (mappedV4) {
      if (prefix < 96 || prefix > 128) return null;
      prefix -= 96;
    }
    if (prefix > max) return null;
  }
  for (let i = 0; i < 4; i++) {
    if ((addr.words[i]! & ~maskWord(prefix - 32 * i)) >>> 0 !== 0) return null;
  }
  return { ...addr, prefix };
}

export function cidrContains(cidr: Cidr, addr: Address): boolean {
  if (cidr.v6 !== addr.v6) return false;
  for (let i = 0; i < 4; i++) {
    const bits = cidr.prefix - 32 * i;
    if (bits <= 0) return true;
    const m = maskWord(bits);
    if (((addr.words[i]! & m) >>> 0) !== cidr.words[i]) return false;
  }
  return true;
}
