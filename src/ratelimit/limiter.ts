/**
 * ClientLimiter: one SQLite-backed Durable Object per OAuth client (named
 * `client:<client_id>`), so its counters are strongly consistent across every
 * isolate and location (DESIGN §7: never per-isolate counters).
 *
 * - `take(bucket, limit, period)`: the client's token-endpoint budget (at most
 *   `limit` requests in any `period` seconds: window.ts).
 * - `useOnce(id, until)`: single use of a `private_key_jwt` assertion's jti
 *   until its expiry — the first caller gets true, every later one false.
 *
 * Time is the object's own clock. An alarm purges spent entries hourly.
 */
import { DurableObject } from 'cloudflare:workers';
import { slidingWindow, type WindowState } from './window.js';

const KEY = /^[A-Za-z0-9._~:@/+=-]{1,256}$/;
const PURGE_EVERY_MS = 3600_000;

import type { TakeResult } from './ports.js';

export class ClientLimiter extends DurableObject {
  private readonly sql: SqlStorage;
  /** An alarm is known to be pending: skip the storage round trip that would check it on every request. */
  private alarmPending = false;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS windows (key TEXT PRIMARY KEY, state TEXT NOT NULL, until INTEGER NOT NULL)');
    this.sql.exec('CREATE TABLE IF NOT EXISTS used (id TEXT PRIMARY KEY, until INTEGER NOT NULL)');
  }

  /** Spend one request of `bucket` (limit per period). Malformed arguments are refused, never allowed. */
  async take(bucket: string, limit: number, periodSeconds: number): Promise<TakeResult> {
    if (typeof bucket !== 'string' || !KEY.test(bucket) || !Number.isSafeInteger(limit) || limit < 1 || !Number.isSafeInteger(periodSeconds) || periodSeconds < 1) {
      return { ok: false, retryAfterSeconds: 60 };
    }
    const now = Date.now();
    const row = this.sql.exec<{ state: string }>('SELECT state FROM windows WHERE key = ?', bucket).toArray()[0];
    let stored: WindowState = [];
    try {
      stored = row ? (JSON.parse(row.state) as WindowState) : [];
    } catch {
      stored = [];
    }
    const v = slidingWindow(stored, now, limit, periodSeconds);
    if (!v.ok) return { ok: false, retryAfterSeconds: v.retryAfterSeconds };
    const until = Math.floor(now / 1000) + periodSeconds;
    this.sql.exec('INSERT INTO windows (key, state, until) VALUES (?, ?, ?) ON CONFLICT(key) DO UPDATE SET state = excluded.state, until = excluded.until', bucket, JSON.stringify(v.state), until);
    await this.schedulePurge();
    return { ok: true, remaining: v.remaining };
  }

  /** True the first time `id` is presented (kept until `untilEpochSeconds`); false on any later use or bad input. */
  async useOnce(id: string, untilEpochSeconds: number): Promise<boolean> {
    if (typeof id !== 'string' || !KEY.test(id) || !Number.isSafeInteger(untilEpochSeconds) || untilEpochSeconds < 0) return false;
    const now = Math.floor(Date.now() / 1000);
    const row = this.sql.exec<{ until: number }>('SELECT until FROM used WHERE id = ?', id).toArray()[0];
    if (row && Number(row.until) > now) return false;
    this.sql.exec('INSERT INTO used (id, until) VALUES (?, ?) ON CONFLICT(id) DO UPDATE SET until = excluded.until', id, untilEpochSeconds);
    await this.schedulePurge();
    return true;
  }

  private async schedulePurge(): Promise<void> {
    if (this.alarmPending) return;
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS);
    this.alarmPending = true;
  }

  override async alarm(): Promise<void> {
    this.alarmPending = false;
    const now = Date.now();
    this.sql.exec('DELETE FROM used WHERE until <= ?', Math.floor(now / 1000));
    // A window whose last request has left it says nothing any more.
    this.sql.exec('DELETE FROM windows WHERE until <= ?', Math.floor(now / 1000));
    const left = this.sql.exec<{ n: number }>('SELECT (SELECT count(*) FROM used) + (SELECT count(*) FROM windows) AS n').one().n;
    if (Number(left) > 0) {
      await this.ctx.storage.setAlarm(now + PURGE_EVERY_MS);
      this.alarmPending = true;
    }
  }
}
