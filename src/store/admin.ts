/**
 * The admin API's storage port and its D1 adapter: versioned reads of the
 * configuration, paged lists, and `commit` — an admin change, its audit
 * record(s) and the configuration version bump as ONE D1 batch that happens
 * entirely or not at all.
 *
 * How a batch that cannot branch (DESIGN §9) still refuses a stale write:
 *
 *   1. gate:   INSERT INTO config_writes (token, …) SELECT … WHERE meta.policy_version = <base>
 *   2. checks: DELETE FROM config_writes WHERE token = … AND NOT <expectation>   (If-Match version, id free)
 *   3. writes: every INSERT/UPDATE/DELETE … WHERE EXISTS (config_writes row with the token)
 *   4. audit:  INSERT INTO audit … SELECT … WHERE EXISTS (same)
 *   5. bump:   UPDATE meta SET policy_version = <base + 1> WHERE EXISTS (same)
 *   6. close:  DELETE FROM config_writes WHERE token = … RETURNING token   → committed iff a row comes back
 *
 * The token is 128 random bits, so no other write's row can satisfy a check.
 * Writes are serialised on the configuration version: a change validated
 * against version V commits only while V is current, so two concurrent writes
 * can never together store a policy that `compile()` would refuse; the caller
 * retries on a moved base when its own If-Match still holds.
 */
import { TollgateError } from '../errors.js';
import { guarded } from './guarded.js';
import { ADMIN_SQL as SQL } from './admin-sql.js';
import { grantRowId } from './keys.js';
import { decodeRows, sessionFromRow, type Rows } from './rows.js';
import type { SessionRecord } from './ports.js';
import type { AdminStore, BindingFilter, ChangeRecord, ConfigKind, ConfigOp, Versioned } from './admin-ports.js';

export * from './admin-ports.js';

export interface D1AdminStoreBindings {
  DB: D1Database;
}


type Row = Record<string, unknown>;
const EMPTY: Rows = { roles: [], grants: [], bindings: [], denyRules: [], workloads: [], hosts: [], endpoints: [] };

function versioned<T extends { id: string }>(values: T[], rows: Row[]): Versioned<T>[] {
  const versions = new Map(rows.map((r) => [String(r.id), Number(r.version)]));
  return values.map((value) => ({ value, version: versions.get(value.id) ?? 1 }));
}

function auditData(r: ChangeRecord, version: string | null): string {
  return JSON.stringify({
    action: r.action,
    resource: r.resource,
    id: r.id,
    actor_via: r.actor.via,
    before: r.before ?? null,
    after: r.after ?? null,
    ...(version === null ? {} : { version }),
  });
}

