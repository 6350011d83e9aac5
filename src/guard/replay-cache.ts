/**
 * Single-use memory for `jti`s (DESIGN §6). Each jti is kept until its
 * assertion's `exp` plus skew and then forgotten; the cache is bounded and,
 * when full, refuses rather than evicting an unexpired jti (which would reopen
 * a replay window).
 *
 * Layout: one `Set` of jti strings answers "seen?"; jtis are also filed in
 * one-second buckets by expiry (arrays of the same string references, so each
 * jti is stored once), and a small min-heap of bucket seconds says which bucket
 * expires next. Expired buckets are drained a bounded number of entries per
 * call, so no single request pays for a large sweep, except when the cache is
 * at its limit — then everything expired is drained before answering "full".
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
  /** Most expired entries drained per call outside the "full" path (default 512). */
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

class BucketedReplayCache implements ReplayCache {
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

  checkAndInsert(jti: string, expiresAtMs: number, nowMs: number): ReplayCheck {
    this.prune(nowMs, this.pruneBudget);
    if (this.seen.has(jti)) return 'replayed';
    if (this.seen.size >= this.maxEntries) {
      this.prune(nowMs, Infinity);
      if (this.seen.size >= this.maxEntries) return 'full';
    }
    // Round up: an entry may outlive its expiry by < 1 s, never the reverse.
    const second = Math.ceil(expiresAtMs / 1000);
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

/** An in-memory, bounded replay cache for one guard process. */
export function createReplayCache(options: ReplayCacheOptions = {}): ReplayCache {
  const maxEntries = options.maxEntries ?? DEFAULT_REPLAY_CACHE_MAX_ENTRIES;
  const pruneBudget = options.pruneBudget ?? 512;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) throw new RangeError('maxEntries must be a positive integer');
  if (!(pruneBudget >= 1)) throw new RangeError('pruneBudget must be >= 1');
  return new BucketedReplayCache(maxEntries, pruneBudget);
}
