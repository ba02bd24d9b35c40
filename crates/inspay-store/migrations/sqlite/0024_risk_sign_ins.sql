-- Sign-in history for login risk (issue 6 item 2; clauses 5.3.3.1, 5.3.3.3-c, 5.4.3.2).
--
-- One row per first-factor attempt (right or wrong), so the engine can tell a new device or
-- network region, impossible travel, a device or address trying many accounts, and failure
-- bursts. No row holds the login name, the mobile number, a secret or the full IP address:
--   name_ref    the server's HMAC-SM3 of the login name (blind-index key, its own label);
--   device_ref  the server's HMAC-SM3 of the device id the app sent (NULL: none sent);
--   ip_ref      the server's HMAC-SM3 of the client address, for per-address counts;
--   network     the address's network region: the IPv4 /16 or IPv6 /48 prefix;
--   latitude_e4, longitude_e4: where the operator's region file places the address, in
--               1/10,000 degree (NULL: not in the file, or no file).
-- `outcome` moves forward only: 'started' (first factor right, flow open) to 'completed'
-- (every factor the sign-in needed was given: the device and region become known) or to
-- 'awaiting-extra' (the second factor was given; the extra one a risky sign-in needs is due),
-- then to 'completed' or 'ended'. 'failed' and 'denied' rows never change.
CREATE TABLE risk_sign_ins (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    account_id TEXT,
    name_ref TEXT NOT NULL CHECK (length(name_ref) BETWEEN 1 AND 128),
    device_ref TEXT CHECK (length(device_ref) BETWEEN 1 AND 128),
    ip_ref TEXT NOT NULL CHECK (length(ip_ref) BETWEEN 1 AND 128),
    network TEXT NOT NULL CHECK (length(network) BETWEEN 1 AND 64),
    latitude_e4 BIGINT,
    longitude_e4 BIGINT,
    outcome TEXT NOT NULL
        CHECK (outcome IN ('failed', 'denied', 'started', 'awaiting-extra', 'completed', 'ended')),
    flow_id TEXT,
    decision_id TEXT,
    extra_factor TEXT CHECK (extra_factor IN ('id-number', 'device-key')),
    updated_at_ms BIGINT NOT NULL
);
-- Per-address failures (15 min) and distinct names (1 h).
CREATE INDEX risk_sign_ins_ip ON risk_sign_ins (ip_ref, at_ms);
-- Per-name failures (15 min).
CREATE INDEX risk_sign_ins_name ON risk_sign_ins (name_ref, at_ms);
-- The account's known devices and regions and its previous sign-in.
CREATE INDEX risk_sign_ins_account ON risk_sign_ins (account_id, outcome, at_ms);
-- Distinct accounts per device (30 days).
CREATE INDEX risk_sign_ins_device ON risk_sign_ins (device_ref, at_ms);
-- The row of a sign-in flow, for its later steps.
CREATE INDEX risk_sign_ins_flow ON risk_sign_ins (flow_id);
-- Retention.
CREATE INDEX risk_sign_ins_at ON risk_sign_ins (at_ms);
