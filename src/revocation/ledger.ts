/**
 * RevocationLedger: the strongly consistent record of revoked session ids
 * (DESIGN §7). SQLite-backed Durable Object, sharded by a hash of the sid into
 * REVOCATION_SHARDS named instances. An entry lives until the session's own
 * absolute expiry (after that the session is dead anyway); an alarm purges
 * expired entries.
 */
import { DurableObject } from 'cloudflare:workers';

const SID = /^[A-Za-z0-9_-]{1,128}$/;
const PRINCIPAL = /^service:[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
const PURGE_EVERY_MS = 3600_000;

export class RevocationLedger extends DurableObject {
  private readonly sql: SqlStorage;

  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    this.sql = ctx.storage.sql;
    this.sql.exec('CREATE TABLE IF NOT EXISTS revoked (sid TEXT PRIMARY KEY, until INTEGER NOT NULL)');
    // Service principals (docs/services.md): tokens issued before not_before are dead; disabled refuses all.
    this.sql.exec('CREATE TABLE IF NOT EXISTS principals (subject TEXT PRIMARY KEY, not_before INTEGER NOT NULL, disabled INTEGER NOT NULL)');
  }

  /**
   * Set a service principal's state: `disabled` refuses every token of it; a
   * token whose `iat` is before `notBefore` (epoch s) is refused. The later
   * not-before wins (a re-enable never revives older tokens). Kept while the
   * principal exists (one row per service: no purge).
   */
  async setPrincipal(subject: string, disabled: boolean, notBefore: number): Promise<void> {
    if (typeof subject !== 'string' || !PRINCIPAL.test(subject)) throw new Error('invalid principal');
    if (!Number.isSafeInteger(notBefore) || notBefore < 0 || typeof disabled !== 'boolean') throw new Error('invalid principal state');
    this.sql.exec(
      `INSERT INTO principals (subject, not_before, disabled) VALUES (?, ?, ?)
       ON CONFLICT(subject) DO UPDATE SET not_before = max(not_before, excluded.not_before), disabled = excluded.disabled`,
      subject,
      notBefore,
      disabled ? 1 : 0,
    );
  }

  /** A principal's state; a malformed subject counts as disabled (fail closed). */
  async principal(subject: string): Promise<{ disabled: boolean; notBefore: number }> {
    if (typeof subject !== 'string' || !PRINCIPAL.test(subject)) return { disabled: true, notBefore: 0 };
    const row = this.sql.exec<{ not_before: number; disabled: number }>('SELECT not_before, disabled FROM principals WHERE subject = ?', subject).toArray()[0];
    return row ? { disabled: Number(row.disabled) === 1, notBefore: Number(row.not_before) } : { disabled: false, notBefore: 0 };
  }

  /** Record `sid` as revoked until `untilEpochSeconds` (idempotent; the later expiry wins). */
  async revoke(sid: string, untilEpochSeconds: number): Promise<void> {
    if (typeof sid !== 'string' || !SID.test(sid)) throw new Error('invalid session id');
    if (!Number.isSafeInteger(untilEpochSeconds) || untilEpochSeconds < 0) throw new Error('invalid expiry');
    this.sql.exec(
      'INSERT INTO revoked (sid, until) VALUES (?, ?) ON CONFLICT(sid) DO UPDATE SET until = max(until, excluded.until)',
      sid,
      untilEpochSeconds,
    );
    if ((await this.ctx.storage.getAlarm()) === null) await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS);
  }

  /** True while a revocation for `sid` is on record and not past its expiry. A malformed sid counts as revoked. */
  async isRevoked(sid: string): Promise<boolean> {
    if (typeof sid !== 'string' || !SID.test(sid)) return true;
    const now = Math.floor(Date.now() / 1000);
    const rows = this.sql.exec<{ until: number }>('SELECT until FROM revoked WHERE sid = ?', sid).toArray();
    return rows.length > 0 && Number(rows[0]!.until) > now;
  }

  override async alarm(): Promise<void> {
    const now = Math.floor(Date.now() / 1000);
    this.sql.exec('DELETE FROM revoked WHERE until <= ?', now);
    const left = this.sql.exec<{ n: number }>('SELECT count(*) AS n FROM revoked').one().n;
    if (Number(left) > 0) await this.ctx.storage.setAlarm(Date.now() + PURGE_EVERY_MS);
  }
}
