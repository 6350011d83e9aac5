/**
 * Path, workload and method patterns, compiled once.
 *
 * Paths are matched on the raw path the workload receives: no decoding, so
 * `%2F` is three literal characters, never a separator. Wildcards never match a
 * dot-segment (`.`, `..`, or their `%2e` spellings) and globs may not contain
 * one, so a path with a dot-segment matches no glob at all: a workload that
 * normalises `/public/../admin` would otherwise be reachable through `/public/**`.
 *
 * No RegExp: the matchers below are O(path × pattern) in the worst case, so no
 * pattern an admin writes can make a request path backtrack exponentially.
 */

/** Why a pattern was refused; the caller turns it into a config error with a location. */
export class PatternError extends Error {}

const MAX_PATTERN_LENGTH = 1024;
const MAX_STARS = 16;
const DOT_SEGMENT_RE = /^(?:\.|%2e){1,2}$/i;

/** A request path, split once per decision and shared by every matcher. */
export interface PathInfo {
  raw: string;
  segments: string[];
  /** Some segment is ".", ".." or a percent-encoded spelling of one. */
  hasDotSegment: boolean;
}

export function pathInfo(raw: string): PathInfo {
  const segments = raw.startsWith('/') ? raw.slice(1).split('/') : [];
  let hasDotSegment = false;
  for (const s of segments) {
    if (s.length <= 6 && s.length > 0 && DOT_SEGMENT_RE.test(s)) {
      hasDotSegment = true;
      break;
    }
  }
  return { raw, segments, hasDotSegment };
}

/** "*"-glob over one string: the pieces between stars, matched greedily (correct for "*"-only globs, linear per piece). */
class StarPattern {
  constructor(private readonly parts: string[]) {}

  test(s: string): boolean {
    const parts = this.parts;
    const first = parts[0]!;
    const last = parts[parts.length - 1]!;
    if (s.length < first.length + last.length || !s.startsWith(first) || !s.endsWith(last)) return false;
    let at = first.length;
    const end = s.length - last.length;
    for (let i = 1; i < parts.length - 1; i++) {
      const found = s.indexOf(parts[i]!, at);
      if (found === -1 || found + parts[i]!.length > end) return false;
      at = found + parts[i]!.length;
    }
    return true;
  }
}

/** One glob segment: "**" (any number of segments), a literal, or a "*" pattern. */
type SegmentPattern = { any: true } | { any: false; literal: string } | { any: false; literal: null; star: StarPattern };

function segmentMatches(p: SegmentPattern, s: string): boolean {
  if (p.any) return false;
  return p.literal !== null ? p.literal === s : p.star.test(s);
}

/** Classic single-backtrack wildcard matching over segments: O(segments × pattern). */
function matchSegments(pattern: SegmentPattern[], segs: string[]): boolean {
  let i = 0;
  let j = 0;
  let starJ = -1;
  let resumeI = 0;
  while (i < segs.length) {
    const p = pattern[j];
    if (p !== undefined && !p.any && segmentMatches(p, segs[i]!)) {
      i++;
      j++;
    } else if (p !== undefined && p.any) {
      starJ = j++;
      resumeI = i;
    } else if (starJ !== -1) {
      j = starJ + 1;
      i = ++resumeI;
    } else {
      return false;
    }
  }
  while (j < pattern.length && pattern[j]!.any) j++;
  return j === pattern.length;
}

function splitStars(s: string): StarPattern {
  return new StarPattern(s.split(/\*+/));
}

