-- Consent: the published privacy notices (by version and SM3 digest of their text) and every
-- consent decision, grants and withdrawals alike, kept as events.

CREATE TABLE privacy_notices (
    version TEXT PRIMARY KEY,
    text_digest TEXT NOT NULL,
    published_at_ms BIGINT NOT NULL
);

CREATE TABLE consent_events (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    notice_version TEXT NOT NULL REFERENCES privacy_notices (version),
    purpose TEXT NOT NULL,
    granted BIGINT NOT NULL CHECK (granted IN (0, 1)),
    at_ms BIGINT NOT NULL
);
CREATE INDEX consent_events_account ON consent_events (account_id, purpose, at_ms);
