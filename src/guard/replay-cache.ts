/**
 * Single-use memory for `jti`s (DESIGN §6). Each jti is kept until its
 * assertion's `exp` plus skew and then forgotten; the cache is bounded and,
 * when full, refuses rather than evicting an unexpired jti (which would reopen
 * a replay window).
 *
 * Two stores behind one interface:
 *
 * - jtis as the gateway mints them (16 random bytes, canonical base64url: 22
 *   characters) live in a typed-array hash table: the 16 bytes as four 32-bit
 *   words plus the expiry second, 20 bytes a slot, linear probing. Expired
 *   slots are reused in place and cleared by a sweep of a few slots per call
 *   (backward-shift deletion, so no probe chain is ever broken); when an insert
 *   would take the load above 3/4 the table is rebuilt with only the unexpired
 *   entries at a load of 0.6. bench/guard, 10,000 jtis/s held 35 s: ~10 MiB,
 *   where a `Set` of the strings took 36 MiB (and the strings alone take 16).
 * - any other jti string (legal, never minted by the gateway) goes to a `Set`
 *   of strings, filed in one-second buckets by expiry (arrays of the same
 *   string references, so each jti is stored once), with a small min-heap of
 *   bucket seconds that says which bucket expires next. Expired buckets are
 *   drained a bounded number of entries per call.
 *
 * No single request pays for a large sweep, except when the cache is at its
 * limit — then what has expired is dropped before answering "full" (at most
 * once per second that something can have expired in) — and when the table
 * is rebuilt to grow, which is linear in its size as any hash table's growth
 * is (~25 % more room each time, so it happens as the rate climbs, not in a
 * steady state). The limit counts both stores together.
 */

/** Outcome of {@link ReplayCache.checkAndInsert}. */
export type ReplayCheck = 'fresh' | 'replayed' | 'full';

/** A jti store with synchronous check-and-insert (atomic within one JS thread). */
export interface ReplayCache {
  /**
   * Record `jti` as used until `expiresAtMs` and answer `fresh`; answer
   * `replayed` if it is already recorded, `full` if there is no room. Synchronous
   * on purpose: no other verification can run between the check and the insert.
   */
  checkAndInsert(jti: string, expiresAtMs: number, nowMs: number): ReplayCheck;
  /** Number of jtis held (expired ones not yet drained included). */
  readonly size: number;
}

/** Options of {@link createReplayCache}. */
export interface ReplayCacheOptions {
  /** Most jtis held at once (default 1,000,000). */
  maxEntries?: number;
  /** Most expired entries drained per call outside the "full" path, in the store for other jtis (default 512). */
  pruneBudget?: number;
}

/** Default bound: at 10,000 assertions/s and 65 s retention the cache holds ~650,000. */
export const DEFAULT_REPLAY_CACHE_MAX_ENTRIES = 1_000_000;

class MinHeap {
  private readonly items: number[] = [];

  get length(): number {
    return this.items.length;
  }

  peek(): number | undefined {
    return this.items[0];
  }

  push(value: number): void {
    const a = this.items;
    a.push(value);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (a[parent]! <= value) break;
      a[i] = a[parent]!;
      i = parent;
    }
    a[i] = value;
  }

  pop(): number | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= a.length) break;
      const r = l + 1;
      const child = r < a.length && a[r]! < a[l]! ? r : l;
      if (a[child]! >= last) break;
      a[i] = a[child]!;
      i = child;
    }
    a[i] = last;
    return top;
  }
}

const B64URL = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) B64URL['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.charCodeAt(i)] = i;

function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? B64URL[c]! : -1;
}

/**
 * A jti as the gateway mints it — 16 bytes, canonical base64url (22
 * characters, no padding) — into `out` as four big-endian 32-bit words. False
 * for any other string, including a non-canonical spelling of 16 bytes (the
 * last character's 4 unused bits set), so each stored value has one spelling.
 */
export function decodeJti16(jti: string, out: Uint32Array): boolean {
  if (jti.length !== 22) return false;
  // Five groups of four characters give 15 bytes; the last two characters give the 16th.
  let word = 0;
  let bytes = 0;
  for (let i = 0; i < 20; i += 4) {
    const a = sextet(jti, i);
    const b = sextet(jti, i + 1);
    const c = sextet(jti, i + 2);
    const d = sextet(jti, i + 3);
    if ((a | b | c | d) < 0) return false;
    const triple = (a << 18) | (b << 12) | (c << 6) | d;
    for (let shift = 16; shift >= 0; shift -= 8) {
      word = ((word << 8) | ((triple >>> shift) & 0xff)) >>> 0;
      if ((++bytes & 3) === 0) {
        out[(bytes >>> 2) - 1] = word;
        word = 0;
      }
    }
  }
  const a = sextet(jti, 20);
  const b = sextet(jti, 21);
  if ((a | b) < 0 || (b & 15) !== 0) return false;
  out[3] = ((word << 8) | (a << 2) | (b >>> 4)) >>> 0;
  return true;
}

