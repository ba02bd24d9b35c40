//! The key store: wrapped data keys, their lifecycle transitions, rotation and destruction,
//! each transition audited in the same transaction (clause 5.5.2.1).
//!
//! Every key row carries a MAC under a key derived from the master key, so a state, version
//! or wrapped key changed directly in the database is refused when the keyring loads.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::{Store, StoreError};
use inspay_kms::keyring::KeyEntry;
use inspay_kms::material::KeyMaterial;
use inspay_kms::state::{KeyFacts, transition};
use inspay_kms::{KeyEvent, KeyPurpose, KeyState, Keyring, MasterKey};
use sqlx::{AnyConnection, Row};

const DAY_MS: i64 = 86_400_000;

/// One data key as stored, without its material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyRecord {
    /// Purpose.
    pub purpose: KeyPurpose,
    /// Version.
    pub version: u32,
    /// State.
    pub state: KeyState,
    /// State before a suspension.
    pub state_before_suspension: Option<KeyState>,
    /// Algorithm name.
    pub algorithm: String,
    /// Wrapped material as `sm4-gcm:kek.<id>:<base64url>` (`None` once destroyed).
    #[serde(skip)]
    pub wrapped: Option<String>,
    /// SPKI PEM of signing keys.
    pub public_key_pem: Option<String>,
    /// Created (unix ms).
    pub created_at_ms: i64,
    /// Activated.
    pub activated_at_ms: Option<i64>,
    /// When scheduled rotation is due.
    pub rotate_after_ms: Option<i64>,
    /// Deactivated by rotation.
    pub deactivated_at_ms: Option<i64>,
    /// When a scheduled destruction is due.
    pub destroy_after_ms: Option<i64>,
    /// Destroyed.
    pub destroyed_at_ms: Option<i64>,
}

impl KeyRecord {
    fn mac(&self, master: &MasterKey) -> String {
        let number = |value: Option<i64>| value.map(|v| v.to_string()).unwrap_or_default();
        let fields = [
            self.purpose.name().to_string(),
            self.version.to_string(),
            self.state.name().to_string(),
            self.state_before_suspension
                .map(|s| s.name().to_string())
                .unwrap_or_default(),
            self.algorithm.clone(),
            self.wrapped.clone().unwrap_or_default(),
            self.public_key_pem.clone().unwrap_or_default(),
            self.created_at_ms.to_string(),
            number(self.activated_at_ms),
            number(self.rotate_after_ms),
            number(self.deactivated_at_ms),
            number(self.destroy_after_ms),
            number(self.destroyed_at_ms),
        ];
        let parts: Vec<&[u8]> = fields.iter().map(|field| field.as_bytes()).collect();
        format!(
            "hmac-sm3:kek.{}:{}",
            master.key_id(),
            hex::encode(master.metadata_mac(&parts))
        )
    }

    fn facts(&self) -> KeyFacts {
        KeyFacts {
            purpose: self.purpose,
            version: self.version,
            state: self.state,
            state_before_suspension: self.state_before_suspension,
            destroy_after_s: self.destroy_after_ms.map(|ms| ms.div_euclid(1000)),
        }
    }

    /// `purpose:vN`, the object name used in the audit log.
    pub fn object(&self) -> String {
        format!("key:{}:v{}", self.purpose, self.version)
    }
}

/// Who asked, for the audit log.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    /// `operator:<name>`, `system`...
    pub actor: &'a str,
    /// Request or command id.
    pub request_id: &'a str,
}

/// How often each purpose rotates, in days.
#[derive(Debug, Clone)]
pub struct RotationPolicy {
    /// Days per purpose.
    pub days: Vec<(KeyPurpose, u32)>,
}

impl Default for RotationPolicy {
    fn default() -> Self {
        Self {
            days: KeyPurpose::ALL
                .into_iter()
                .map(|purpose| (purpose, purpose.rotation_days_default()))
                .collect(),
        }
    }
}

impl RotationPolicy {
    fn days_for(&self, purpose: KeyPurpose) -> u32 {
        self.days
            .iter()
            .find(|(p, _)| *p == purpose)
            .map(|(_, days)| *days)
            .unwrap_or(purpose.rotation_days_default())
    }
}

const SELECT_KEYS: &str = "SELECT purpose, version, state, state_before_suspension, algorithm, wrapped, \
    public_key_pem, created_at_ms, activated_at_ms, rotate_after_ms, deactivated_at_ms, destroy_after_ms, \
    destroyed_at_ms, record_mac FROM data_keys";

