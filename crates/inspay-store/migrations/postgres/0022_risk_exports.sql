-- Risk events for the external risk-control system (clause 5.3.3.5): a durable outbox that
-- every node drains under leases, so an event survives a sink outage and a node's crash.
--
-- `payload` holds exactly the bytes that were signed, at enqueue, with the response-signing
-- key (`signature`, base64 DER, by `key_serial`): a payload changed in the database no longer
-- verifies, here before sending or at the receiver. It carries no raw personal data (account
-- ids are keyed HMACs, client addresses cut to their network).
--
-- Each sink has its own state: 'skipped' when the sink was not configured at enqueue, 'done'
-- once it acknowledged. A row is due while a sink is pending, its next attempt has come and no
-- node holds its lease. One row per decision or security event (UNIQUE), so enqueueing twice
-- sends once.
CREATE TABLE risk_exports (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('decision', 'security-event')),
    subject_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    signature TEXT NOT NULL,
    key_serial BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    nats_state TEXT NOT NULL CHECK (nats_state IN ('pending', 'done', 'skipped')),
    webhook_state TEXT NOT NULL CHECK (webhook_state IN ('pending', 'done', 'skipped')),
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    UNIQUE (kind, subject_id)
);
-- Due rows only: delivered rows drop out of the index the worker scans every second.
CREATE INDEX risk_exports_due ON risk_exports (next_attempt_at_ms)
    WHERE nats_state = 'pending' OR webhook_state = 'pending';
-- The purge of delivered rows by age.
CREATE INDEX risk_exports_created ON risk_exports (created_at_ms);
