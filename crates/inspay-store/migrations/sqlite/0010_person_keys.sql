-- Identity, part 7: per-person data keys (clause 5.6.1-a1) and account closure ending in
-- erasure by destroying the person's key once the retention period is over (clause 5.6.5-a4).
--
-- Each person's fields are sealed with SM4-GCM under that person's own random 128-bit key. The
-- key is stored only wrapped under the field-encryption key (sm4-gcm:vN:..., bound to the
-- person id), one row per person. Deleting the row erases the person: the sealed fields stay
-- and can never be opened again.

CREATE TABLE person_keys (
    person_id TEXT PRIMARY KEY REFERENCES persons (id),
    version INTEGER NOT NULL CHECK (version > 0),
    wrapped TEXT NOT NULL CHECK (wrapped LIKE 'sm4-gcm:v%'),
    created_at_ms INTEGER NOT NULL
);

-- Set when the person's key is destroyed. An erased row keeps no blind index and no record MAC
-- (either would let someone holding the keys confirm a guessed mobile or ID number).
ALTER TABLE persons ADD COLUMN erased_at_ms INTEGER
    CHECK (erased_at_ms IS NULL OR (mobile_index = '' AND id_number_index = '' AND record_mac = ''));

-- One row per closed customer account: when it closed, when its person may be erased, and when
-- that was done.
CREATE TABLE account_closures (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id),
    closed_at_ms INTEGER NOT NULL,
    erase_after_ms INTEGER NOT NULL CHECK (erase_after_ms >= closed_at_ms),
    erased_at_ms INTEGER CHECK (erased_at_ms IS NULL OR erased_at_ms >= erase_after_ms)
);
CREATE INDEX account_closures_due ON account_closures (erase_after_ms) WHERE erased_at_ms IS NULL;
