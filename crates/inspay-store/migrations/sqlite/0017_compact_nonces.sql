-- Request nonces as a WITHOUT ROWID table (SQLite only): the rows are small and always found by
-- their primary key, so storing them in the primary-key B-tree itself saves the second B-tree
-- (rowid table plus key index) that every signed request would otherwise write.

CREATE TABLE request_nonces_compact (
    app_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    seen_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (app_id, nonce)
) WITHOUT ROWID;
INSERT INTO request_nonces_compact (app_id, nonce, seen_at_ms, expires_at_ms)
    SELECT app_id, nonce, seen_at_ms, expires_at_ms FROM request_nonces;
DROP TABLE request_nonces;
ALTER TABLE request_nonces_compact RENAME TO request_nonces;
CREATE INDEX request_nonces_expiry ON request_nonces (expires_at_ms);
