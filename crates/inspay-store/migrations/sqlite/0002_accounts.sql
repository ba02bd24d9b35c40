-- Identity, part 1: accounts, their secret hashes, and the failure counter every node shares.

CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    population TEXT NOT NULL CHECK (population IN ('customer', 'staff')),
    login_name_index TEXT NOT NULL UNIQUE,
    login_name_display TEXT NOT NULL,
    person_id TEXT REFERENCES persons (id),
    status TEXT NOT NULL CHECK (status IN ('active', 'frozen', 'closed')),
    must_change_password INTEGER NOT NULL CHECK (must_change_password IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    last_login_at_ms INTEGER
);

CREATE TABLE account_secrets (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL CHECK (kind IN ('login-password', 'transaction-password', 'gesture')),
    hash TEXT NOT NULL,
    set_at_ms INTEGER NOT NULL,
    PRIMARY KEY (account_id, kind)
);

CREATE TABLE account_failures (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    consecutive INTEGER NOT NULL CHECK (consecutive >= 0),
    locked_until_ms INTEGER,
    updated_at_ms INTEGER NOT NULL
);
