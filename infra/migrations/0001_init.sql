-- Tollgate configuration and history. Times are Unix epoch seconds.
-- JSON columns hold arrays/objects validated by the application on write.

CREATE TABLE workloads (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  created_at  INTEGER NOT NULL DEFAULT (unixepoch()),
  updated_at  INTEGER NOT NULL DEFAULT (unixepoch())
);

-- Host names (authority: host[:port], lower case) on which a workload is served.
CREATE TABLE workload_hosts (
  host        TEXT PRIMARY KEY,
  workload_id TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE
);

CREATE TABLE endpoints (
  id          TEXT PRIMARY KEY,
  workload_id TEXT NOT NULL REFERENCES workloads(id) ON DELETE CASCADE,
  url         TEXT NOT NULL,
  location    TEXT NOT NULL DEFAULT 'onprem',
  source      TEXT NOT NULL DEFAULT 'static' CHECK (source IN ('static', 'ecs', 'azure')),
  health      TEXT NOT NULL DEFAULT 'unknown' CHECK (health IN ('healthy', 'unhealthy', 'unknown'))
);
CREATE INDEX endpoints_workload ON endpoints(workload_id);

CREATE TABLE roles (
  id          TEXT PRIMARY KEY,
  description TEXT NOT NULL DEFAULT '',
  permissions TEXT NOT NULL DEFAULT '[]'          -- JSON array of 'admin' | 'auditor'
);

CREATE TABLE grants (
  id          TEXT PRIMARY KEY,
  role_id     TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  workload    TEXT NOT NULL,                      -- workload id or glob
  methods     TEXT NOT NULL DEFAULT '["*"]',      -- JSON array
  paths       TEXT NOT NULL DEFAULT '["/**"]',    -- JSON array of path globs
  conditions  TEXT NOT NULL DEFAULT '{}'          -- JSON object (policy Conditions)
);
CREATE INDEX grants_role ON grants(role_id);

CREATE TABLE bindings (
  id           TEXT PRIMARY KEY,
  subject_kind TEXT NOT NULL CHECK (subject_kind IN ('user', 'email', 'group', 'service')),
  subject      TEXT NOT NULL,
  role_id      TEXT NOT NULL REFERENCES roles(id) ON DELETE CASCADE,
  not_before   INTEGER,
  expires_at   INTEGER,
  reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX bindings_role ON bindings(role_id);

CREATE TABLE deny_rules (
  id          TEXT PRIMARY KEY,
  subjects    TEXT NOT NULL,                      -- JSON DenyRule.subjects
  workload    TEXT NOT NULL,
  methods     TEXT NOT NULL DEFAULT '["*"]',
  paths       TEXT NOT NULL DEFAULT '["/**"]',
  conditions  TEXT NOT NULL DEFAULT '{}',
  reason      TEXT NOT NULL DEFAULT ''
);

-- Sessions: the record behind a session cookie. Revocation itself is checked
-- through the RevocationLedger Durable Object (strongly consistent); this row is
-- for listing and audit.
CREATE TABLE sessions (
  id          TEXT PRIMARY KEY,
  subject     TEXT NOT NULL,
  email       TEXT,
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  revoked_at  INTEGER
);
CREATE INDEX sessions_subject ON sessions(subject);

-- One-time hand-off codes (stored as SHA-256 hashes, single use, <= 30 s).
CREATE TABLE handoff_codes (
  code_hash   TEXT PRIMARY KEY,
  session_id  TEXT NOT NULL,
  host        TEXT NOT NULL,
  nonce_hash  TEXT NOT NULL,
  return_path TEXT NOT NULL,
  expires_at  INTEGER NOT NULL
);

CREATE TABLE audit (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  at          INTEGER NOT NULL,
  request_id  TEXT NOT NULL,
  kind        TEXT NOT NULL,                      -- 'decision' | 'sign-in' | 'sign-out' | 'revocation' | 'change'
  subject     TEXT,
  data        TEXT NOT NULL DEFAULT '{}'          -- JSON, never secrets
);
CREATE INDEX audit_at ON audit(at);

CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('policy_version', '1');
