-- Identity: graphic CAPTCHAs (clause 5.2.1.1-e). Only a keyed MAC of each answer is
-- kept, bound to the CAPTCHA id (HMAC-SM3 under the blind-index key, text form
-- `hmac-sm3:vN:...`); a row lives until it is redeemed (deleted on the first attempt, right or
-- wrong) or purged after it expires.

CREATE TABLE captchas (
    id TEXT PRIMARY KEY,
    answer_mac TEXT NOT NULL CHECK (answer_mac LIKE 'hmac-sm3:v%'),
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    CHECK (expires_at_ms > created_at_ms)
);
CREATE INDEX captchas_expiry ON captchas (expires_at_ms);
