/**
 * Sliding-window rate limit with one-second slots: at most `limit` requests in
 * any `periodSeconds` consecutive whole seconds (a client that used its
 * minute's budget in a burst waits until the burst's first second leaves the
 * window — never `limit` more a second later). The state is at most
 * `periodSeconds` `[second, count]` pairs whatever the limit, so it is cheap to
 * keep in the ClientLimiter Durable Object's storage. Pure: time is passed in.
 */

/** `[epoch second, requests counted in it]`, oldest first. */
export type WindowState = [number, number][];

export type WindowVerdict = { ok: true; state: WindowState; remaining: number } | { ok: false; state: WindowState; retryAfterSeconds: number };

/** Decide one request at `nowMs`; the returned state replaces the stored one. */
export function slidingWindow(stored: WindowState, nowMs: number, limit: number, periodSeconds: number): WindowVerdict {
  const now = Math.floor(nowMs / 1000);
  const state = stored.filter(([sec, n]) => sec > now - periodSeconds && sec <= now && n > 0);
  const total = state.reduce((sum, [, n]) => sum + n, 0);
  if (total >= limit) {
    // Wait until enough of the oldest seconds have left the window for one more request.
    let freed = 0;
    for (const [sec, n] of state) {
      freed += n;
      if (total - freed < limit) return { ok: false, state, retryAfterSeconds: Math.max(1, sec + periodSeconds - now) };
    }
    return { ok: false, state, retryAfterSeconds: periodSeconds };
  }
  const last = state[state.length - 1];
  if (last && last[0] === now) last[1] += 1;
  else state.push([now, 1]);
  return { ok: true, state, remaining: limit - total - 1 };
}
