-- Payments, part 2: claims (理赔) and their payouts (issue 5 item 3; clauses 5.3.1.3, 5.3.2.2,
-- 5.6.2-d2).
--
-- A payout goes only to a bank account the channel verified as the claimant's (account number,
-- legal name, ID number and mobile checked by the bank). The number is sealed under the field
-- key with its row and account bound in the associated data; only the masked form is readable.
--
-- A claim keeps the claimant's signature over the claim, the adjuster's over the decision and,
-- above the large-payout threshold, a second approver's over the decision, each with the public
-- key that made it, so all three can be verified again later without trusting the server's
-- word. payouts_one_live_per_claim makes paying one claim twice impossible even if two workers
-- race past every check above it; the approved amount can never exceed the claimed amount.

CREATE TABLE payout_accounts (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    account_masked TEXT NOT NULL,
    number_sealed TEXT NOT NULL,
    verification_ref TEXT NOT NULL,
    verified_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    record_mac TEXT NOT NULL
);
CREATE INDEX payout_accounts_account ON payout_accounts (account_id);

CREATE TABLE claims (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    claimant_account_id TEXT NOT NULL REFERENCES accounts (id),
    claimed_fen BIGINT NOT NULL CHECK (claimed_fen > 0),
    incident_on TEXT NOT NULL,
    description_sealed TEXT NOT NULL,
    description_sm3 TEXT NOT NULL,
    payout_account_id TEXT NOT NULL REFERENCES payout_accounts (id),
    idempotency_key TEXT NOT NULL,
    claimant_signer TEXT NOT NULL,
    claimant_public_key TEXT NOT NULL,
    claimant_signature TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('filed', 'awaiting_second_approval', 'approved',
        'rejected', 'payout_pending', 'paid')),
    approved_fen BIGINT CHECK (approved_fen IS NULL OR (approved_fen > 0 AND approved_fen <= claimed_fen)),
    adjuster_account_id TEXT,
    decision TEXT CHECK (decision IS NULL OR decision IN ('approve', 'reject')),
    decision_key_id TEXT,
    decision_public_key TEXT,
    decision_signature TEXT,
    decided_at_ms BIGINT,
    approver_account_id TEXT,
    approval_key_id TEXT,
    approval_public_key TEXT,
    approval_signature TEXT,
    approved_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL,
    UNIQUE (claimant_account_id, idempotency_key),
    CHECK (approver_account_id IS NULL OR approver_account_id <> adjuster_account_id)
);
CREATE INDEX claims_policy ON claims (policy_id);
CREATE INDEX claims_claimant ON claims (claimant_account_id, created_at_ms);

CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    claim_id TEXT NOT NULL REFERENCES claims (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    payout_account_id TEXT NOT NULL REFERENCES payout_accounts (id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    channel_ref TEXT,
    failure_code TEXT,
    created_at_ms BIGINT NOT NULL,
    settled_at_ms BIGINT,
    record_mac TEXT NOT NULL
);
CREATE UNIQUE INDEX payouts_one_live_per_claim ON payouts (claim_id)
    WHERE status IN ('pending', 'succeeded');
CREATE INDEX payouts_account ON payouts (account_id, created_at_ms);
