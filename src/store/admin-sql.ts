/**
 * SQL of the admin store (D1 schema: infra/migrations, 0003_admin.sql for the
 * version columns and the write gate). Kept beside keys.ts, which holds the
 * hot path's statements; nothing outside src/store spells these.
 *
 * Every write statement ends in `AND EXISTS (SELECT 1 FROM config_writes WHERE
 * token = ?T)` (the gate, see `admin.ts`), so a batch whose gate was refused
 * changes nothing and records nothing.
 */

const GATE = `EXISTS (SELECT 1 FROM config_writes WHERE token = ?1)`;

export const ADMIN_SQL = {
  // --- reads ---------------------------------------------------------------
  selectVersion: `SELECT value FROM meta WHERE key = 'policy_version'`,
  allRoles: `SELECT id, description, permissions, version FROM roles ORDER BY id`,
  allGrants: `SELECT id, role_id, workload, methods, paths, conditions FROM grants ORDER BY role_id, position, id`,
  allBindings: `SELECT id, subject_kind, subject, role_id, not_before, expires_at, reason, version FROM bindings ORDER BY id`,
  allDenyRules: `SELECT id, subjects, workload, methods, paths, conditions, reason, version FROM deny_rules ORDER BY id`,
  allWorkloads: `SELECT id, name, forward_authorization, version FROM workloads ORDER BY id`,
  allHosts: `SELECT host, workload_id FROM workload_hosts ORDER BY host`,
  allEndpoints: `SELECT id, workload_id, url, location, source, health FROM endpoints ORDER BY workload_id, id`,

  // Pages: ?1 = after (exclusive, '' for the first page), ?2 = limit; child rows by the same subquery.
  pageRoles: `SELECT id, description, permissions, version FROM roles WHERE id > ?1 ORDER BY id LIMIT ?2`,
  pageGrants: `SELECT id, role_id, workload, methods, paths, conditions FROM grants
    WHERE role_id IN (SELECT id FROM roles WHERE id > ?1 ORDER BY id LIMIT ?2) ORDER BY role_id, position, id`,
  pageBindings: `SELECT id, subject_kind, subject, role_id, not_before, expires_at, reason, version FROM bindings
    WHERE id > ?1 AND (?3 IS NULL OR role_id = ?3) AND (?4 IS NULL OR subject = ?4) ORDER BY id LIMIT ?2`,
  pageDenyRules: `SELECT id, subjects, workload, methods, paths, conditions, reason, version FROM deny_rules WHERE id > ?1 ORDER BY id LIMIT ?2`,
  pageWorkloads: `SELECT id, name, forward_authorization, version FROM workloads WHERE id > ?1 ORDER BY id LIMIT ?2`,
  pageHosts: `SELECT host, workload_id FROM workload_hosts
    WHERE workload_id IN (SELECT id FROM workloads WHERE id > ?1 ORDER BY id LIMIT ?2) ORDER BY host`,
  pageEndpoints: `SELECT id, workload_id, url, location, source, health FROM endpoints
    WHERE workload_id IN (SELECT id FROM workloads WHERE id > ?1 ORDER BY id LIMIT ?2) ORDER BY workload_id, id`,

  oneRole: `SELECT id, description, permissions, version FROM roles WHERE id = ?1`,
  oneRoleGrants: `SELECT id, role_id, workload, methods, paths, conditions FROM grants WHERE role_id = ?1 ORDER BY position, id`,
  oneBinding: `SELECT id, subject_kind, subject, role_id, not_before, expires_at, reason, version FROM bindings WHERE id = ?1`,
  oneDenyRule: `SELECT id, subjects, workload, methods, paths, conditions, reason, version FROM deny_rules WHERE id = ?1`,
  oneWorkload: `SELECT id, name, forward_authorization, version FROM workloads WHERE id = ?1`,
  oneWorkloadHosts: `SELECT host, workload_id FROM workload_hosts WHERE workload_id = ?1 ORDER BY host`,
  oneWorkloadEndpoints: `SELECT id, workload_id, url, location, source, health FROM endpoints WHERE workload_id = ?1 ORDER BY id`,

  // --- the write gate ------------------------------------------------------
  /** ?1 token, ?2 new version, ?3 base version: opens only if the configuration is still at the base version. */
  gateOpen: `INSERT INTO config_writes (token, version) SELECT ?1, ?2
    WHERE (SELECT value FROM meta WHERE key = 'policy_version') = ?3`,
  /** Expectations: each closes the gate when it does not hold. ?1 token, ?2 id, ?3 version. */
  expectRole: `DELETE FROM config_writes WHERE token = ?1 AND NOT EXISTS (SELECT 1 FROM roles WHERE id = ?2 AND version = ?3)`,
  expectBinding: `DELETE FROM config_writes WHERE token = ?1 AND NOT EXISTS (SELECT 1 FROM bindings WHERE id = ?2 AND version = ?3)`,
  expectDenyRule: `DELETE FROM config_writes WHERE token = ?1 AND NOT EXISTS (SELECT 1 FROM deny_rules WHERE id = ?2 AND version = ?3)`,
  expectWorkload: `DELETE FROM config_writes WHERE token = ?1 AND NOT EXISTS (SELECT 1 FROM workloads WHERE id = ?2 AND version = ?3)`,
  absentRole: `DELETE FROM config_writes WHERE token = ?1 AND EXISTS (SELECT 1 FROM roles WHERE id = ?2)`,
  absentBinding: `DELETE FROM config_writes WHERE token = ?1 AND EXISTS (SELECT 1 FROM bindings WHERE id = ?2)`,
  absentDenyRule: `DELETE FROM config_writes WHERE token = ?1 AND EXISTS (SELECT 1 FROM deny_rules WHERE id = ?2)`,
  absentWorkload: `DELETE FROM config_writes WHERE token = ?1 AND EXISTS (SELECT 1 FROM workloads WHERE id = ?2)`,
  /** Last statement: closes the gate; returns the token when the batch's writes happened. */
  gateClose: `DELETE FROM config_writes WHERE token = ?1 RETURNING token`,

  // --- gated writes (?1 is always the token) -------------------------------
  putRole: `INSERT INTO roles (id, description, permissions, version) SELECT ?2, ?3, ?4, ?5 WHERE ${GATE}
    ON CONFLICT(id) DO UPDATE SET description = excluded.description, permissions = excluded.permissions, version = excluded.version`,
  deleteGrants: `DELETE FROM grants WHERE role_id = ?2 AND ${GATE}`,
  insertGrant: `INSERT INTO grants (id, role_id, workload, methods, paths, conditions, position) SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8 WHERE ${GATE}`,
  deleteRole: `DELETE FROM roles WHERE id = ?2 AND ${GATE}`,
  putBinding: `INSERT INTO bindings (id, subject_kind, subject, role_id, not_before, expires_at, reason, version)
    SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE ${GATE}
    ON CONFLICT(id) DO UPDATE SET subject_kind = excluded.subject_kind, subject = excluded.subject, role_id = excluded.role_id,
      not_before = excluded.not_before, expires_at = excluded.expires_at, reason = excluded.reason, version = excluded.version`,
  deleteBinding: `DELETE FROM bindings WHERE id = ?2 AND ${GATE}`,
  putDenyRule: `INSERT INTO deny_rules (id, subjects, workload, methods, paths, conditions, reason, version)
    SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9 WHERE ${GATE}
    ON CONFLICT(id) DO UPDATE SET subjects = excluded.subjects, workload = excluded.workload, methods = excluded.methods,
      paths = excluded.paths, conditions = excluded.conditions, reason = excluded.reason, version = excluded.version`,
  deleteDenyRule: `DELETE FROM deny_rules WHERE id = ?2 AND ${GATE}`,
  putWorkload: `INSERT INTO workloads (id, name, version, forward_authorization) SELECT ?2, ?3, ?4, ?5 WHERE ${GATE}
    ON CONFLICT(id) DO UPDATE SET name = excluded.name, version = excluded.version, forward_authorization = excluded.forward_authorization, updated_at = unixepoch()`,
  deleteWorkloadHosts: `DELETE FROM workload_hosts WHERE workload_id = ?2 AND ${GATE}`,
  insertWorkloadHost: `INSERT INTO workload_hosts (host, workload_id) SELECT ?2, ?3 WHERE ${GATE}`,
  deleteEndpoints: `DELETE FROM endpoints WHERE workload_id = ?2 AND ${GATE}`,
  insertEndpoint: `INSERT INTO endpoints (id, workload_id, url, location, source, health) SELECT ?2, ?3, ?4, ?5, ?6, ?7 WHERE ${GATE}`,
  deleteWorkload: `DELETE FROM workloads WHERE id = ?2 AND ${GATE}`,
  /** ?2 at, ?3 request id, ?4 kind, ?5 actor subject, ?6 data (JSON). */
  insertAudit: `INSERT INTO audit (at, request_id, kind, subject, data) SELECT ?2, ?3, ?4, ?5, ?6 WHERE ${GATE}`,
  bumpVersion: `UPDATE meta SET value = ?2 WHERE key = 'policy_version' AND ${GATE}`,

  // --- sessions --------------------------------------------------------------
  /** ?1 after, ?2 limit, ?3 subject or NULL, ?4 "active at" epoch seconds or NULL (only unrevoked, unexpired). */
  pageSessions: `SELECT id, subject, email, created_at, expires_at, revoked_at FROM sessions
    WHERE id > ?1 AND (?3 IS NULL OR subject = ?3) AND (?4 IS NULL OR (revoked_at IS NULL AND expires_at > ?4))
    ORDER BY id LIMIT ?2`,
  oneSession: `SELECT id, subject, email, created_at, expires_at, revoked_at FROM sessions WHERE id = ?1`,
  /** Active sessions of one subject (revoke all); bounded. */
  activeSessionsOf: `SELECT id, subject, email, created_at, expires_at, revoked_at FROM sessions
    WHERE subject = ?1 AND revoked_at IS NULL AND expires_at > ?2 ORDER BY id LIMIT ?3`,
  /** Version predicate: changes only an unrevoked row. The audit insert after it runs only if it did. */
  revokeSession: `UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL`,
  /** ?1 at, ?2 request id, ?3 actor subject, ?4 data (JSON). Conditional on the statement before it. */
  auditRevocationIfChanged: `INSERT INTO audit (at, request_id, kind, subject, data) SELECT ?1, ?2, 'revocation', ?3, ?4 WHERE changes() = 1`,
} as const;