/** Words per slot: the jti's four, then its expiry second (0: the slot is empty). */
const SLOT = 5;
const MIN_SLOTS = 1024;
/** Slots the sweep looks at per call. */
const SWEEP_PER_CALL = 16;
/** Load after a rebuild; the table is rebuilt (grown) when an insert would take it above 3/4. */
const TARGET_LOAD = 0.6;

/** A key's hash, all four words mixed (uint32; {@link Jti16Table} maps it onto its slots). */
function slotHash(k0: number, k1: number, k2: number, k3: number): number {
  let h = Math.imul(k0 ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15) ^ k1, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 13) ^ k2, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 16) ^ k3, 0xc2b2ae35);
  return (h ^ (h >>> 15)) >>> 0;
}

function putSlot(s: Uint32Array, o: number, k0: number, k1: number, k2: number, k3: number, second: number): void {
  s[o] = k0;
  s[o + 1] = k1;
  s[o + 2] = k2;
  s[o + 3] = k3;
  s[o + 4] = second;
}

/** 16-byte jtis in one Uint32Array, open addressing with linear probing (see the module comment). */
class Jti16Table {
  private slots = new Uint32Array(MIN_SLOTS * SLOT);
  private capacity = MIN_SLOTS;
  /** capacity / 2^32: a hash times this, floored, is its home slot (any capacity, no modulo). */
  private scale = MIN_SLOTS / 2 ** 32;
  /** Occupied slots, expired ones not yet cleared included. */
  private used = 0;
  private cursor = 0;
  /** No held entry expires before this second (a lower bound, exact after a rebuild). */
  private earliest = Infinity;

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.used;
  }

  /** `second`: the expiry second, 1 … 2^32 − 1. `others`: entries held elsewhere that count against the same limit. */
  checkAndInsert(key: Uint32Array, second: number, nowMs: number, others: number): ReplayCheck {
    this.sweep(nowMs);
    const k0 = key[0]!;
    const k1 = key[1]!;
    const k2 = key[2]!;
    const k3 = key[3]!;
    for (let rebuilt = false; ; rebuilt = true) {
      const s = this.slots;
      const capacity = this.capacity;
      let i = Math.floor(slotHash(k0, k1, k2, k3) * this.scale);
      let reusable = -1;
      for (;;) {
        const o = i * SLOT;
        const exp = s[o + 4]!;
        if (exp === 0) break;
        if (s[o] === k0 && s[o + 1] === k1 && s[o + 2] === k2 && s[o + 3] === k3) {
          if (exp * 1000 > nowMs) return 'replayed';
          // Its earlier use has expired: the jti is new again, in the same slot.
          this.write(i, k0, k1, k2, k3, second);
          return 'fresh';
        }
        if (reusable < 0 && exp * 1000 <= nowMs) reusable = i;
        i = i + 1 === capacity ? 0 : i + 1;
      }
      // Not held. An expired slot on the way is reused in place (the probe chain stays intact) …
      if (reusable >= 0) {
        this.write(reusable, k0, k1, k2, k3, second);
        return 'fresh';
      }
      // … else it takes the empty slot the probe ended at, if the limit and the load allow.
      if (this.used + others >= this.maxEntries) {
        // At the limit: drop what has expired (at most once per second that something can have expired in).
        if (rebuilt || this.earliest * 1000 > nowMs) return 'full';
        this.rebuild(nowMs);
        continue;
      }
      if ((this.used + 1) * 4 > capacity * 3) {
        this.rebuild(nowMs);
        continue;
      }
      this.write(i, k0, k1, k2, k3, second);
      this.used++;
      return 'fresh';
    }
  }

  private write(i: number, k0: number, k1: number, k2: number, k3: number, second: number): void {
    putSlot(this.slots, i * SLOT, k0, k1, k2, k3, second);
    if (second < this.earliest) this.earliest = second;
  }

  /** Clear expired slots among the next few (a full pass every capacity / SWEEP_PER_CALL calls). */
  private sweep(nowMs: number): void {
    const s = this.slots;
    const capacity = this.capacity;
    let c = this.cursor;
    for (let n = 0; n < SWEEP_PER_CALL; n++) {
      const exp = s[c * SLOT + 4]!;
      if (exp !== 0 && exp * 1000 <= nowMs) {
        this.remove(c); // another entry may have moved into c: look at c again
        continue;
      }
      c = c + 1 === capacity ? 0 : c + 1;
    }
    this.cursor = c;
  }

  /** Empty slot `i` without breaking any probe chain (backward-shift deletion). */
  private remove(i: number): void {
    const s = this.slots;
    const capacity = this.capacity;
    let hole = i;
    let j = i;
    for (;;) {
      j = j + 1 === capacity ? 0 : j + 1;
      const o = j * SLOT;
      if (s[o + 4] === 0) break;
      const home = Math.floor(slotHash(s[o]!, s[o + 1]!, s[o + 2]!, s[o + 3]!) * this.scale);
      // The entry at j stays if its home lies cyclically in (hole, j]; else it moves back into the hole.
      const stays = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (stays) continue;
      s.copyWithin(hole * SLOT, o, o + SLOT);
      hole = j;
    }
    s.fill(0, hole * SLOT, hole * SLOT + SLOT);
    this.used--;
  }

  /** A fresh table with only the unexpired entries, sized for a load of {@link TARGET_LOAD} after. */
  private rebuild(nowMs: number): void {
    const old = this.slots;
    let live = 0;
    for (let o = 4; o < old.length; o += SLOT) if (old[o] !== 0 && old[o]! * 1000 > nowMs) live++;
    const capacity = Math.max(MIN_SLOTS, Math.ceil((live + 1) / TARGET_LOAD));
    const scale = capacity / 2 ** 32;
    const s = new Uint32Array(capacity * SLOT);
    let earliest = Infinity;
    for (let o = 0; o < old.length; o += SLOT) {
      const exp = old[o + 4]!;
      if (exp === 0 || exp * 1000 <= nowMs) continue;
      const k0 = old[o]!;
      const k1 = old[o + 1]!;
      const k2 = old[o + 2]!;
      const k3 = old[o + 3]!;
      let i = Math.floor(slotHash(k0, k1, k2, k3) * scale);
      while (s[i * SLOT + 4] !== 0) i = i + 1 === capacity ? 0 : i + 1;
      putSlot(s, i * SLOT, k0, k1, k2, k3, exp);
      if (exp < earliest) earliest = exp;
    }
    this.slots = s;
    this.capacity = capacity;
    this.scale = scale;
    this.used = live;
    this.cursor = 0;
    this.earliest = earliest;
  }
}

