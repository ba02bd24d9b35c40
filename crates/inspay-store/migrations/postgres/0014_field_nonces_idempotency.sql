-- Protocol, part 3.
--
-- field_nonces: one-time nonces a client binds its encrypted sensitive fields to (clauses
-- 5.2.2.1-c/d, 5.6.2-b). Issued to one application, valid for a few minutes, consumed by the
-- first request that uses them; purged after expiry.
--
-- idempotency_keys: the first answer to each (application, Idempotency-Key) pair, kept at
-- least 24 hours, so a retried request gets the same answer and is never executed twice.
-- request_mac binds the key to the request it was first used with (HMAC-SM3 over the method,
-- target and the decrypted body, under the record-MAC key; never the body itself, which can
-- hold personal data). state 'in-progress' marks a request still running: a concurrent retry
-- waits for it rather than running beside it.

CREATE TABLE field_nonces (
    nonce TEXT PRIMARY KEY CHECK (length(nonce) = 32),
    app_id TEXT NOT NULL REFERENCES client_apps (id),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    consumed_at_ms BIGINT,
    CHECK (expires_at_ms > created_at_ms)
);
CREATE INDEX field_nonces_expiry ON field_nonces (expires_at_ms);

CREATE TABLE idempotency_keys (
    app_id TEXT NOT NULL REFERENCES client_apps (id),
    idempotency_key TEXT NOT NULL CHECK (length(idempotency_key) BETWEEN 16 AND 64),
    request_mac TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in-progress', 'done')),
    response_status INTEGER,
    response_content_type TEXT,
    response_body BYTEA,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    PRIMARY KEY (app_id, idempotency_key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at_ms);
