-- Identity, part 8: possession factors proved by SM2 signatures (clause 5.2.1.1, 5.2.1.1-d3).
--
-- credential_keys holds public keys only: a customer's device-bound key (the phone's own
-- biometric check unlocks it; no template or anything about it reaches the server) and a
-- staff member's certificate or registered SM2 public key. public_key is the uncompressed
-- SEC1 point in hex; fingerprint is "sm3:" and the SM3 of the key's SPKI DER, unique across
-- every account and every state, so a revoked key can never be enrolled again. Certificate
-- fields are all NULL (device keys, bare staff keys) or all set.
--
-- key_challenges are single-use server challenges: the nonce, what they are bound to, and
-- when they expire and were consumed. The signed message is rebuilt from these columns.

CREATE TABLE credential_keys (
    id TEXT PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    kind TEXT NOT NULL CHECK (kind IN ('device-key', 'certificate')),
    public_key TEXT NOT NULL CHECK (length(public_key) = 130),
    fingerprint TEXT NOT NULL UNIQUE CHECK (length(fingerprint) = 68),
    label TEXT NOT NULL CHECK (length(label) BETWEEN 1 AND 64),
    serial TEXT CHECK (length(serial) BETWEEN 1 AND 64),
    subject TEXT CHECK (length(subject) <= 256),
    not_before_ms BIGINT,
    not_after_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT,
    revoked_at_ms BIGINT,
    CHECK (
        (serial IS NULL AND subject IS NULL AND not_before_ms IS NULL AND not_after_ms IS NULL)
        OR (kind = 'certificate' AND serial IS NOT NULL AND subject IS NOT NULL
            AND not_before_ms IS NOT NULL AND not_after_ms IS NOT NULL
            AND not_before_ms <= not_after_ms)
    )
);
CREATE INDEX credential_keys_account ON credential_keys (account_id);

CREATE TABLE key_challenges (
    id TEXT PRIMARY KEY,
    key_id TEXT NOT NULL REFERENCES credential_keys (id),
    account_id TEXT NOT NULL REFERENCES accounts (id),
    purpose TEXT NOT NULL CHECK (length(purpose) BETWEEN 1 AND 128),
    binding TEXT NOT NULL CHECK (length(binding) BETWEEN 1 AND 128),
    nonce TEXT NOT NULL CHECK (length(nonce) = 64),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    consumed_at_ms BIGINT,
    CHECK (expires_at_ms > created_at_ms)
);
CREATE INDEX key_challenges_key ON key_challenges (key_id);
