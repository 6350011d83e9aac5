/** In-memory ClientLimiterClient for Node unit tests and benchmarks (one process: its counters are exact there). */
import type { Clock } from '../platform/index.js';
import type { ClientLimiterClient } from './ports.js';
import { slidingWindow, type WindowState } from './window.js';

export function memoryLimiter(clock: Clock): ClientLimiterClient {
  const windows = new Map<string, WindowState>();
  const used = new Map<string, number>();
  return {
    async take(clientId, limit, periodSeconds = 60) {
      const v = slidingWindow(windows.get(clientId) ?? [], clock.now(), limit, periodSeconds);
      if (!v.ok) return { ok: false, retryAfterSeconds: v.retryAfterSeconds };
      windows.set(clientId, v.state);
      return { ok: true, remaining: v.remaining };
    },
    async useOnce(clientId, id, until) {
      const key = `${clientId}\n${id}`;
      const seen = used.get(key);
      if (seen !== undefined && seen > clock.now() / 1000) return false;
      used.set(key, until);
      return true;
    },
  };
}
