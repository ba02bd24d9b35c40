-- Identity, part 2: server-side sessions. Only the SM3 digest of each token is stored.

CREATE TABLE sessions (
    token_digest TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    auth_level TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    last_seen_at_ms BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
