/**
 * Storage of service accounts and trusted issuers: the D1 adapter and an
 * in-memory adapter (ports: services-ports.ts) (Node tests, benchmarks). Writes carry their audit
 * record and happen together with it or not at all; a write whose
 * expectation fails (id taken, stale version) answers `false` and leaves no
 * record.
 */
import type { JWK } from 'jose';
import { TollgateError } from '../errors.js';
import { guarded } from './guarded.js';
import type { ExternalAlgorithm, IssuerPreset, MappingRule, TrustedIssuer } from '../federation/model.js';
import type { ClientAuthMethod, ServiceAccount, ServiceGrantType } from '../oauth/model.js';
import type { ChangeRecord, Page } from './admin-ports.js';
import type { ServiceAccountStore, ServiceStores, TrustedIssuerStore, WriteOutcome } from './services-ports.js';
import { KV_TRUSTED_ISSUERS_VERSION, SERVICES_SQL as SQL } from './services-sql.js';

export type { ServiceAccountStore, ServiceStores, TrustedIssuerStore, WriteOutcome } from './services-ports.js';

export interface D1ServiceStoreBindings {
  DB: D1Database;
  CONFIG: KVNamespace;
}

type Row = Record<string, unknown>;


function jsonOf<T>(text: unknown, where: string): T {
  try {
    return JSON.parse(String(text)) as T;
  } catch (cause) {
    throw new TollgateError('internal', `storage error: ${where} is not JSON`, { cause });
  }
}

const opt = (v: unknown): number | undefined => (v === null || v === undefined ? undefined : Number(v));
const optStr = (v: unknown): string | undefined => (v === null || v === undefined || v === '' ? undefined : String(v));

export function accountFromRow(r: Row): ServiceAccount {
  const a: ServiceAccount = {
    id: String(r.id),
    name: String(r.name ?? ''),
    description: String(r.description ?? ''),
    disabled: Number(r.disabled) === 1,
    authMethods: jsonOf<ClientAuthMethod[]>(r.auth_methods, 'auth_methods'),
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    version: Number(r.version),
  };
  const exp = opt(r.expires_at);
  if (exp !== undefined) a.expiresAt = exp;
  if (optStr(r.grant_types)) a.grantTypes = jsonOf<ServiceGrantType[]>(r.grant_types, 'grant_types');
  if (optStr(r.jwks)) a.jwks = jsonOf<{ keys: JWK[] }>(r.jwks, 'jwks');
  const rl = opt(r.rate_limit_per_minute);
  if (rl !== undefined) a.rateLimitPerMinute = rl;
  const sh = optStr(r.secret_hash);
  if (sh) a.secretHash = sh;
  const sc = opt(r.secret_created_at);
  if (sc !== undefined) a.secretCreatedAt = sc;
  const ph = optStr(r.previous_secret_hash);
  if (ph) a.previousSecretHash = ph;
  const pe = opt(r.previous_secret_expires_at);
  if (pe !== undefined) a.previousSecretExpiresAt = pe;
  return a;
}

function accountParams(a: ServiceAccount): unknown[] {
  return [
    a.id,
    a.name,
    a.description,
    a.disabled ? 1 : 0,
    a.expiresAt ?? null,
    JSON.stringify(a.authMethods),
    a.jwks ? JSON.stringify(a.jwks) : null,
    a.rateLimitPerMinute ?? null,
    a.secretHash ?? null,
    a.secretCreatedAt ?? null,
    a.previousSecretHash ?? null,
    a.previousSecretExpiresAt ?? null,
    a.createdAt,
    a.updatedAt,
    a.version,
    a.grantTypes ? JSON.stringify(a.grantTypes) : null,
  ];
}

export function issuerFromRow(r: Row): TrustedIssuer {
  const t: TrustedIssuer = {
    id: String(r.id),
    issuer: String(r.issuer),
    preset: String(r.preset) as IssuerPreset,
    description: String(r.description ?? ''),
    audiences: jsonOf<string[]>(r.audiences, 'audiences'),
    algorithms: jsonOf<ExternalAlgorithm[]>(r.algorithms, 'algorithms'),
    maxLifetimeSeconds: Number(r.max_lifetime_seconds),
    rules: jsonOf<MappingRule[]>(r.rules, 'rules'),
    disabled: Number(r.disabled) === 1,
    createdAt: Number(r.created_at),
    updatedAt: Number(r.updated_at),
    version: Number(r.version),
  };
  const uri = optStr(r.jwks_uri);
  if (uri) t.jwksUri = uri;
  if (optStr(r.jwks)) t.jwks = jsonOf<{ keys: JWK[] }>(r.jwks, 'jwks');
  return t;
}

