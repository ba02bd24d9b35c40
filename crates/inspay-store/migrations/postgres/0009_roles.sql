-- Roles, data scopes and maker-checker approvals (clauses 5.3.2.1, 5.3.2.2 and 5.6.1-d).
-- Which role may go on which account, and which roles conflict, is decided in
-- inspay_identity::authorization; the database keeps the facts and refuses impossible ones.

CREATE TABLE account_roles (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    role TEXT NOT NULL CHECK (role IN ('customer', 'agent', 'claims-adjuster', 'finance-officer',
        'auditor', 'security-officer', 'administrator')),
    granted_by TEXT NOT NULL,
    granted_at_ms BIGINT NOT NULL,
    PRIMARY KEY (account_id, role)
);

-- An agent's own customers: each customer is served by at most one agent.
CREATE TABLE agent_customers (
    customer_account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    agent_account_id TEXT NOT NULL REFERENCES accounts (id),
    assigned_by TEXT NOT NULL,
    assigned_at_ms BIGINT NOT NULL,
    CHECK (customer_account_id <> agent_account_id)
);
CREATE INDEX agent_customers_agent ON agent_customers (agent_account_id);

-- The adjuster each claim is assigned to (at most one at a time).
CREATE TABLE claim_assignments (
    claim_id TEXT PRIMARY KEY CHECK (length(claim_id) BETWEEN 1 AND 64),
    adjuster_account_id TEXT NOT NULL REFERENCES accounts (id),
    assigned_by TEXT NOT NULL,
    assigned_at_ms BIGINT NOT NULL
);
CREATE INDEX claim_assignments_adjuster ON claim_assignments (adjuster_account_id);

-- Maker-checker: a pending action, the digest of exactly what is to be approved, and the
-- decision of another account.
CREATE TABLE approvals (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('payout', 'refund')),
    object TEXT NOT NULL CHECK (length(object) BETWEEN 1 AND 128),
    payload_digest TEXT NOT NULL CHECK (length(payload_digest) = 68),
    maker_account_id TEXT NOT NULL REFERENCES accounts (id),
    requested_at_ms BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'approved', 'rejected')),
    checker_account_id TEXT REFERENCES accounts (id),
    decided_at_ms BIGINT,
    CHECK (checker_account_id IS NULL OR checker_account_id <> maker_account_id),
    CHECK ((state = 'pending' AND checker_account_id IS NULL AND decided_at_ms IS NULL)
        OR (state <> 'pending' AND checker_account_id IS NOT NULL AND decided_at_ms IS NOT NULL))
);
CREATE INDEX approvals_pending ON approvals (state, requested_at_ms);
