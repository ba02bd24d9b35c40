-- Payments, part 1: products, policies, premiums, refunds, the double-entry ledger and the
-- outbox that drives payment channels (issue 5; clauses 4-b, 5.3.1.3, 5.3.4, 5.6.1-b).
--
-- Amounts are integer fen (BIGINT) and positive wherever money moves. A policy copies its
-- product's terms when it is applied for, so changing a product never changes a policy.
-- payments_one_live_per_instalment makes paying one premium twice impossible even if two
-- requests race past every check above it. Ledger entries are immutable (a trigger refuses
-- UPDATE and DELETE; corrections are new transfers) and each transfer carries a record MAC.
-- Bounded ledger balances carry a CHECK, so a balance below its bound cannot be committed even
-- by a bug in the code that posts.

CREATE TABLE products (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 32),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 80),
    cover_fen BIGINT NOT NULL CHECK (cover_fen > 0),
    premium_fen BIGINT NOT NULL CHECK (premium_fen > 0),
    frequency TEXT NOT NULL CHECK (frequency IN ('single', 'monthly', 'yearly')),
    term_months INTEGER NOT NULL CHECK (term_months BETWEEN 1 AND 600),
    grace_days INTEGER NOT NULL CHECK (grace_days BETWEEN 0 AND 90),
    status TEXT NOT NULL CHECK (status IN ('on_sale', 'withdrawn')),
    created_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL
);

CREATE TABLE policies (
    id TEXT PRIMARY KEY,
    product_id TEXT NOT NULL REFERENCES products (id),
    holder_account_id TEXT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL CHECK (status IN ('applied', 'active', 'lapsed', 'cancelled', 'expired')),
    start_on TEXT NOT NULL,
    end_on TEXT NOT NULL,
    cover_fen BIGINT NOT NULL CHECK (cover_fen > 0),
    premium_fen BIGINT NOT NULL CHECK (premium_fen > 0),
    frequency TEXT NOT NULL CHECK (frequency IN ('single', 'monthly', 'yearly')),
    term_months INTEGER NOT NULL,
    grace_days INTEGER NOT NULL,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL
);
CREATE INDEX policies_holder ON policies (holder_account_id);

CREATE TABLE premium_instalments (
    id TEXT PRIMARY KEY,
    policy_id TEXT NOT NULL REFERENCES policies (id),
    number INTEGER NOT NULL CHECK (number >= 1),
    due_on TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL CHECK (status IN ('due', 'paid', 'void')),
    paid_by TEXT,
    paid_at_ms BIGINT,
    UNIQUE (policy_id, number)
);
CREATE INDEX premium_instalments_due ON premium_instalments (status, due_on);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    instalment_id TEXT NOT NULL REFERENCES premium_instalments (id),
    policy_id TEXT NOT NULL REFERENCES policies (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    method TEXT NOT NULL CHECK (method IN ('card', 'token')),
    card_masked TEXT,
    channel_ref TEXT,
    failure_code TEXT,
    created_at_ms BIGINT NOT NULL,
    settled_at_ms BIGINT,
    record_mac TEXT NOT NULL
);
CREATE UNIQUE INDEX payments_one_live_per_instalment ON payments (instalment_id)
    WHERE status IN ('pending', 'succeeded');
CREATE INDEX payments_account ON payments (account_id, created_at_ms);

-- Card tokens the channel returned, sealed under the field-encryption key with the row bound in
-- the AAD; only the masked form is readable.
CREATE TABLE payment_methods (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    card_masked TEXT NOT NULL,
    token_sealed TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX payment_methods_account ON payment_methods (account_id);

CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    reason TEXT NOT NULL CHECK (reason IN ('cancellation', 'overpayment', 'goodwill')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    channel_ref TEXT,
    failure_code TEXT,
    requested_by TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    settled_at_ms BIGINT,
    record_mac TEXT NOT NULL
);
CREATE INDEX refunds_payment ON refunds (payment_id);

CREATE TABLE ledger_accounts (
    code TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    holder_account_id TEXT,
    balance_fen BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    CHECK (kind = 'channel_clearing' OR balance_fen >= 0)
);

CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    event TEXT NOT NULL,
    subject TEXT NOT NULL,
    request_id TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL
);
CREATE INDEX ledger_transfers_subject ON ledger_transfers (subject);

CREATE TABLE ledger_entries (
    transfer_id TEXT NOT NULL REFERENCES ledger_transfers (id),
    seq INTEGER NOT NULL CHECK (seq BETWEEN 1 AND 8),
    account_code TEXT NOT NULL REFERENCES ledger_accounts (code),
    side TEXT NOT NULL CHECK (side IN ('debit', 'credit')),
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    PRIMARY KEY (transfer_id, seq)
);
CREATE INDEX ledger_entries_account ON ledger_entries (account_code);

CREATE FUNCTION ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are immutable: post a correcting transfer';
END;
$$;
CREATE TRIGGER ledger_transfers_no_change BEFORE UPDATE OR DELETE ON ledger_transfers
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();
CREATE TRIGGER ledger_entries_no_change BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_immutable();

-- Work for the payment channels, written in the same transaction as the state it acts on and
-- driven by a worker on any node: claim a due row (lease), call the channel, settle.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('resolve_payment', 'send_refund', 'send_payout')),
    subject_id TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('ready', 'done', 'dead')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    UNIQUE (kind, subject_id)
);
CREATE INDEX outbox_due ON outbox (state, next_attempt_at_ms);
