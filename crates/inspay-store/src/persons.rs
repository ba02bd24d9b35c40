//! Personal records at rest (clauses 5.6.1-a1 and 5.6.1-b): legal name, mobile number and ID
//! number, each sealed with SM4-GCM under the field-encryption key with associated data
//! `persons|<column>|<row id>` (a ciphertext copied to another row or column fails to open),
//! an HMAC-SM3 blind index for equality look-ups, and a record MAC over the whole row.
//!
//! Only [`PersonalField`] types reach this module; payment-sensitive values have no way in.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber, PersonalField};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::Row;

/// A person to store, parsed at the edge.
#[derive(Debug)]
pub struct NewPerson {
    /// Legal name.
    pub legal_name: LegalName,
    /// Mobile number.
    pub mobile: MobileNumber,
    /// ID number.
    pub id_number: IdNumber,
}

/// A stored person, decrypted.
#[derive(Debug)]
pub struct Person {
    /// Row id (UUIDv7).
    pub id: String,
    /// Legal name.
    pub legal_name: LegalName,
    /// Mobile number.
    pub mobile: MobileNumber,
    /// ID number.
    pub id_number: IdNumber,
    /// Created (unix ms).
    pub created_at_ms: i64,
}

/// The stored (sealed) form of a row.
#[derive(Debug, Clone)]
struct StoredPerson {
    id: String,
    legal_name: String,
    mobile: String,
    mobile_index: String,
    id_number: String,
    id_number_index: String,
    created_at_ms: i64,
    record_mac: String,
}

impl StoredPerson {
    fn mac_parts(&self) -> Vec<Vec<u8>> {
        [
            "persons",
            &self.id,
            &self.legal_name,
            &self.mobile,
            &self.mobile_index,
            &self.id_number,
            &self.id_number_index,
            &self.created_at_ms.to_string(),
        ]
        .iter()
        .map(|part| part.as_bytes().to_vec())
        .collect()
    }

    fn seal(
        keyring: &Keyring,
        id: &str,
        person: &NewPerson,
        created_at_ms: i64,
    ) -> Result<Self, StoreError> {
        let mut stored = StoredPerson {
            id: id.to_string(),
            legal_name: seal(keyring, id, "legal_name", &person.legal_name)?,
            mobile: seal(keyring, id, "mobile", &person.mobile)?,
            mobile_index: keyring
                .blind_index("mobile", person.mobile.index_form())?
                .to_text(),
            id_number: seal(keyring, id, "id_number", &person.id_number)?,
            id_number_index: keyring
                .blind_index("id_number", person.id_number.index_form())?
                .to_text(),
            created_at_ms,
            record_mac: String::new(),
        };
        stored.record_mac = mac(keyring, &stored)?;
        Ok(stored)
    }

    fn from_row(row: &sqlx::any::AnyRow) -> Result<Self, StoreError> {
        Ok(StoredPerson {
            id: row.try_get(0)?,
            legal_name: row.try_get(1)?,
            mobile: row.try_get(2)?,
            mobile_index: row.try_get(3)?,
            id_number: row.try_get(4)?,
            id_number_index: row.try_get(5)?,
            created_at_ms: row.try_get(6)?,
            record_mac: row.try_get(7)?,
        })
    }
}

const SELECT_PERSONS: &str = "SELECT id, legal_name, mobile, mobile_index, id_number, id_number_index, created_at_ms, record_mac FROM persons";

fn aad(id: &str, column: &str) -> Vec<u8> {
    format!("persons|{column}|{id}").into_bytes()
}

fn seal<F: PersonalField>(
    keyring: &Keyring,
    id: &str,
    column: &str,
    field: &F,
) -> Result<String, StoreError> {
    Ok(keyring
        .seal_field(&aad(id, column), field.expose().as_bytes())?
        .to_text())
}

fn open<F: PersonalField>(
    keyring: &Keyring,
    id: &str,
    column: &str,
    text: &str,
    rewrap: bool,
) -> Result<F, StoreError> {
    let sealed = Sealed::parse(text)?;
    let plain = if rewrap {
        keyring.open_field_for_rewrap(&aad(id, column), &sealed)?
    } else {
        keyring.open_field(&aad(id, column), &sealed)?
    };
    let text = std::str::from_utf8(&plain).map_err(|_| StoreError::Malformed("personal field"))?;
    F::parse(text).map_err(|_| StoreError::Malformed("personal field"))
}

fn mac(keyring: &Keyring, stored: &StoredPerson) -> Result<String, StoreError> {
    let parts = stored.mac_parts();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    Ok(keyring.record_mac(&refs)?.to_text())
}

fn check_mac(keyring: &Keyring, stored: &StoredPerson) -> Result<(), StoreError> {
    let parts = stored.mac_parts();
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let sealed = Sealed::parse(&stored.record_mac)?;
    if keyring.verify_record_mac(&refs, &sealed)? {
        Ok(())
    } else {
        Err(StoreError::Integrity(format!(
            "person {} was changed outside inspay (record MAC mismatch)",
            stored.id
        )))
    }
}

/// What a rewrap did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RewrapSummary {
    /// Rows read.
    pub rows: u64,
    /// Rows re-protected under the newest keys.
    pub rewrapped: u64,
    /// Rows that could not be opened (their key is destroyed or suspended).
    pub unreadable: u64,
}

