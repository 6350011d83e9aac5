-- The hand-off carries the workload host's session cookie value, sealed (JWE
-- dir/A256GCM with the session key) — encrypted at rest, never a bare token. The
-- row is deleted when the code is redeemed (single use) and purged after expiry
-- (<= 30 s). The workload host cannot rebuild the session from `sessions` alone:
-- groups, amr and acr live only in the sealed session.
ALTER TABLE handoff_codes ADD COLUMN session_seal TEXT NOT NULL DEFAULT '';
