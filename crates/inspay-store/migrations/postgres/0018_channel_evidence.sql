-- The payment channel's signed answers, kept with the order each one decided (clause 5.6.2-d1).
-- The body is kept exactly as the channel signed it, sealed (it names the card's token), so the
-- signature can be verified again years later with the channel's public key.

CREATE TABLE channel_evidence (
    id TEXT PRIMARY KEY,
    order_kind TEXT NOT NULL CHECK (order_kind IN ('payment', 'refund', 'payout')),
    order_id TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    timestamp_s BIGINT NOT NULL,
    nonce TEXT NOT NULL,
    request_nonce TEXT NOT NULL,
    body_sealed TEXT NOT NULL,
    signature TEXT NOT NULL,
    received_at_ms BIGINT NOT NULL
);
CREATE INDEX channel_evidence_order ON channel_evidence (order_id);