export function createD1AdminStore({ DB }: D1AdminStoreBindings): AdminStore {
  const all = async (sql: string, ...params: unknown[]): Promise<Row[]> => (await DB.prepare(sql).bind(...params).all<Row>()).results;

  function opStatements(token: string, version: number, op: ConfigOp): D1PreparedStatement[] {
    const s = (sql: string, ...params: unknown[]) => DB.prepare(sql).bind(token, ...params);
    if (op.type === 'delete') {
      switch (op.kind) {
        case 'role':
          return [s(SQL.deleteGrants, op.id), s(SQL.deleteRole, op.id)];
        case 'binding':
          return [s(SQL.deleteBinding, op.id)];
        case 'deny-rule':
          return [s(SQL.deleteDenyRule, op.id)];
        case 'workload':
          return [s(SQL.deleteWorkloadHosts, op.id), s(SQL.deleteEndpoints, op.id), s(SQL.deleteWorkload, op.id)];
      }
    }
    switch (op.kind) {
      case 'role': {
        const r = op.value;
        return [
          s(SQL.putRole, r.id, r.description ?? '', JSON.stringify(r.permissions), version),
          s(SQL.deleteGrants, r.id),
          ...r.grants.map((g, i) =>
            s(SQL.insertGrant, grantRowId(r.id, g.id), r.id, g.workload, JSON.stringify(g.methods), JSON.stringify(g.paths), JSON.stringify(g.conditions ?? {}), i),
          ),
        ];
      }
      case 'binding': {
        const b = op.value;
        return [s(SQL.putBinding, b.id, b.subject.kind, b.subject.value, b.roleId, b.notBefore ?? null, b.expiresAt ?? null, b.reason ?? '', version)];
      }
      case 'deny-rule': {
        const d = op.value;
        return [
          s(
            SQL.putDenyRule,
            d.id,
            JSON.stringify(d.subjects),
            d.workload,
            JSON.stringify(d.methods ?? ['*']),
            JSON.stringify(d.paths ?? ['/**']),
            JSON.stringify(d.conditions ?? {}),
            d.reason ?? '',
            version,
          ),
        ];
      }
      case 'workload': {
        const w = op.value;
        return [
          s(SQL.putWorkload, w.id, w.name, version, w.forwardAuthorization === true ? 1 : 0),
          s(SQL.deleteWorkloadHosts, w.id),
          ...w.hosts.map((h) => s(SQL.insertWorkloadHost, h.toLowerCase(), w.id)),
          s(SQL.deleteEndpoints, w.id),
          ...w.endpoints.map((e) => s(SQL.insertEndpoint, e.id, w.id, e.url, e.location, e.source, e.health)),
        ];
      }
    }
  }

  const EXPECT: Record<ConfigKind, { version: string; absent: string }> = {
    role: { version: SQL.expectRole, absent: SQL.absentRole },
    binding: { version: SQL.expectBinding, absent: SQL.absentBinding },
    'deny-rule': { version: SQL.expectDenyRule, absent: SQL.absentDenyRule },
    workload: { version: SQL.expectWorkload, absent: SQL.absentWorkload },
  };

  return {
    state: () =>
      guarded('load configuration', async () => {
        const res = await DB.batch<Row>([
          DB.prepare(SQL.selectVersion),
          DB.prepare(SQL.allRoles),
          DB.prepare(SQL.allGrants),
          DB.prepare(SQL.allBindings),
          DB.prepare(SQL.allDenyRules),
          DB.prepare(SQL.allWorkloads),
          DB.prepare(SQL.allHosts),
          DB.prepare(SQL.allEndpoints),
        ]);
        const [version, roles, grants, bindings, denyRules, workloads, hosts, endpoints] = res.map((r) => r.results);
        const d = decodeRows({ roles: roles!, grants: grants!, bindings: bindings!, denyRules: denyRules!, workloads: workloads!, hosts: hosts!, endpoints: endpoints! });
        return {
          version: String(version![0]?.value ?? '0'),
          roles: versioned(d.roles, roles!),
          bindings: versioned(d.bindings, bindings!),
          denyRules: versioned(d.denyRules, denyRules!),
          workloads: versioned(d.workloads, workloads!),
        };
      }),

    get: (kind, id) =>
      guarded(`get ${kind}`, async () => {
        let rows: Rows;
        let main: Row[];
        switch (kind) {
          case 'role': {
            const [r, g] = await DB.batch<Row>([DB.prepare(SQL.oneRole).bind(id), DB.prepare(SQL.oneRoleGrants).bind(id)]);
            main = r!.results;
            rows = { ...EMPTY, roles: main, grants: g!.results };
            break;
          }
          case 'binding':
            main = await all(SQL.oneBinding, id);
            rows = { ...EMPTY, bindings: main };
            break;
          case 'deny-rule':
            main = await all(SQL.oneDenyRule, id);
            rows = { ...EMPTY, denyRules: main };
            break;
          default: {
            const [w, h, e] = await DB.batch<Row>([
              DB.prepare(SQL.oneWorkload).bind(id),
              DB.prepare(SQL.oneWorkloadHosts).bind(id),
              DB.prepare(SQL.oneWorkloadEndpoints).bind(id),
            ]);
            main = w!.results;
            rows = { ...EMPTY, workloads: main, hosts: h!.results, endpoints: e!.results };
          }
        }
        if (main.length === 0) return null;
        const d = decodeRows(rows);
        const value = (kind === 'role' ? d.roles : kind === 'binding' ? d.bindings : kind === 'deny-rule' ? d.denyRules : d.workloads)[0]!;
        return { value, version: Number(main[0]!.version) } as never;
      }),

    page: (kind, { after = '', limit }, filter) =>
      guarded(`list ${kind}`, async () => {
        // One extra row tells whether another page follows.
        const n = limit + 1;
        let rows: Rows;
        let main: Row[];
        switch (kind) {
          case 'role': {
            const [r, g] = await DB.batch<Row>([DB.prepare(SQL.pageRoles).bind(after, n), DB.prepare(SQL.pageGrants).bind(after, n)]);
            main = r!.results;
            rows = { ...EMPTY, roles: main, grants: g!.results };
            break;
          }
          case 'binding': {
            const f = (filter ?? {}) as BindingFilter;
            main = await all(SQL.pageBindings, after, n, f.roleId ?? null, f.subject ?? null);
            rows = { ...EMPTY, bindings: main };
            break;
          }
          case 'deny-rule':
            main = await all(SQL.pageDenyRules, after, n);
            rows = { ...EMPTY, denyRules: main };
            break;
          default: {
            const [w, h, e] = await DB.batch<Row>([
              DB.prepare(SQL.pageWorkloads).bind(after, n),
              DB.prepare(SQL.pageHosts).bind(after, n),
              DB.prepare(SQL.pageEndpoints).bind(after, n),
            ]);
            main = w!.results;
            rows = { ...EMPTY, workloads: main, hosts: h!.results, endpoints: e!.results };
          }
        }
        const d = decodeRows(rows);
        const values = (kind === 'role' ? d.roles : kind === 'binding' ? d.bindings : kind === 'deny-rule' ? d.denyRules : d.workloads) as { id: string }[];
        const items = versioned(values, main);
        return { items: items.slice(0, limit), more: items.length > limit } as never;
      }),

    commit: (change) =>
      guarded('commit configuration change', async () => {
        const base = Number(change.base);
        if (!Number.isSafeInteger(base) || base < 0) throw new TollgateError('internal', 'storage error: bad base version');
        const next = base + 1;
        const token = crypto.randomUUID();
        const s = (sql: string, ...params: unknown[]) => DB.prepare(sql).bind(token, ...params);
        const stmts: D1PreparedStatement[] = [DB.prepare(SQL.gateOpen).bind(token, String(next), change.base)];
        for (const op of change.ops) {
          if (op.expect === undefined) continue;
          const id = op.type === 'delete' ? op.id : op.value.id;
          const e = EXPECT[op.kind];
          stmts.push(op.expect === 'absent' ? s(e.absent, id) : s(e.version, id, op.expect));
        }
        for (const op of change.ops) stmts.push(...opStatements(token, next, op));
        for (const r of change.audit) {
          stmts.push(s(SQL.insertAudit, r.at, r.requestId, r.kind ?? 'change', r.actor.subject, auditData(r, String(next))));
        }
        stmts.push(s(SQL.bumpVersion, String(next)));
        stmts.push(DB.prepare(SQL.gateClose).bind(token));
        const results = await DB.batch(stmts);
        const closed = results[results.length - 1]!.results as unknown[];
        return closed.length === 1 ? { committed: true, version: String(next) } : { committed: false };
      }),

    sessions: {
      page: ({ after = '', limit }, filter) =>
        guarded('list sessions', async () => {
          const rows = await all(SQL.pageSessions, after, limit + 1, filter.subject ?? null, filter.activeAt ?? null);
          return { items: rows.slice(0, limit).map(sessionFromRow), more: rows.length > limit };
        }),
      get: (id) =>
        guarded('get session', async () => {
          const rows = await all(SQL.oneSession, id);
          return rows[0] ? sessionFromRow(rows[0]) : null;
        }),
      activeOf: (subject, now, limit) =>
        guarded('list active sessions', async () => (await all(SQL.activeSessionsOf, subject, now, limit)).map(sessionFromRow)),
      markRevoked: (items, at) =>
        guarded('revoke sessions', async () => {
          if (items.length === 0) return [];
          const stmts = items.flatMap(({ id, audit }) => [
            DB.prepare(SQL.revokeSession).bind(id, at),
            DB.prepare(SQL.auditRevocationIfChanged).bind(audit.at, audit.requestId, audit.actor.subject, auditData(audit, null)),
          ]);
          const results = await DB.batch(stmts);
          return items.filter((_, i) => results[2 * i]!.meta.changes === 1).map((x) => x.id);
        }),
    },
  };
}
