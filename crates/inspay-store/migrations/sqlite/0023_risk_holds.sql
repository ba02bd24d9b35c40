-- Operations the risk engine held for manual review (clause 5.3.3.1; issue 6 item 6).
--
-- A hold is opened when a decision's verdict is `review`. A risk officer releases or rejects
-- it, once: the state moves from 'held' by a conditional update, so two officers (or two
-- nodes) cannot both decide it. What release does depends on `resumable`:
--   1  the server resumes the operation itself from `payload` (a staff claim decision or
--      approval, with the signature the staff member made): a worker leases the released row
--      and moves it to 'resumed' (or 'failed', with the reason in `outcome`) once done;
--   0  the customer's next attempt at the same operation (`subject`) goes through once: it
--      moves the row to 'consumed'.
-- `payload` holds no personal data: ids, amounts in fen and signatures only. `record_mac`
-- covers every column but the lease and attempt counters, so a hold changed in the database
-- (a rejection turned into a release) is refused when read.
CREATE TABLE risk_holds (
    id TEXT PRIMARY KEY,
    decision_id TEXT NOT NULL,
    operation TEXT NOT NULL,
    account_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    payload TEXT NOT NULL,
    resumable INTEGER NOT NULL CHECK (resumable IN (0, 1)),
    state TEXT NOT NULL
        CHECK (state IN ('held', 'released', 'rejected', 'resumed', 'failed', 'consumed')),
    created_at_ms BIGINT NOT NULL,
    decided_by TEXT,
    decided_at_ms BIGINT,
    note TEXT,
    outcome TEXT,
    finished_at_ms BIGINT,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    attempts BIGINT NOT NULL DEFAULT 0,
    record_mac TEXT NOT NULL
);
-- At most one open hold per operation: a second attempt while one waits gets the same hold.
CREATE UNIQUE INDEX risk_holds_open_subject ON risk_holds (subject)
    WHERE state IN ('held', 'released');
-- The review queue and the resume worker's scan.
CREATE INDEX risk_holds_state ON risk_holds (state, created_at_ms);

-- The risk officer, who releases or rejects held operations (role `risk-officer`): the role
-- list's CHECK is widened by rebuilding the table (SQLite cannot alter a CHECK).
CREATE TABLE account_roles_new (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'claims-adjuster', 'finance-officer',
        'auditor', 'security-officer', 'risk-officer', 'administrator')),
    granted_by TEXT NOT NULL,
    granted_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, role)
);
INSERT INTO account_roles_new (account_id, role, granted_by, granted_at_ms)
    SELECT account_id, role, granted_by, granted_at_ms FROM account_roles;
DROP TABLE account_roles;
ALTER TABLE account_roles_new RENAME TO account_roles;
