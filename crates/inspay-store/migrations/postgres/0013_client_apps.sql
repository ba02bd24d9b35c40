-- Protocol, part 2: the client applications that may call the API (clauses 5.4.2.1, 4-a,
-- 6.4.5, 6.4.6) and the evidence kept of their fund-transaction requests (clause 5.6.2-d1).
--
-- client_apps: one row per integrating application. class is the highest operation class it
-- may call; status 'revoked' is final. tls_fingerprint, when set, is the SM3 of the client
-- certificate (DER, hex) the application must present on the mutual-TLS listener.
-- sdk_version_min refuses older SDKs with an "update required" error; last_sdk is the SDK
-- name and version the application last reported.
--
-- client_app_keys: its SM2 public keys (uncompressed SEC1, hex), numbered by serial within
-- the application; several can be live at once during a rotation. fingerprint ("sm3:" + SM3
-- of the SPKI DER) is unique across every application and state, so a key is never reused.
--
-- request_evidence: for every signed fund-transaction request the server answered, what the
-- client signed (method, target, timestamp, nonce, SM3 of the body: enough to verify the
-- signature again later without keeping the body, which can hold personal data), the
-- signature, and the server's signed answer. record_mac (HMAC-SM3 under the record-MAC key)
-- detects rows changed outside the application.

CREATE TABLE client_apps (
    id TEXT PRIMARY KEY CHECK (length(id) BETWEEN 1 AND 64),
    name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
    class TEXT NOT NULL
        CHECK (class IN ('information-query', 'information-collection', 'fund-transaction')),
    status TEXT NOT NULL CHECK (status IN ('active', 'suspended', 'revoked')),
    tls_fingerprint TEXT CHECK (length(tls_fingerprint) = 64),
    sdk_version_min TEXT CHECK (length(sdk_version_min) BETWEEN 1 AND 32),
    last_sdk TEXT CHECK (length(last_sdk) BETWEEN 1 AND 96),
    last_seen_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE client_app_keys (
    app_id TEXT NOT NULL REFERENCES client_apps (id),
    serial INTEGER NOT NULL CHECK (serial > 0),
    public_key TEXT NOT NULL CHECK (length(public_key) = 130),
    fingerprint TEXT NOT NULL UNIQUE CHECK (length(fingerprint) = 68),
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT,
    PRIMARY KEY (app_id, serial)
);

CREATE TABLE request_evidence (
    id TEXT PRIMARY KEY,
    app_id TEXT NOT NULL REFERENCES client_apps (id),
    serial INTEGER NOT NULL,
    account_id TEXT,
    method TEXT NOT NULL CHECK (length(method) BETWEEN 1 AND 16),
    target TEXT NOT NULL CHECK (length(target) BETWEEN 1 AND 2048),
    timestamp_s BIGINT NOT NULL,
    nonce TEXT NOT NULL CHECK (length(nonce) BETWEEN 16 AND 64),
    body_sm3 TEXT NOT NULL CHECK (length(body_sm3) = 64),
    signature TEXT NOT NULL CHECK (length(signature) BETWEEN 1 AND 128),
    sdk TEXT CHECK (length(sdk) BETWEEN 1 AND 96),
    response_status INTEGER NOT NULL,
    response_timestamp_s BIGINT NOT NULL,
    response_nonce TEXT NOT NULL,
    response_body_sm3 TEXT NOT NULL CHECK (length(response_body_sm3) = 64),
    response_serial INTEGER NOT NULL,
    response_signature TEXT NOT NULL CHECK (length(response_signature) BETWEEN 1 AND 128),
    received_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL
);
CREATE INDEX request_evidence_app ON request_evidence (app_id, received_at_ms);
