-- Audit trail (issue 4, docs/audit.md). The gateway's records (decisions,
-- sign-ins, sign-outs, revocations) reach D1 through the AUDIT queue's
-- consumer; admin changes are written by the admin API in the batch of the
-- change itself (0003). Existing columns keep their meaning: id (insertion
-- order, the query cursor), at (epoch seconds), request_id, kind, subject,
-- data (the whole record as JSON, never a secret).
--
-- event_id: random per event; the consumer inserts with OR IGNORE, so a queue
--   redelivery writes nothing twice. NULL for admin change records (NULLs are
--   distinct in a UNIQUE index).
-- workload / decision: filter columns for decision records (NULL otherwise).
ALTER TABLE audit ADD COLUMN event_id TEXT;
ALTER TABLE audit ADD COLUMN workload TEXT;
ALTER TABLE audit ADD COLUMN decision TEXT CHECK (decision IS NULL OR decision IN ('allow', 'deny'));

CREATE UNIQUE INDEX audit_event_id ON audit(event_id);
-- The query API filters by one of these and pages by id (newest first); every
-- SQLite index ends in the rowid (= id), so an equality filter is served in id
-- order without a sort. Time ranges use audit_at (0001).
CREATE INDEX audit_subject ON audit(subject);
CREATE INDEX audit_workload ON audit(workload);
CREATE INDEX audit_decision ON audit(decision);
