-- Identity, part 7: the server-side authentication state between requests (clause 5.3.1.2).
-- A sign-in flow exists only after its first factor succeeded; its stage moves forward by
-- compare-and-swap, so a replayed or reordered step finds the stage already changed.

CREATE TABLE sign_in_flows (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    stage TEXT NOT NULL CHECK (stage IN ('awaiting-second', 'complete', 'ended')),
    first_factor TEXT NOT NULL,
    second_factor TEXT,
    dormant INTEGER NOT NULL CHECK (dormant IN (0, 1)),
    must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
    started_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
CREATE INDEX sign_in_flows_account ON sign_in_flows (account_id);

-- Failures counted per login name, whether or not an account has that name, so that asking
-- for a CAPTCHA after the first failure (clause 5.2.1.1-e) tells nothing about existence.
CREATE TABLE sign_in_name_failures (
    login_name_index TEXT PRIMARY KEY,
    consecutive INTEGER NOT NULL CHECK (consecutive >= 0),
    updated_at_ms INTEGER NOT NULL
);

-- Step-up proofs (clause 5.1-b): one fresh second factor for one operation in one session,
-- stored by SM3 digest, single use, short lived.
CREATE TABLE step_ups (
    token_digest TEXT PRIMARY KEY,
    session_digest TEXT NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    operation TEXT NOT NULL,
    factor TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    consumed_at_ms INTEGER
);
CREATE INDEX step_ups_session ON step_ups (session_digest);
