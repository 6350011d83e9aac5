/**
 * Every storage key format and SQL statement in one place (D1 schema:
 * infra/migrations). Adapters use these; nothing else spells a key or a table.
 */

/** KV (binding CONFIG): the current configuration version, bumped by admin writes. */
export const KV_POLICY_VERSION = 'policy-version';

/** Durable Object names of the revocation ledger shards ("revocations-0" …). */
export const REVOCATION_SHARDS = 4;
export function revocationShardName(shard: number): string {
  return `revocations-${shard}`;
}

/**
 * `grants.id` is the table's primary key, but a grant id is only unique within its role
 * (policy compile()). Rows written here are keyed "<role>/<grant>"; rows written by other
 * tools without the prefix are read as they are.
 */
export function grantRowId(roleId: string, grantId: string): string {
  return `${roleId}/${grantId}`;
}
export function grantIdFromRow(roleId: string, rowId: string): string {
  return rowId.startsWith(`${roleId}/`) ? rowId.slice(roleId.length + 1) : rowId;
}

export const SQL = {
  // Configuration (read as one batch when the version changes).
  selectVersion: `SELECT value FROM meta WHERE key = 'policy_version'`,
  selectRoles: `SELECT id, description, permissions FROM roles ORDER BY id`,
  // position: document order within the role (migration 0003); rows without it sort by id.
  selectGrants: `SELECT id, role_id, workload, methods, paths, conditions FROM grants ORDER BY role_id, position, id`,
  selectBindings: `SELECT id, subject_kind, subject, role_id, not_before, expires_at, reason FROM bindings ORDER BY id`,
  selectDenyRules: `SELECT id, subjects, workload, methods, paths, conditions, reason FROM deny_rules ORDER BY id`,
  selectWorkloads: `SELECT id, name, forward_authorization FROM workloads ORDER BY id`,
  selectWorkloadHosts: `SELECT host, workload_id FROM workload_hosts ORDER BY host`,
  selectEndpoints: `SELECT id, workload_id, url, location, source, health FROM endpoints ORDER BY workload_id, id`,

  // Configuration writes (seeding, admin). Each write path bumps the version separately.
  upsertWorkload: `INSERT INTO workloads (id, name, forward_authorization) VALUES (?1, ?2, ?3)
    ON CONFLICT(id) DO UPDATE SET name = excluded.name, forward_authorization = excluded.forward_authorization, updated_at = unixepoch()`,
  deleteWorkloadHosts: `DELETE FROM workload_hosts WHERE workload_id = ?1`,
  insertWorkloadHost: `INSERT INTO workload_hosts (host, workload_id) VALUES (?1, ?2)`,
  deleteEndpoints: `DELETE FROM endpoints WHERE workload_id = ?1`,
  insertEndpoint: `INSERT INTO endpoints (id, workload_id, url, location, source, health) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
  upsertRole: `INSERT INTO roles (id, description, permissions) VALUES (?1, ?2, ?3)
    ON CONFLICT(id) DO UPDATE SET description = excluded.description, permissions = excluded.permissions`,
  deleteGrants: `DELETE FROM grants WHERE role_id = ?1`,
  insertGrant: `INSERT INTO grants (id, role_id, workload, methods, paths, conditions) VALUES (?1, ?2, ?3, ?4, ?5, ?6)`,
  upsertBinding: `INSERT INTO bindings (id, subject_kind, subject, role_id, not_before, expires_at, reason)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT(id) DO UPDATE SET subject_kind = excluded.subject_kind, subject = excluded.subject,
      role_id = excluded.role_id, not_before = excluded.not_before, expires_at = excluded.expires_at, reason = excluded.reason`,
  deleteBinding: `DELETE FROM bindings WHERE id = ?1`,
  upsertDenyRule: `INSERT INTO deny_rules (id, subjects, workload, methods, paths, conditions, reason)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
    ON CONFLICT(id) DO UPDATE SET subjects = excluded.subjects, workload = excluded.workload, methods = excluded.methods,
      paths = excluded.paths, conditions = excluded.conditions, reason = excluded.reason`,
  deleteDenyRule: `DELETE FROM deny_rules WHERE id = ?1`,
  bumpVersion: `UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'policy_version' RETURNING value`,

  // Sessions.
  insertSession: `INSERT INTO sessions (id, subject, email, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)`,
  selectSession: `SELECT id, subject, email, created_at, expires_at, revoked_at FROM sessions WHERE id = ?1`,
  revokeSession: `UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL`,

  // Hand-off codes: stored hashed; single use through DELETE … RETURNING.
  purgeHandoffs: `DELETE FROM handoff_codes WHERE expires_at <= ?1`,
  insertHandoff: `INSERT INTO handoff_codes (code_hash, session_id, host, nonce_hash, return_path, expires_at, session_seal)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)`,
  // Any attempt burns the code; the caller checks expiry on the returned row.
  takeHandoff: `DELETE FROM handoff_codes WHERE code_hash = ?1
    RETURNING code_hash, session_id, host, nonce_hash, return_path, expires_at, session_seal`,
} as const;
