-- Identity, part 4: earlier secret hashes, so a new password can be refused when it repeats one
-- of the last five (clause 5.2.4.2-d).

CREATE TABLE account_secret_history (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL,
    hash TEXT NOT NULL,
    set_at_ms BIGINT NOT NULL,
    replaced_at_ms BIGINT NOT NULL
);
CREATE INDEX account_secret_history_account ON account_secret_history (account_id, kind, replaced_at_ms);