impl Store {
    /// Stores a person, sealed, and audits it with the masked mobile number. Returns its id.
    pub async fn person_insert(
        &self,
        keyring: &Keyring,
        person: &NewPerson,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let stored = StoredPerson::seal(keyring, &id, person, now_ms)?;
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO persons (id, legal_name, mobile, mobile_index, id_number, id_number_index, created_at_ms, record_mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&stored.id)
        .bind(&stored.legal_name)
        .bind(&stored.mobile)
        .bind(&stored.mobile_index)
        .bind(&stored.id_number)
        .bind(&stored.id_number_index)
        .bind(stored.created_at_ms)
        .bind(&stored.record_mac)
        .execute(&mut *tx)
        .await?;
        let object = format!("person:{id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "person.create",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[("mobile", AuditValue::Masked(person.mobile.masked()))],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads and decrypts a person after checking the record MAC.
    pub async fn person_get(&self, keyring: &Keyring, id: &str) -> Result<Person, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_PERSONS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        let stored = StoredPerson::from_row(&row)?;
        check_mac(keyring, &stored)?;
        Ok(Person {
            legal_name: open(keyring, &stored.id, "legal_name", &stored.legal_name, false)?,
            mobile: open(keyring, &stored.id, "mobile", &stored.mobile, false)?,
            id_number: open(keyring, &stored.id, "id_number", &stored.id_number, false)?,
            created_at_ms: stored.created_at_ms,
            id: stored.id,
        })
    }

    /// Finds people by mobile number through the blind index, under every searchable key
    /// version.
    pub async fn person_find_by_mobile(
        &self,
        keyring: &Keyring,
        mobile: &MobileNumber,
    ) -> Result<Vec<String>, StoreError> {
        let mut ids = vec![];
        for index in keyring.blind_indexes_for_lookup("mobile", mobile.index_form()) {
            let rows = sqlx::query("SELECT id FROM persons WHERE mobile_index = $1 ORDER BY id")
                .bind(index)
                .fetch_all(&self.pool)
                .await?;
            for row in rows {
                ids.push(row.try_get(0)?);
            }
        }
        Ok(ids)
    }

    /// Checks every row's record MAC (the scheduled integrity check). Returns the ids of rows
    /// that fail.
    pub async fn persons_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!("{SELECT_PERSONS} ORDER BY id")))
            .fetch_all(&self.pool)
            .await?;
        let mut failing = vec![];
        for row in rows {
            let stored = StoredPerson::from_row(&row)?;
            if check_mac(keyring, &stored).is_err() {
                failing.push(stored.id);
            }
        }
        Ok(failing)
    }

    /// Re-protects every row whose fields, indexes or MAC use a key version older than the
    /// active one. `progress` is called with (rows done, rows total).
    pub async fn persons_rewrap(
        &self,
        keyring: &Keyring,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RewrapSummary, StoreError> {
        const PAGE: i64 = 500;
        let total: i64 = sqlx::query("SELECT COUNT(*) FROM persons")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut summary = RewrapSummary::default();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT_PERSONS} WHERE id > $1 ORDER BY id LIMIT $2"
            )))
            .bind(&after)
            .bind(PAGE)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let stored = StoredPerson::from_row(&row)?;
                after.clone_from(&stored.id);
                summary.rows += 1;
                match self.person_rewrap_one(keyring, &stored).await {
                    Ok(true) => summary.rewrapped += 1,
                    Ok(false) => {}
                    Err(StoreError::Kms(_)) => summary.unreadable += 1,
                    Err(other) => return Err(other),
                }
                progress(summary.rows, total);
            }
        }
        Ok(summary)
    }

    async fn person_rewrap_one(
        &self,
        keyring: &Keyring,
        stored: &StoredPerson,
    ) -> Result<bool, StoreError> {
        let current = |text: &str, purpose| -> Result<bool, StoreError> {
            Ok(Some(Sealed::parse(text)?.key_version) == keyring.active_version(purpose))
        };
        use inspay_kms::KeyPurpose::{BlindIndex, FieldEncryption, RecordMac};
        if current(&stored.legal_name, FieldEncryption)?
            && current(&stored.mobile, FieldEncryption)?
            && current(&stored.id_number, FieldEncryption)?
            && current(&stored.mobile_index, BlindIndex)?
            && current(&stored.id_number_index, BlindIndex)?
            && current(&stored.record_mac, RecordMac)?
        {
            return Ok(false);
        }
        check_mac(keyring, stored).or_else(|error| match error {
            // A MAC under a compromised or retired key is re-made below; a mismatch is not.
            StoreError::Kms(_) => Ok(()),
            other => Err(other),
        })?;
        let person = NewPerson {
            legal_name: open(keyring, &stored.id, "legal_name", &stored.legal_name, true)?,
            mobile: open(keyring, &stored.id, "mobile", &stored.mobile, true)?,
            id_number: open(keyring, &stored.id, "id_number", &stored.id_number, true)?,
        };
        let fresh = StoredPerson::seal(keyring, &stored.id, &person, stored.created_at_ms)?;
        let mut tx = self.begin_write().await?;
        // Compare-and-swap on the old MAC, so a concurrent change is never overwritten.
        let updated = sqlx::query(
            "UPDATE persons SET legal_name = $2, mobile = $3, mobile_index = $4, id_number = $5,
                id_number_index = $6, record_mac = $7
             WHERE id = $1 AND record_mac = $8",
        )
        .bind(&fresh.id)
        .bind(&fresh.legal_name)
        .bind(&fresh.mobile)
        .bind(&fresh.mobile_index)
        .bind(&fresh.id_number)
        .bind(&fresh.id_number_index)
        .bind(&fresh.record_mac)
        .bind(&stored.record_mac)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(updated.rows_affected() == 1)
    }
}