fn record_from_row(row: &sqlx::any::AnyRow) -> Result<(KeyRecord, String), StoreError> {
    let purpose: String = row.try_get(0)?;
    let version: i64 = row.try_get(1)?;
    let state: String = row.try_get(2)?;
    let before: Option<String> = row.try_get(3)?;
    let record = KeyRecord {
        purpose: KeyPurpose::parse(&purpose).ok_or(StoreError::Malformed("key purpose"))?,
        version: u32::try_from(version).map_err(|_| StoreError::Malformed("key version"))?,
        state: KeyState::parse(&state).ok_or(StoreError::Malformed("key state"))?,
        state_before_suspension: match before {
            Some(name) => Some(KeyState::parse(&name).ok_or(StoreError::Malformed("key state"))?),
            None => None,
        },
        algorithm: row.try_get(4)?,
        wrapped: row.try_get(5)?,
        public_key_pem: row.try_get(6)?,
        created_at_ms: row.try_get(7)?,
        activated_at_ms: row.try_get(8)?,
        rotate_after_ms: row.try_get(9)?,
        deactivated_at_ms: row.try_get(10)?,
        destroy_after_ms: row.try_get(11)?,
        destroyed_at_ms: row.try_get(12)?,
    };
    Ok((record, row.try_get(13)?))
}

async fn insert_record(
    connection: &mut AnyConnection,
    record: &KeyRecord,
    master: &MasterKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO data_keys (purpose, version, state, state_before_suspension, algorithm, wrapped,
            public_key_pem, created_at_ms, activated_at_ms, rotate_after_ms, deactivated_at_ms,
            destroy_after_ms, destroyed_at_ms, record_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(record.purpose.name())
    .bind(i64::from(record.version))
    .bind(record.state.name())
    .bind(record.state_before_suspension.map(KeyState::name))
    .bind(&record.algorithm)
    .bind(record.wrapped.clone())
    .bind(record.public_key_pem.clone())
    .bind(record.created_at_ms)
    .bind(record.activated_at_ms)
    .bind(record.rotate_after_ms)
    .bind(record.deactivated_at_ms)
    .bind(record.destroy_after_ms)
    .bind(record.destroyed_at_ms)
    .bind(record.mac(master))
    .execute(connection)
    .await?;
    Ok(())
}

async fn update_record(
    connection: &mut AnyConnection,
    record: &KeyRecord,
    master: &MasterKey,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE data_keys SET state = $3, state_before_suspension = $4, wrapped = $5,
            activated_at_ms = $6, rotate_after_ms = $7, deactivated_at_ms = $8, destroy_after_ms = $9,
            destroyed_at_ms = $10, record_mac = $11
         WHERE purpose = $1 AND version = $2",
    )
    .bind(record.purpose.name())
    .bind(i64::from(record.version))
    .bind(record.state.name())
    .bind(record.state_before_suspension.map(KeyState::name))
    .bind(record.wrapped.clone())
    .bind(record.activated_at_ms)
    .bind(record.rotate_after_ms)
    .bind(record.deactivated_at_ms)
    .bind(record.destroy_after_ms)
    .bind(record.destroyed_at_ms)
    .bind(record.mac(master))
    .execute(connection)
    .await?;
    Ok(())
}

async fn audit_key(
    connection: &mut AnyConnection,
    who: Actor<'_>,
    action: &str,
    record: &KeyRecord,
    details: &[(&'static str, AuditValue)],
    now_ms: i64,
) -> Result<(), StoreError> {
    let object = record.object();
    let mut all = vec![("state", AuditValue::Word(record.state.name()))];
    all.extend_from_slice(details);
    append(
        connection,
        &AuditEvent {
            actor: who.actor,
            action,
            object: &object,
            outcome: Outcome::Success,
            request_id: who.request_id,
            details: &all,
        },
        now_ms,
    )
    .await?;
    Ok(())
}

async fn records_for_update(
    connection: &mut AnyConnection,
    purpose: KeyPurpose,
    master: &MasterKey,
) -> Result<Vec<KeyRecord>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_KEYS} WHERE purpose = $1 ORDER BY version"
    )))
    .bind(purpose.name())
    .fetch_all(&mut *connection)
    .await?;
    rows.iter()
        .map(|row| {
            let (record, mac) = record_from_row(row)?;
            check_mac(&record, &mac, master)?;
            Ok(record)
        })
        .collect()
}

fn check_mac(record: &KeyRecord, mac: &str, master: &MasterKey) -> Result<(), StoreError> {
    if !inspay_crypto::sm3::constant_time_eq(record.mac(master).as_bytes(), mac.as_bytes()) {
        return Err(StoreError::Integrity(format!(
            "{} was changed outside inspay (its record MAC does not match); restore it from backup \
             and investigate (clause 5.6.1-b)",
            record.object()
        )));
    }
    Ok(())
}

