/** D1 (configuration, sessions, hand-off codes) + KV (version pointer) adapter. */
import { TollgateError } from '../errors.js';
import { guarded } from './guarded.js';
import type { Binding, DenyRule, Role } from '../policy/index.js';
import type { Workload } from '../catalog/types.js';
import type { ConfigData, HandoffRecord, SessionRecord, Store } from './ports.js';
import { KV_POLICY_VERSION, SQL, grantRowId } from './keys.js';
import { decodeRows, sessionFromRow } from './rows.js';

/** The two bindings this adapter needs, nothing more. */
export interface D1StoreBindings {
  DB: D1Database;
  CONFIG: KVNamespace;
}


export function createD1Store({ DB, CONFIG }: D1StoreBindings): Store {
  return {
    config: {
      load: () =>
        guarded('load configuration', async (): Promise<ConfigData> => {
          // One batch = one consistent read of every table.
          const results = await DB.batch<Record<string, unknown>>([
            DB.prepare(SQL.selectVersion),
            DB.prepare(SQL.selectRoles),
            DB.prepare(SQL.selectGrants),
            DB.prepare(SQL.selectBindings),
            DB.prepare(SQL.selectDenyRules),
            DB.prepare(SQL.selectWorkloads),
            DB.prepare(SQL.selectWorkloadHosts),
            DB.prepare(SQL.selectEndpoints),
          ]);
          const [version, roles, grants, bindings, denyRules, workloads, hosts, endpoints] = results.map((r) => r.results);
          const decoded = decodeRows({
            roles: roles!,
            grants: grants!,
            bindings: bindings!,
            denyRules: denyRules!,
            workloads: workloads!,
            hosts: hosts!,
            endpoints: endpoints!,
          });
          return { ...decoded, version: String(version![0]?.value ?? '0') };
        }),
    },

    configWriter: {
      putWorkload: (w: Workload) =>
        guarded('put workload', async () => {
          await DB.batch([
            DB.prepare(SQL.upsertWorkload).bind(w.id, w.name, w.forwardAuthorization === true ? 1 : 0),
            DB.prepare(SQL.deleteWorkloadHosts).bind(w.id),
            ...w.hosts.map((h) => DB.prepare(SQL.insertWorkloadHost).bind(h.toLowerCase(), w.id)),
            DB.prepare(SQL.deleteEndpoints).bind(w.id),
            ...w.endpoints.map((e) =>
              DB.prepare(SQL.insertEndpoint).bind(e.id, w.id, e.url, e.location, e.source, e.health),
            ),
          ]);
        }),
      putRole: (r: Role) =>
        guarded('put role', async () => {
          await DB.batch([
            DB.prepare(SQL.upsertRole).bind(r.id, r.description ?? '', JSON.stringify(r.permissions)),
            DB.prepare(SQL.deleteGrants).bind(r.id),
            ...r.grants.map((g) =>
              DB.prepare(SQL.insertGrant).bind(
                grantRowId(r.id, g.id),
                r.id,
                g.workload,
                JSON.stringify(g.methods),
                JSON.stringify(g.paths),
                JSON.stringify(g.conditions ?? {}),
              ),
            ),
          ]);
        }),
      putBinding: (b: Binding) =>
        guarded('put binding', async () => {
          await DB.prepare(SQL.upsertBinding)
            .bind(b.id, b.subject.kind, b.subject.value, b.roleId, b.notBefore ?? null, b.expiresAt ?? null, b.reason ?? '')
            .run();
        }),
      deleteBinding: (id: string) =>
        guarded('delete binding', async () => {
          await DB.prepare(SQL.deleteBinding).bind(id).run();
        }),
      putDenyRule: (d: DenyRule) =>
        guarded('put deny rule', async () => {
          await DB.prepare(SQL.upsertDenyRule)
            .bind(
              d.id,
              JSON.stringify(d.subjects),
              d.workload,
              JSON.stringify(d.methods ?? ['*']),
              JSON.stringify(d.paths ?? ['/**']),
              JSON.stringify(d.conditions ?? {}),
              d.reason ?? '',
            )
            .run();
        }),
      deleteDenyRule: (id: string) =>
        guarded('delete deny rule', async () => {
          await DB.prepare(SQL.deleteDenyRule).bind(id).run();
        }),
      bumpVersion: () =>
        guarded('bump version', async () => {
          const row = await DB.prepare(SQL.bumpVersion).first<{ value: string }>();
          if (!row) throw new TollgateError('internal', 'storage error: version row missing');
          return String(row.value);
        }),
    },

    version: {
      current: () => guarded('read version', () => CONFIG.get(KV_POLICY_VERSION)),
      publish: (version: string) => guarded('publish version', () => CONFIG.put(KV_POLICY_VERSION, version)),
    },

    sessions: {
      create: (s) =>
        guarded('create session', async () => {
          await DB.prepare(SQL.insertSession).bind(s.id, s.subject, s.email ?? null, s.createdAt, s.expiresAt).run();
        }),
      get: (id) =>
        guarded('get session', async (): Promise<SessionRecord | null> => {
          const row = await DB.prepare(SQL.selectSession).bind(id).first<Record<string, unknown>>();
          return row ? sessionFromRow(row) : null;
        }),
      markRevoked: (id, at) =>
        guarded('revoke session', async () => {
          await DB.prepare(SQL.revokeSession).bind(id, at).run();
        }),
    },

    handoffs: {
      put: (h: HandoffRecord, now: number) =>
        guarded('store hand-off code', async () => {
          await DB.batch([
            DB.prepare(SQL.purgeHandoffs).bind(now),
            DB.prepare(SQL.insertHandoff).bind(
              h.codeHash,
              h.sessionId,
              h.host,
              h.nonceHash,
              h.returnPath,
              h.expiresAt,
              h.sessionSeal,
            ),
          ]);
        }),
      take: (codeHash: string, now: number) =>
        guarded('redeem hand-off code', async (): Promise<HandoffRecord | null> => {
          const row = await DB.prepare(SQL.takeHandoff).bind(codeHash).first<Record<string, unknown>>();
          if (!row || !(Number(row.expires_at) > now)) return null;
          return {
            codeHash: String(row.code_hash),
            sessionId: String(row.session_id),
            host: String(row.host),
            nonceHash: String(row.nonce_hash),
            returnPath: String(row.return_path),
            expiresAt: Number(row.expires_at),
            sessionSeal: String(row.session_seal),
          };
        }),
    },
  };
}
