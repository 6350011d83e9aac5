/**
 * Generic cell rate algorithm: `limit` requests per `periodSeconds`, with a
 * burst of `limit` (a client that was idle may use its whole minute at once,
 * then gets one request every period/limit). Pure: the state is one number,
 * the theoretical arrival time (TAT, epoch ms), kept by the caller (the
 * ClientLimiter Durable Object).
 */

export type Verdict = { ok: true; tat: number; remaining: number } | { ok: false; tat: number; retryAfterSeconds: number };

/** Decide one request at `now` (epoch ms) given the stored TAT (0 when none). */
export function gcra(storedTat: number, now: number, limit: number, periodSeconds: number): Verdict {
  const period = periodSeconds * 1000;
  const interval = period / limit;
  const tat = Math.max(storedTat, now);
  const next = tat + interval;
  if (next - now > period) {
    // Allowed again once the TAT has drained to `now + period - interval`.
    return { ok: false, tat: storedTat, retryAfterSeconds: Math.max(1, Math.ceil((next - now - period) / 1000)) };
  }
  return { ok: true, tat: next, remaining: Math.floor((period - (next - now)) / interval) };
}
