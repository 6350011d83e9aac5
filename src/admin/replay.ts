/**
 * Replay: re-evaluate recorded decisions against a candidate policy and report
 * which would flip (allow → deny, deny → allow). Pure: the caller compiles the
 * candidate ONCE and hands over the recorded decisions; each record costs one
 * `evaluate()` (microseconds), so 10,000 records fit in one request.
 *
 * Each record is replayed at its own recorded time (`input.time`), with the
 * facts it was recorded with: a flip is caused by the policy difference only,
 * never by a binding that has since expired. Records without a normalised
 * input (no session, truncated) are counted as skipped.
 */
import { inputOf, type DecisionEvent } from '../audit/index.js';
import { evaluate, type Decision, type ReasonCode, type Snapshot } from '../policy/index.js';

/** The part of a stored decision record replay reads. */
export type ReplayRecord = Pick<DecisionEvent, 'requestId' | 'subject' | 'workload' | 'method' | 'path' | 'at' | 'decision' | 'reasons' | 'input' | 'truncated'>;

export interface FlipExample {
  requestId: string;
  subject: string | null;
  workload: string;
  method: string;
  path: string;
  /** Epoch milliseconds of the recorded decision. */
  at: number;
  old: { decision: 'allow' | 'deny'; reasons: string[] };
  new: { decision: 'allow' | 'deny'; reasons: ReasonCode[]; matched?: Decision['matched'] };
}

export interface ReplayReport {
  /** Records re-evaluated. */
  evaluated: number;
  /** Records that could not be replayed (no recorded input, truncated, malformed). */
  skipped: number;
  /** Same effect as recorded. */
  unchanged: number;
  /** Same effect, different reasons (e.g. a deny that now has another cause). */
  reasonsChanged: number;
  flips: { allowToDeny: number; denyToAllow: number };
  /** Flip counts per workload, only workloads with at least one flip. */
  byWorkload: Record<string, { allowToDeny: number; denyToAllow: number }>;
  /** Up to `maxExamples` of each kind, newest first (the order records were given in). */
  examples: { allowToDeny: FlipExample[]; denyToAllow: FlipExample[] };
  /** Recorded times (epoch ms) of the oldest and newest evaluated record; null when none. */
  range: { from: number | null; to: number | null };
}

export interface ReplayOptions {
  /** Examples kept per flip direction (default 20). */
  maxExamples?: number;
}

function sameReasons(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

/** An accumulator, so records can be streamed in pages from storage. */
export function createReplay(candidate: Snapshot, options: ReplayOptions = {}) {
  const maxExamples = options.maxExamples ?? 20;
  const report: ReplayReport = {
    evaluated: 0,
    skipped: 0,
    unchanged: 0,
    reasonsChanged: 0,
    flips: { allowToDeny: 0, denyToAllow: 0 },
    byWorkload: {},
    examples: { allowToDeny: [], denyToAllow: [] },
    range: { from: null, to: null },
  };

  function add(record: ReplayRecord): void {
    let input: ReturnType<typeof inputOf> = null;
    try {
      // Stored records are data: anything unexpected in one is a skip, never a failed replay.
      if (record !== null && typeof record === 'object' && (record.decision === 'allow' || record.decision === 'deny') && Array.isArray(record.reasons)) {
        input = inputOf(record);
      }
    } catch {
      input = null;
    }
    if (input === null) {
      report.skipped++;
      return;
    }
    const d = evaluate(candidate, input);
    report.evaluated++;
    if (typeof record.at === 'number') {
      report.range.from = report.range.from === null ? record.at : Math.min(report.range.from, record.at);
      report.range.to = report.range.to === null ? record.at : Math.max(report.range.to, record.at);
    }
    if (d.effect === record.decision) {
      if (sameReasons(d.reasons, record.reasons)) report.unchanged++;
      else report.reasonsChanged++;
      return;
    }
    const dir = record.decision === 'allow' ? 'allowToDeny' : 'denyToAllow';
    report.flips[dir]++;
    const w = (report.byWorkload[record.workload] ??= { allowToDeny: 0, denyToAllow: 0 });
    w[dir]++;
    if (report.examples[dir].length < maxExamples) {
      const example: FlipExample = {
        requestId: record.requestId,
        subject: record.subject,
        workload: record.workload,
        method: record.method,
        path: record.path,
        at: record.at,
        old: { decision: record.decision, reasons: [...record.reasons] },
        new: { decision: d.effect, reasons: d.reasons },
      };
      if (d.matched) example.new.matched = d.matched;
      report.examples[dir].push(example);
    }
  }

  return {
    add,
    addAll(records: Iterable<ReplayRecord>): void {
      for (const r of records) add(r);
    },
    report(): ReplayReport {
      return report;
    },
  };
}

/** Replay `records` against the compiled `candidate`. */
export function replay(candidate: Snapshot, records: Iterable<ReplayRecord>, options: ReplayOptions = {}): ReplayReport {
  const r = createReplay(candidate, options);
  r.addAll(records);
  return r.report();
}
