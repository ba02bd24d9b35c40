-- Reconciliation runs (clause 4-b, issue 5 item 8): one row per run, from the operator's
-- `inspay reconcile` or the daily job that fetches the channel's statement of the day before.
-- The job looks here to reconcile each day once; the counts let an auditor see every day's
-- outcome without re-running it.

CREATE TABLE reconciliations (
    id TEXT PRIMARY KEY,
    day TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('channel', 'file', 'wechat')),
    matched BIGINT NOT NULL,
    missing_at_channel BIGINT NOT NULL,
    missing_in_inspay BIGINT NOT NULL,
    mismatched BIGINT NOT NULL,
    duplicated BIGINT NOT NULL,
    clean INTEGER NOT NULL CHECK (clean IN (0, 1)),
    run_by TEXT NOT NULL,
    run_at_ms BIGINT NOT NULL
);
CREATE INDEX reconciliations_day ON reconciliations (day, run_at_ms);
-- The daily job records each day once, whichever node gets there first.
CREATE UNIQUE INDEX reconciliations_daily_once ON reconciliations (day)
    WHERE source = 'channel' AND run_by = 'system';

-- The bank's signed answer to the four-element check that verified a payout account, sealed
-- (it names the masked account), kept as evidence of what the bank said (clause 5.6.2-d1).
ALTER TABLE payout_accounts ADD COLUMN verification_evidence TEXT;
