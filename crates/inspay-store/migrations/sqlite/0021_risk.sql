-- The risk engine's storage (clauses 5.3.3 and 6.3.7).

-- Registered rule-signing public keys. A pack is installed only if its signer is active here;
-- a revoked signer stays listed (with its key) so the packs it signed can still be traced.
CREATE TABLE risk_signers (
    name TEXT PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    public_key_pem TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('active', 'revoked')),
    added_by TEXT NOT NULL,
    added_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    record_mac TEXT NOT NULL
);

-- Signed rule packs, every version kept so an operator can roll back to any of them.
-- `manifest` holds the exact signed bytes, so a node verifies the signature again on load.
CREATE TABLE risk_packs (
    pack_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    manifest TEXT NOT NULL,
    signature TEXT NOT NULL,
    digest TEXT NOT NULL,
    signer TEXT NOT NULL REFERENCES risk_signers (name),
    key_fingerprint TEXT NOT NULL,
    rules BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('active', 'inactive')),
    installed_by TEXT NOT NULL,
    installed_at_ms BIGINT NOT NULL,
    activated_at_ms BIGINT,
    PRIMARY KEY (pack_id, version)
);
-- At most one active version per pack, whatever two nodes do at the same time.
CREATE UNIQUE INDEX risk_packs_one_active ON risk_packs (pack_id) WHERE state = 'active';

-- One row: a counter every pack or signer change increases, so nodes that poll it every
-- second know when to reload their packs (one indexed read instead of reading every pack).
CREATE TABLE risk_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    pack_generation BIGINT NOT NULL
);
INSERT INTO risk_state (id, pack_generation) VALUES (1, 0);

-- Every decision the engine made, for staff (the reasons are never shown to customers).
-- Each row carries a record MAC: decisions are evidence, so a row changed in the database is
-- refused when read.
CREATE TABLE risk_decisions (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    operation TEXT NOT NULL,
    account_id TEXT,
    reference TEXT,
    verdict TEXT NOT NULL,
    reasons TEXT NOT NULL,
    model_score REAL,
    alert INTEGER NOT NULL CHECK (alert IN (0, 1)),
    record_mac TEXT NOT NULL
);
CREATE INDEX risk_decisions_account ON risk_decisions (account_id, at_ms);
CREATE INDEX risk_decisions_at ON risk_decisions (at_ms);

-- The model's history: one row per fund operation the engine saw. `device_ref` is an
-- SM3-HMAC of the device id made by the server, never the raw identifier.
CREATE TABLE risk_observations (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL,
    product TEXT NOT NULL,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    device_ref TEXT
);
CREATE INDEX risk_observations_window ON risk_observations (account_id, kind, at_ms);
CREATE INDEX risk_observations_at ON risk_observations (at_ms);

-- What the model learned: one JSON body per customer, per product and one global.
CREATE TABLE risk_baselines (
    subject_kind TEXT NOT NULL CHECK (subject_kind IN ('customer', 'product', 'device', 'global')),
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    observations BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL,
    PRIMARY KEY (subject_kind, subject)
);