/// Serialises changes to one purpose's keys across nodes. On PostgreSQL a transaction-scoped
/// advisory lock per purpose makes a second rotation wait and then see the first one's new
/// version; SQLite's write lock (`BEGIN IMMEDIATE`) already serialises every writer.
async fn lock_purpose(
    connection: &mut AnyConnection,
    backend: crate::Backend,
    purpose: KeyPurpose,
) -> Result<(), StoreError> {
    if backend == crate::Backend::Postgres {
        let index = KeyPurpose::ALL
            .iter()
            .position(|p| *p == purpose)
            .unwrap_or(KeyPurpose::ALL.len());
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(7_274_720_100_i64 + i64::try_from(index).unwrap_or(0))
            .execute(connection)
            .await?;
    }
    Ok(())
}

/// Generates and inserts a new version of a purpose's key as pre-active, then activates it,
/// retiring the previous active version to decrypt-only.
async fn create_and_activate(
    connection: &mut AnyConnection,
    master: &MasterKey,
    purpose: KeyPurpose,
    policy: &RotationPolicy,
    who: Actor<'_>,
    now_ms: i64,
) -> Result<KeyRecord, StoreError> {
    let existing = records_for_update(connection, purpose, master).await?;
    let version = existing
        .iter()
        .map(|record| record.version)
        .max()
        .unwrap_or(0)
        + 1;
    let material = KeyMaterial::generate(purpose)?;
    let mut record = KeyRecord {
        purpose,
        version,
        state: KeyState::PreActive,
        state_before_suspension: None,
        algorithm: purpose.algorithm().name().to_string(),
        wrapped: Some(master.wrap_text(purpose, version, &material.to_bytes())?),
        public_key_pem: material.public_key().map(|key| key.to_spki_pem()),
        created_at_ms: now_ms,
        activated_at_ms: None,
        rotate_after_ms: None,
        deactivated_at_ms: None,
        destroy_after_ms: None,
        destroyed_at_ms: None,
    };
    insert_record(connection, &record, master).await?;
    audit_key(connection, who, "key.create", &record, &[], now_ms).await?;
    for mut old in existing
        .into_iter()
        .filter(|record| record.state == KeyState::Active)
    {
        let next = transition(old.facts(), KeyEvent::Deactivate, 0, now_ms / 1000)?;
        old.state = next.state;
        old.deactivated_at_ms = Some(now_ms);
        update_record(connection, &old, master).await?;
        audit_key(connection, who, "key.deactivate", &old, &[], now_ms).await?;
    }
    let next = transition(record.facts(), KeyEvent::Activate, 0, now_ms / 1000)?;
    record.state = next.state;
    record.activated_at_ms = Some(now_ms);
    record.rotate_after_ms = Some(now_ms + i64::from(policy.days_for(purpose)) * DAY_MS);
    update_record(connection, &record, master).await?;
    audit_key(
        connection,
        who,
        "key.activate",
        &record,
        &[(
            "rotation_days",
            AuditValue::Number(i64::from(policy.days_for(purpose))),
        )],
        now_ms,
    )
    .await?;
    Ok(record)
}

