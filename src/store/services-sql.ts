/**
 * SQL and KV keys of service accounts and trusted issuers (schema:
 * infra/migrations/0005_services.sql). Every write is one D1 batch: the
 * change, then its audit record `WHERE changes() = 1` — so a refused write
 * (id taken, stale version) leaves no record (DESIGN §9).
 */

/** KV (binding CONFIG): the trusted-issuer set's version, read by every isolate's registry. */
export const KV_TRUSTED_ISSUERS_VERSION = 'trusted-issuers-version';

const SA_COLUMNS = `id, name, description, disabled, expires_at, auth_methods, jwks, rate_limit_per_minute, secret_hash, secret_created_at,
  previous_secret_hash, previous_secret_expires_at, created_at, updated_at, version, grant_types`;
const TI_COLUMNS = `id, issuer, preset, description, jwks_uri, jwks, audiences, algorithms, max_lifetime_seconds, rules, disabled,
  created_at, updated_at, version`;

export const SERVICES_SQL = {
  oneAccount: `SELECT ${SA_COLUMNS} FROM service_accounts WHERE id = ?1`,
  pageAccounts: `SELECT ${SA_COLUMNS} FROM service_accounts WHERE id > ?1 ORDER BY id LIMIT ?2`,
  insertAccount: `INSERT INTO service_accounts (${SA_COLUMNS})
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16) ON CONFLICT(id) DO NOTHING`,
  /** ?17 = the version the writer read. */
  updateAccount: `UPDATE service_accounts SET name = ?2, description = ?3, disabled = ?4, expires_at = ?5, auth_methods = ?6, jwks = ?7,
    rate_limit_per_minute = ?8, secret_hash = ?9, secret_created_at = ?10, previous_secret_hash = ?11, previous_secret_expires_at = ?12,
    created_at = ?13, updated_at = ?14, version = ?15, grant_types = ?16 WHERE id = ?1 AND version = ?17`,
  deleteAccount: `DELETE FROM service_accounts WHERE id = ?1 AND version = ?2`,

  oneIssuer: `SELECT ${TI_COLUMNS} FROM trusted_issuers WHERE id = ?1`,
  issuerByIss: `SELECT id FROM trusted_issuers WHERE issuer = ?1`,
  pageIssuers: `SELECT ${TI_COLUMNS} FROM trusted_issuers WHERE id > ?1 ORDER BY id LIMIT ?2`,
  allIssuers: `SELECT ${TI_COLUMNS} FROM trusted_issuers ORDER BY id`,
  insertIssuer: `INSERT INTO trusted_issuers (${TI_COLUMNS})
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) ON CONFLICT DO NOTHING`,
  /** ?15 = the version the writer read. */
  updateIssuer: `UPDATE OR IGNORE trusted_issuers SET issuer = ?2, preset = ?3, description = ?4, jwks_uri = ?5, jwks = ?6, audiences = ?7,
    algorithms = ?8, max_lifetime_seconds = ?9, rules = ?10, disabled = ?11, created_at = ?12, updated_at = ?13, version = ?14
    WHERE id = ?1 AND version = ?15`,
  deleteIssuer: `DELETE FROM trusted_issuers WHERE id = ?1 AND version = ?2`,
  selectIssuersVersion: `SELECT value FROM meta WHERE key = 'trusted_issuers_version'`,
  /** After the audit insert: bumps only when that happened; returns the new version. */
  bumpIssuersVersionIfChanged: `UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)
    WHERE key = 'trusted_issuers_version' AND changes() = 1 RETURNING value`,

  /** ?1 at, ?2 request id, ?3 kind, ?4 actor subject, ?5 data (JSON). Conditional on the statement before it. */
  auditIfChanged: `INSERT INTO audit (at, request_id, kind, subject, data) SELECT ?1, ?2, ?3, ?4, ?5 WHERE changes() = 1`,
} as const;
