-- Identity, part 3: SMS one-time codes (stored as keyed MACs, never in clear) and the record
-- of SMS sends that the rate limits count.

CREATE TABLE one_time_codes (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    binding TEXT NOT NULL,
    mobile_index TEXT NOT NULL,
    code_mac TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    tries BIGINT NOT NULL CHECK (tries >= 0),
    consumed_at_ms BIGINT
);
CREATE INDEX one_time_codes_binding ON one_time_codes (purpose, binding);

CREATE TABLE sms_sends (
    mobile_index TEXT NOT NULL,
    sent_at_ms BIGINT NOT NULL
);
CREATE INDEX sms_sends_mobile ON sms_sends (mobile_index, sent_at_ms);
