-- Foundation: migrations ledger, key store, audit chain, protected personal records.
-- Digests, MACs and wrapped keys are tagged text too (sm3:..., hmac-sm3:kek.<id>:..., sm4-gcm:kek.<id>:...).
-- Times are unix milliseconds (BIGINT); stored secrets are tagged text (algorithm:vN:data).

CREATE TABLE kms_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    master_check_value TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE data_keys (
    purpose TEXT NOT NULL,
    version BIGINT NOT NULL CHECK (version > 0),
    state TEXT NOT NULL CHECK (state IN ('pre-active','active','decrypt-only','suspended','compromised','destroyed')),
    state_before_suspension TEXT,
    algorithm TEXT NOT NULL,
    wrapped TEXT,
    public_key_pem TEXT,
    created_at_ms BIGINT NOT NULL,
    activated_at_ms BIGINT,
    rotate_after_ms BIGINT,
    deactivated_at_ms BIGINT,
    destroy_after_ms BIGINT,
    destroyed_at_ms BIGINT,
    record_mac TEXT NOT NULL,
    PRIMARY KEY (purpose, version)
);
-- At most one active key per purpose, enforced by the database across all nodes.
CREATE UNIQUE INDEX data_keys_one_active ON data_keys (purpose) WHERE state = 'active';

CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);

CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    outcome TEXT NOT NULL,
    request_id TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
-- The application never updates or deletes audit entries; the database refuses it too.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TABLE audit_checkpoints (
    seq BIGINT PRIMARY KEY,
    hash TEXT NOT NULL,
    signature TEXT NOT NULL,
    signed_at_ms BIGINT NOT NULL
);

CREATE TABLE persons (
    id TEXT PRIMARY KEY,
    legal_name TEXT NOT NULL,
    mobile TEXT NOT NULL,
    mobile_index TEXT NOT NULL,
    id_number TEXT NOT NULL,
    id_number_index TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    record_mac TEXT NOT NULL
);
CREATE INDEX persons_mobile_index ON persons (mobile_index);
CREATE INDEX persons_id_number_index ON persons (id_number_index);