impl Store {
    /// Prepares key management: on first use records the master key's check value and creates
    /// an active key for every purpose; afterwards checks that `master` is the right key and
    /// creates keys for any purpose that has none active. Returns the purposes given new keys.
    pub async fn kms_initialise(
        &self,
        master: &MasterKey,
        policy: &RotationPolicy,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<Vec<KeyPurpose>, StoreError> {
        let mut tx = self.begin_write().await?;
        if self.backend == crate::Backend::Postgres {
            // Nodes starting together on an empty database take turns (SQLite's write lock
            // already does this).
            sqlx::query("SELECT pg_advisory_xact_lock(7274720002)")
                .execute(&mut *tx)
                .await?;
        }
        let stored: Option<String> =
            sqlx::query("SELECT master_check_value FROM kms_meta WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        match stored {
            Some(value) if value != master.check_value() => {
                return Err(StoreError::Integrity(
                    "the master key given is not the one this database's keys are wrapped under; \
                     check INSPAY_MASTER_KEY, the key file or the custodian shares"
                        .into(),
                ));
            }
            Some(_) => {}
            None => {
                sqlx::query("INSERT INTO kms_meta (id, master_check_value, created_at_ms) VALUES (1, $1, $2)")
                    .bind(master.check_value())
                    .bind(now_ms)
                    .execute(&mut *tx)
                    .await?;
                append(
                    &mut tx,
                    &AuditEvent {
                        actor: who.actor,
                        action: "kms.initialise",
                        object: "kms",
                        outcome: Outcome::Success,
                        request_id: who.request_id,
                        details: &[(
                            "master_check_value",
                            AuditValue::Fingerprint(master.check_value()),
                        )],
                    },
                    now_ms,
                )
                .await?;
            }
        }
        let mut created = vec![];
        for purpose in KeyPurpose::ALL {
            let records = records_for_update(&mut tx, purpose, master).await?;
            if !records
                .iter()
                .any(|record| record.state == KeyState::Active)
            {
                create_and_activate(&mut tx, master, purpose, policy, who, now_ms).await?;
                created.push(purpose);
            }
        }
        tx.commit().await?;
        Ok(created)
    }

    /// Every key record, without material, after checking each record's MAC.
    pub async fn key_list(&self, master: &MasterKey) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_KEYS} ORDER BY purpose, version"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let (record, mac) = record_from_row(row)?;
                check_mac(&record, &mac, master)?;
                Ok(record)
            })
            .collect()
    }

    /// Rotates the master key: every data key is unwrapped under `old` and wrapped again under
    /// `new`, every key record's MAC is remade, and the new check value is recorded, all in one
    /// transaction with its audit entry. Afterwards only `new` opens the keys; copies of the
    /// database from before the rotation stay readable only with `old`, so retire it.
    pub async fn kms_rotate_master(
        &self,
        old: &MasterKey,
        new: &MasterKey,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<usize, StoreError> {
        if old.check_value() == new.check_value() {
            return Err(StoreError::Integrity(
                "the new master key is the same as the current one".into(),
            ));
        }
        let mut tx = self.begin_write().await?;
        let stored: Option<String> =
            sqlx::query("SELECT master_check_value FROM kms_meta WHERE id = 1")
                .fetch_optional(&mut *tx)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        if stored.as_deref() != Some(old.check_value().as_str()) {
            return Err(StoreError::Integrity(
                "the current master key given is not the one this database's keys are wrapped under".into(),
            ));
        }
        let mut count = 0;
        for purpose in KeyPurpose::ALL {
            for mut record in records_for_update(&mut tx, purpose, old).await? {
                if let Some(wrapped) = &record.wrapped {
                    let material = old.unwrap_text(record.purpose, record.version, wrapped)?;
                    record.wrapped =
                        Some(new.wrap_text(record.purpose, record.version, &material)?);
                }
                update_record(&mut tx, &record, new).await?;
                count += 1;
            }
        }
        sqlx::query("UPDATE kms_meta SET master_check_value = $1 WHERE id = 1")
            .bind(new.check_value())
            .execute(&mut *tx)
            .await?;
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "kms.rotate-master",
                object: "kms",
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    (
                        "old_check_value",
                        AuditValue::Fingerprint(old.check_value()),
                    ),
                    (
                        "new_check_value",
                        AuditValue::Fingerprint(new.check_value()),
                    ),
                    (
                        "keys_rewrapped",
                        AuditValue::Number(i64::try_from(count).unwrap_or(i64::MAX)),
                    ),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(count)
    }

    /// Every key record without checking MACs (for public-key export, which needs no master key).
    pub async fn key_list_public(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_KEYS} ORDER BY purpose, version"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| record_from_row(row).map(|(record, _)| record))
            .collect()
    }

    /// Loads and unwraps every key that is not destroyed.
    pub async fn keyring_load(&self, master: &MasterKey) -> Result<Keyring, StoreError> {
        let mut keyring = Keyring::new();
        for record in self.key_list(master).await? {
            let material = match (&record.wrapped, record.state) {
                (_, KeyState::Destroyed) | (None, _) => None,
                (Some(wrapped), _) => {
                    let bytes = master.unwrap_text(record.purpose, record.version, wrapped)?;
                    Some(KeyMaterial::from_bytes(record.purpose, &bytes)?)
                }
            };
            keyring.insert(KeyEntry {
                purpose: record.purpose,
                version: record.version,
                state: record.state,
                material,
            });
        }
        Ok(keyring)
    }

    /// Rotates a purpose: a new version becomes active, the old one decrypt-only.
    pub async fn key_rotate(
        &self,
        master: &MasterKey,
        purpose: KeyPurpose,
        policy: &RotationPolicy,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<KeyRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        lock_purpose(&mut tx, self.backend, purpose).await?;
        let record = create_and_activate(&mut tx, master, purpose, policy, who, now_ms).await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Rotates every purpose whose active key is past its rotation date. Returns the new keys.
    pub async fn keys_rotate_due(
        &self,
        master: &MasterKey,
        policy: &RotationPolicy,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let due: Vec<KeyPurpose> = self
            .key_list(master)
            .await?
            .into_iter()
            .filter(|record| {
                record.state == KeyState::Active
                    && record.rotate_after_ms.is_some_and(|due| due <= now_ms)
            })
            .map(|record| record.purpose)
            .collect();
        let mut rotated = vec![];
        for purpose in due {
            rotated.push(
                self.key_rotate(master, purpose, policy, who, now_ms)
                    .await?,
            );
        }
        Ok(rotated)
    }

    /// Applies a lifecycle event to one key version (suspend, resume, compromise, schedule or
    /// cancel destruction). Destruction itself happens in [`Store::keys_destroy_due`].
    #[allow(clippy::too_many_arguments)]
    pub async fn key_transition(
        &self,
        master: &MasterKey,
        purpose: KeyPurpose,
        version: u32,
        event: KeyEvent,
        wait_days: u32,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<KeyRecord, StoreError> {
        let mut tx = self.begin_write().await?;
        lock_purpose(&mut tx, self.backend, purpose).await?;
        let records = records_for_update(&mut tx, purpose, master).await?;
        let newer_active = records
            .iter()
            .any(|record| record.version != version && record.state == KeyState::Active);
        let mut record = records
            .into_iter()
            .find(|record| record.version == version)
            .ok_or(StoreError::NotFound("key version"))?;
        let next = transition(record.facts(), event, wait_days, now_ms / 1000)?;
        record.state = next.state;
        record.state_before_suspension = next.state_before_suspension;
        record.destroy_after_ms = next.destroy_after_s.map(|s| s * 1000);
        if record.state == KeyState::Active && newer_active {
            // Another version took over while this one was suspended: it comes back retired.
            record.state = KeyState::DecryptOnly;
        }
        if event == KeyEvent::Destroy {
            record.wrapped = None;
            record.destroyed_at_ms = Some(now_ms);
        }
        update_record(&mut tx, &record, master).await?;
        let mut details = vec![];
        if let Some(due) = record.destroy_after_ms {
            details.push(("destroy_after_ms", AuditValue::Number(due)));
        }
        audit_key(
            &mut tx,
            who,
            &format!("key.{}", event.name()),
            &record,
            &details,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(record)
    }

    /// Destroys every key whose destruction waiting period is over: its wrapped material is
    /// erased, so whatever it alone protected is unrecoverable (clause 5.6.5-a1).
    pub async fn keys_destroy_due(
        &self,
        master: &MasterKey,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<Vec<KeyRecord>, StoreError> {
        let due: Vec<(KeyPurpose, u32)> = self
            .key_list(master)
            .await?
            .into_iter()
            .filter(|record| {
                record.state != KeyState::Destroyed
                    && record.destroy_after_ms.is_some_and(|due| due <= now_ms)
            })
            .map(|record| (record.purpose, record.version))
            .collect();
        let mut destroyed = vec![];
        for (purpose, version) in due {
            destroyed.push(
                self.key_transition(master, purpose, version, KeyEvent::Destroy, 0, who, now_ms)
                    .await?,
            );
        }
        if !destroyed.is_empty() && self.backend == crate::Backend::Sqlite {
            // secure_delete zeroed the page in the database file; the old page image may still
            // sit in the write-ahead log until a checkpoint, so fold the log in and truncate it.
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .execute(&self.pool)
                .await?;
        }
        Ok(destroyed)
    }
}

impl Store {
    /// The scheduled integrity check of `data_keys` (clause 5.6.1-b): every key record whose
    /// MAC under the master key fails, or that no longer parses, by object name
    /// (`key:<purpose>:v<version>` as stored),
    /// and the records that pass. The table holds a few rows per purpose, so it is read whole.
    pub async fn keys_verify(
        &self,
        master: &MasterKey,
    ) -> Result<(Vec<KeyRecord>, Vec<String>), StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_KEYS} ORDER BY purpose, version"
        )))
        .fetch_all(&self.pool)
        .await?;
        let mut intact = vec![];
        let mut failing = vec![];
        for row in &rows {
            let checked = record_from_row(row)
                .and_then(|(record, mac)| check_mac(&record, &mac, master).map(|()| record));
            match checked {
                Ok(record) => intact.push(record),
                Err(error) if crate::record_check::row_is_bad(&error) => {
                    let purpose: String = row.try_get(0)?;
                    let version: i64 = row.try_get(1)?;
                    failing.push(format!("key:{purpose}:v{version}"));
                }
                Err(error) => return Err(error),
            }
        }
        Ok((intact, failing))
    }
}