/** A compiled list of path globs: exact paths in a Set, "<prefix>/**" as prefixes, the rest as segment patterns. */
export class PathMatcher {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];
  private readonly general: SegmentPattern[][] = [];

  add(glob: unknown): void {
    if (typeof glob !== 'string') throw new PatternError('path glob must be a string');
    if (glob.length === 0 || glob.length > MAX_PATTERN_LENGTH) throw new PatternError('path glob must be 1..1024 characters');
    if (glob[0] !== '/') throw new PatternError('path glob must start with "/"');
    // eslint-disable-next-line no-control-regex
    if (/[\x00-\x20\x7f?#]/.test(glob)) throw new PatternError('path glob must not contain spaces, control characters, "?" or "#"');

    const pattern: SegmentPattern[] = [];
    let stars = 0;
    for (const seg of glob.slice(1).split('/')) {
      if (seg === '**') {
        // Consecutive "**" mean the same as one.
        if (!pattern[pattern.length - 1]?.any) pattern.push({ any: true });
        stars++;
        continue;
      }
      if (seg.includes('**')) throw new PatternError('"**" must be a whole path segment');
      if (DOT_SEGMENT_RE.test(seg)) throw new PatternError('path glob must not contain "." or ".." segments');
      if (seg.includes('*')) {
        stars += seg.split('*').length - 1;
        pattern.push({ any: false, literal: null, star: splitStars(seg) });
      } else {
        pattern.push({ any: false, literal: seg });
      }
    }
    if (stars > MAX_STARS) throw new PatternError('path glob has too many wildcards');

    if (stars === 0) {
      this.exact.add(glob);
      return;
    }
    const lastIsAny = pattern[pattern.length - 1]!.any;
    const wildcardsBeforeLast = pattern.slice(0, -1).some((p) => p.any || p.literal === null);
    if (lastIsAny && !wildcardsBeforeLast) {
      // "/a/b/**": the path is "/a/b" or starts with "/a/b/".
      this.prefixes.push(glob.slice(0, -3));
      return;
    }
    this.general.push(pattern);
  }

  matches(p: PathInfo): boolean {
    if (p.hasDotSegment || p.raw[0] !== '/') return false;
    if (this.exact.has(p.raw)) return true;
    // "/**" has the empty prefix: every absolute path starts with "" + "/".
    for (const prefix of this.prefixes) if (p.raw === prefix || p.raw.startsWith(prefix + '/')) return true;
    for (const pattern of this.general) if (matchSegments(pattern, p.segments)) return true;
    return false;
  }

  /** Convenience for tests and one-off checks; the evaluator reuses one PathInfo per decision. */
  test(raw: string): boolean {
    return this.matches(pathInfo(raw));
  }
}

/** One matcher for a non-empty list of path globs. */
export function compilePathGlobs(globs: unknown): PathMatcher {
  if (!Array.isArray(globs) || globs.length === 0) throw new PatternError('paths must be a non-empty array of globs');
  const m = new PathMatcher();
  for (const g of globs) m.add(g);
  return m;
}

export type WorkloadPattern = { exact: string } | { glob: StarPattern; source: string };

/** Workload id or glob: "*" matches any run of characters (workload ids have no "/"). */
export function compileWorkloadPattern(pattern: unknown): WorkloadPattern {
  if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > 256) {
    throw new PatternError('workload must be a non-empty string of at most 256 characters');
  }
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x20\x7f/]/.test(pattern)) throw new PatternError('workload must not contain spaces, control characters or "/"');
  if (!pattern.includes('*')) return { exact: pattern };
  const star = splitStars(pattern);
  if (pattern.split('*').length - 1 > MAX_STARS) throw new PatternError('workload glob has too many wildcards');
  return { glob: star, source: pattern };
}

export type { StarPattern };

const METHOD_RE = /^[A-Z][A-Z-]{0,31}$/;

/** null = any method. Methods are case-sensitive (RFC 9110), so configuration must be upper case. */
export function compileMethods(methods: unknown): Set<string> | null {
  if (!Array.isArray(methods) || methods.length === 0) throw new PatternError('methods must be a non-empty array');
  const out = new Set<string>();
  for (const m of methods) {
    if (m !== '*' && (typeof m !== 'string' || !METHOD_RE.test(m))) throw new PatternError('methods must be upper-case HTTP method names or "*"');
    out.add(m as string);
  }
  return out.has('*') ? null : out;
}
