-- Incident containment switches (clause 6.4.3): what an operator turned on to contain an
-- incident, read by every node on every use, so a switch holds at once across the cluster.
-- A frozen account is also marked `frozen` in `accounts.status` (what sign-in, grants and
-- device keys already refuse); this row keeps who froze it and why. `sessions-ended` keeps
-- the last time every session was ended. Turning a switch off deletes its row; the audit log
-- keeps the history.

CREATE TABLE containment_switches (
    kind TEXT NOT NULL CHECK (kind IN ('account-frozen', 'channel-paused', 'sessions-ended')),
    subject TEXT NOT NULL,
    reason TEXT NOT NULL,
    set_by TEXT NOT NULL,
    set_at_ms BIGINT NOT NULL,
    PRIMARY KEY (kind, subject)
);
