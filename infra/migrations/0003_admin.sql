-- Admin API (issue 4): per-resource versions for ETag / If-Match, and the
-- write gate that makes an admin change and its audit record one conditional
-- D1 batch (docs/admin-api.md, "Concurrency" and "Atomic audit").
--
-- `version` is the configuration version (meta.policy_version) of the write
-- that last changed the row, so it only ever grows, also across a delete and a
-- re-create of the same id (no ETag is ever reused). Rows written before this
-- migration, or by seeding, carry 1.
ALTER TABLE roles      ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE bindings   ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE deny_rules ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
ALTER TABLE workloads  ADD COLUMN version INTEGER NOT NULL DEFAULT 1;

-- Grant order within a role is the document order (the first allowing grant is
-- the one a decision reports); rows written without it (seeding) sort by id.
ALTER TABLE grants ADD COLUMN position INTEGER NOT NULL DEFAULT 0;

-- One row per admin write while its batch runs (inserted first, deleted last):
-- every statement of the batch, the audit insert included, is conditional on
-- the row existing. The first statement inserts it only if the configuration
-- version is still the one the change was validated against; a failed
-- expectation (stale If-Match, id already taken) deletes it. D1 batches cannot
-- branch (DESIGN §9); this row is the branch. Empty between writes.
CREATE TABLE config_writes (
  token   TEXT PRIMARY KEY,
  version TEXT NOT NULL
);

CREATE INDEX bindings_subject ON bindings(subject_kind, subject);
CREATE INDEX audit_kind_at ON audit(kind, at);
