-- Protocol, part 1: nonces of signed requests (clause 5.6.2-e). A (application, nonce) pair is
-- accepted once; the primary key makes two nodes that see the same request at the same moment
-- take turns, and the second finds the pair taken. Rows are kept past the timestamp window
-- and then purged.

CREATE TABLE request_nonces (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
);
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at_ms);