function issuerParams(t: TrustedIssuer): unknown[] {
  return [
    t.id,
    t.issuer,
    t.preset,
    t.description,
    t.jwksUri ?? null,
    t.jwks ? JSON.stringify(t.jwks) : null,
    JSON.stringify(t.audiences),
    JSON.stringify(t.algorithms),
    t.maxLifetimeSeconds,
    JSON.stringify(t.rules),
    t.disabled ? 1 : 0,
    t.createdAt,
    t.updatedAt,
    t.version,
  ];
}

/** The audit `data` of a change record, as the admin API writes them (src/store/admin.ts). */
export function changeData(r: ChangeRecord): string {
  return JSON.stringify({ action: r.action, resource: r.resource, id: r.id, actor_via: r.actor.via, before: r.before ?? null, after: r.after ?? null });
}

export function createD1ServiceStores({ DB, CONFIG }: D1ServiceStoreBindings): ServiceStores {
  const all = async (sql: string, ...params: unknown[]): Promise<Row[]> => (await DB.prepare(sql).bind(...params).all<Row>()).results;
  const audit = (r: ChangeRecord) => DB.prepare(SQL.auditIfChanged).bind(r.at, r.requestId, r.kind ?? 'change', r.actor.subject, changeData(r));

  /** Run the write and its conditional audit record; committed when the write changed a row. */
  async function write(stmt: D1PreparedStatement, record: ChangeRecord, extra: D1PreparedStatement[] = []): Promise<{ committed: boolean; results: D1Result<Row>[] }> {
    const results = await DB.batch<Row>([stmt, audit(record), ...extra]);
    return { committed: (results[0]?.meta.changes ?? 0) === 1, results };
  }

  const accounts: ServiceAccountStore = {
    get: (id) => guarded('get service account', async () => {
      const rows = await all(SQL.oneAccount, id);
      return rows[0] ? accountFromRow(rows[0]) : null;
    }),
    page: ({ after = '', limit }) => guarded('list service accounts', async () => {
      const rows = await all(SQL.pageAccounts, after, limit + 1);
      return { items: rows.slice(0, limit).map(accountFromRow), more: rows.length > limit };
    }),
    create: (a, record) => guarded('create service account', async () => {
      const { committed } = await write(DB.prepare(SQL.insertAccount).bind(...accountParams(a)), record);
      return { committed };
    }),
    update: (a, expect, record) => guarded('update service account', async () => {
      const { committed } = await write(DB.prepare(SQL.updateAccount).bind(...accountParams(a), expect), record);
      return { committed };
    }),
    remove: (id, expect, record) => guarded('delete service account', async () => {
      const { committed } = await write(DB.prepare(SQL.deleteAccount).bind(id, expect), record);
      return { committed };
    }),
  };

  async function issuerWrite(stmt: D1PreparedStatement, record: ChangeRecord): Promise<WriteOutcome> {
    const { committed, results } = await write(stmt, record, [DB.prepare(SQL.bumpIssuersVersionIfChanged)]);
    if (committed) {
      const version = results[2]?.results[0]?.value;
      if (version !== undefined) await publishIssuers(String(version));
    }
    return { committed };
  }

  async function publishIssuers(version: string): Promise<void> {
    await CONFIG.put(KV_TRUSTED_ISSUERS_VERSION, version);
  }

  const issuers: TrustedIssuerStore = {
    get: (id) => guarded('get trusted issuer', async () => {
      const rows = await all(SQL.oneIssuer, id);
      return rows[0] ? issuerFromRow(rows[0]) : null;
    }),
    idByIssuer: (iss) => guarded('find trusted issuer', async () => {
      const rows = await all(SQL.issuerByIss, iss);
      return rows[0] ? String(rows[0].id) : null;
    }),
    page: ({ after = '', limit }) => guarded('list trusted issuers', async () => {
      const rows = await all(SQL.pageIssuers, after, limit + 1);
      return { items: rows.slice(0, limit).map(issuerFromRow), more: rows.length > limit };
    }),
    all: () => guarded('load trusted issuers', async () => {
      const [v, rows] = await DB.batch<Row>([DB.prepare(SQL.selectIssuersVersion), DB.prepare(SQL.allIssuers)]);
      return { version: String(v!.results[0]?.value ?? '0'), issuers: rows!.results.map(issuerFromRow) };
    }),
    create: (t, record) => guarded('create trusted issuer', () => issuerWrite(DB.prepare(SQL.insertIssuer).bind(...issuerParams(t)), record)),
    update: (t, expect, record) => guarded('update trusted issuer', () => issuerWrite(DB.prepare(SQL.updateIssuer).bind(...issuerParams(t), expect), record)),
    remove: (id, expect, record) => guarded('delete trusted issuer', () => issuerWrite(DB.prepare(SQL.deleteIssuer).bind(id, expect), record)),
    currentVersion: () => guarded('read trusted issuers version', () => CONFIG.get(KV_TRUSTED_ISSUERS_VERSION)),
    publish: (version) => guarded('publish trusted issuers version', () => publishIssuers(version)),
  };

  return { accounts, issuers };
}

export { createMemoryServiceStores } from './services-memory.js';