/** Any jti string, in a Set, filed by expiry second (see the module comment). */
class StringJtiStore {
  private readonly seen = new Set<string>();
  private readonly buckets = new Map<number, string[]>();
  private readonly heap = new MinHeap();

  constructor(
    private readonly maxEntries: number,
    private readonly pruneBudget: number,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** `others`: entries held elsewhere that count against the same limit. */
  checkAndInsert(jti: string, second: number, nowMs: number, others: number): ReplayCheck {
    this.prune(nowMs, this.pruneBudget);
    if (this.seen.has(jti)) return 'replayed';
    if (this.seen.size + others >= this.maxEntries) {
      this.prune(nowMs, Infinity);
      if (this.seen.size + others >= this.maxEntries) return 'full';
    }
    let bucket = this.buckets.get(second);
    if (bucket === undefined) {
      bucket = [];
      this.buckets.set(second, bucket);
      this.heap.push(second);
    }
    bucket.push(jti);
    this.seen.add(jti);
    return 'fresh';
  }

  private prune(nowMs: number, budget: number): void {
    let left = budget;
    for (;;) {
      const second = this.heap.peek();
      if (second === undefined || second * 1000 > nowMs) return;
      const bucket = this.buckets.get(second)!;
      while (bucket.length > 0) {
        if (left <= 0) return;
        this.seen.delete(bucket.pop()!);
        left--;
      }
      this.buckets.delete(second);
      this.heap.pop();
    }
  }
}

/** The two stores behind one {@link ReplayCache}; the limit counts both. */
class TwoStoreReplayCache implements ReplayCache {
  private readonly key = new Uint32Array(4);

  constructor(
    private readonly table: Jti16Table,
    private readonly strings: StringJtiStore,
  ) {}

  get size(): number {
    return this.table.size + this.strings.size;
  }

  checkAndInsert(jti: string, expiresAtMs: number, nowMs: number): ReplayCheck {
    // Round up: an entry may outlive its expiry by < 1 s, never the reverse.
    const second = Math.ceil(expiresAtMs / 1000);
    if (second >= 1 && second < 2 ** 32 && decodeJti16(jti, this.key)) return this.table.checkAndInsert(this.key, second, nowMs, this.strings.size);
    return this.strings.checkAndInsert(jti, second, nowMs, this.table.size);
  }
}

/** An in-memory, bounded replay cache for one guard process. */
export function createReplayCache(options: ReplayCacheOptions = {}): ReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES;
  const pruneBudget = options.pruneBudget ?? 512;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  if (!(pruneBudget >= 1)) throw new RangeError('pruneBudget must be >= 1');
  return new TwoStoreReplayCache(new Jti16Table(maxEntries), new StringJtiStore(maxEntries, pruneBudget));
}
