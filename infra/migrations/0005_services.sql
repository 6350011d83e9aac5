-- Service identity (issue 5, docs/services.md): service accounts (OAuth
-- clients of the token endpoint), trusted external token issuers (workload
-- identity federation) and the workload setting that lets the caller's
-- Authorization header through on the bearer path.
--
-- Secrets are never stored: only base64url(SHA-256(secret)) of a 256-bit
-- random secret (a slow password hash adds nothing for secrets of that
-- entropy). `version` is the row's ETag; it only ever grows, also across a
-- delete and a re-create of the same id (it is taken from the clock in ms,
-- and is always greater than the version it replaces).

CREATE TABLE service_accounts (
  id                          TEXT PRIMARY KEY,        -- the client_id; the principal is service:<id>
  name                        TEXT NOT NULL DEFAULT '',
  description                 TEXT NOT NULL DEFAULT '',
  disabled                    INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  expires_at                  INTEGER,                 -- the account stops authenticating at this epoch second
  auth_methods                TEXT NOT NULL,           -- JSON array: client_secret_basic | client_secret_post | private_key_jwt
  jwks                        TEXT,                    -- JSON public JWKS for private_key_jwt (no private members)
  rate_limit_per_minute       INTEGER,                 -- overrides TOKEN_RATE_LIMIT_PER_MINUTE for this client
  secret_hash                 TEXT,                    -- base64url(SHA-256(current secret))
  secret_created_at           INTEGER,
  previous_secret_hash        TEXT,                    -- the secret before the last rotation …
  previous_secret_expires_at  INTEGER,                 -- … accepted until this epoch second (the overlap)
  created_at                  INTEGER NOT NULL,
  updated_at                  INTEGER NOT NULL,
  version                     INTEGER NOT NULL
);

CREATE TABLE trusted_issuers (
  id                    TEXT PRIMARY KEY,
  issuer                TEXT NOT NULL UNIQUE,           -- compared with `iss` exactly
  preset                TEXT NOT NULL,                  -- generic-oidc | entra | github-actions | kubernetes
  description           TEXT NOT NULL DEFAULT '',
  jwks_uri              TEXT,                           -- given, or discovered at registration
  jwks                  TEXT,                           -- inline public JWKS (instead of jwks_uri)
  audiences             TEXT NOT NULL,                  -- JSON array: `aud` must contain one of them
  algorithms            TEXT NOT NULL,                  -- JSON array (asymmetric algorithms only)
  max_lifetime_seconds  INTEGER NOT NULL,
  rules                 TEXT NOT NULL,                  -- JSON array of {service, claims}
  disabled              INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL,
  version               INTEGER NOT NULL
);

-- The trusted-issuer set the hot path caches is re-read when this changes
-- (published to KV as `trusted-issuers-version`, like `policy-version`).
INSERT INTO meta (key, value) VALUES ('trusted_issuers_version', '1');

-- Workloads: forward the caller's Authorization header to the workload on the
-- bearer path (default: removed, the workload gets the assertion only).
ALTER TABLE workloads ADD COLUMN forward_authorization INTEGER NOT NULL DEFAULT 0;
