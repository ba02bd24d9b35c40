//! Personal records at rest (clauses 5.6.1-a1, 5.6.1-b and 5.6.5-a4): legal name, mobile number
//! and ID number.
//!
//! Every person has their own data key: 128 random bits from the CSPRNG, stored only wrapped
//! (sealed with SM4-GCM) under the keyring's field-encryption key, with associated data
//! `person-key|<person id>`, in `person_keys`. Each field is sealed with SM4-GCM under the
//! person's key with associated data `persons|<column>|<row id>`, so a ciphertext copied to
//! another row or column fails to open, and so does one person's ciphertext under another
//! person's key. Equality look-ups go through an HMAC-SM3 blind index per searchable field, and
//! a record MAC covers the whole row.
//!
//! A field-key rotation only re-wraps the person keys; the sealed fields never need
//! re-encrypting. Destroying one person's key (see [`crate::closure`]) erases that person
//! alone: the sealed fields remain and can never be opened again.
//!
//! A customer's mobile number is also their login name. Changing it
//! ([`Store::person_change_mobile`]) re-seals only that field under the same person key and
//! moves the account's login-name index with it, in one transaction, so the record and the
//! sign-in never disagree.
//!
//! Only [`PersonalField`] types reach this module; payment-sensitive values have no way in.

use crate::audit::{AuditEvent, AuditValue, Outcome, append, append_by_account};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber, PersonalField};
use inspay_crypto::Algorithm;
use inspay_crypto::sm4::Sm4Key;
use inspay_identity::login_name::LoginName;
use inspay_kms::sealed::Sealed;
use inspay_kms::{KeyPurpose, Keyring, KmsError};
use sqlx::{AnyConnection, Row};

mod mobile_change;

/// The version of the person keys in use; the `vN` of every field sealed under one.
const PERSON_KEY_VERSION: u32 = 1;

/// Rows read per page by a rewrap.
const REWRAP_PAGE_ROWS: i64 = 500;

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

/// The stored (sealed) form of a row, with the person's wrapped key if it still exists.
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
    erased_at_ms: Option<i64>,
    wrapped_key: Option<String>,
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

    /// Seals a new person under a fresh person key, which comes back wrapped in the row.
    fn seal(
        keyring: &Keyring,
        id: &str,
        person: &NewPerson,
        created_at_ms: i64,
    ) -> Result<Self, StoreError> {
        let key = Sm4Key::generate().map_err(KmsError::from)?;
        let mut stored = StoredPerson {
            id: id.to_string(),
            legal_name: seal(&key, id, "legal_name", &person.legal_name)?,
            mobile: seal(&key, id, "mobile", &person.mobile)?,
            mobile_index: keyring
                .blind_index("mobile", person.mobile.index_form())?
                .to_text(),
            id_number: seal(&key, id, "id_number", &person.id_number)?,
            id_number_index: keyring
                .blind_index("id_number", person.id_number.index_form())?
                .to_text(),
            created_at_ms,
            record_mac: String::new(),
            erased_at_ms: None,
            wrapped_key: Some(wrap_key(keyring, id, &key)?),
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
            erased_at_ms: row.try_get(8)?,
            wrapped_key: row.try_get(9)?,
        })
    }

    /// The person's key, unwrapped. `rewrap` also accepts a compromised field key, so that
    /// the person key can be moved under a safe one.
    fn key(&self, keyring: &Keyring, rewrap: bool) -> Result<Sm4Key, StoreError> {
        if self.erased_at_ms.is_some() {
            return Err(StoreError::Erased);
        }
        let wrapped = self.wrapped_key.as_deref().ok_or_else(|| {
            StoreError::Integrity(format!(
                "person {} has no data key although it was never erased: its person_keys row was \
                 removed outside inspay; restore it from backup and investigate (clause 5.6.1-b)",
                self.id
            ))
        })?;
        let sealed = Sealed::parse(wrapped)?;
        let aad = key_aad(&self.id);
        let bytes = if rewrap {
            keyring.open_field_for_rewrap(&aad, &sealed)?
        } else {
            keyring.open_field(&aad, &sealed)?
        };
        Ok(Sm4Key::from_slice(&bytes).map_err(KmsError::from)?)
    }
}

const SELECT_PERSONS: &str = "SELECT p.id, p.legal_name, p.mobile, p.mobile_index, p.id_number, \
    p.id_number_index, p.created_at_ms, p.record_mac, p.erased_at_ms, k.wrapped \
    FROM persons p LEFT JOIN person_keys k ON k.person_id = p.id";

fn aad(id: &str, column: &str) -> Vec<u8> {
    format!("persons|{column}|{id}").into_bytes()
}

fn key_aad(id: &str) -> Vec<u8> {
    format!("person-key|{id}").into_bytes()
}

/// Wraps a person key under the active field-encryption key, bound to the person id.
fn wrap_key(keyring: &Keyring, id: &str, key: &Sm4Key) -> Result<String, StoreError> {
    Ok(keyring.seal_field(&key_aad(id), key.expose())?.to_text())
}

fn seal<F: PersonalField>(
    key: &Sm4Key,
    id: &str,
    column: &str,
    field: &F,
) -> Result<String, StoreError> {
    let bytes = key
        .seal(&aad(id, column), field.expose().as_bytes())
        .map_err(KmsError::from)?;
    Ok(Sealed {
        algorithm: Algorithm::Sm4Gcm,
        key_version: PERSON_KEY_VERSION,
        bytes,
    }
    .to_text())
}

fn open<F: PersonalField>(
    key: &Sm4Key,
    id: &str,
    column: &str,
    text: &str,
) -> Result<F, StoreError> {
    let sealed = Sealed::parse(text)?;
    if sealed.algorithm != Algorithm::Sm4Gcm || sealed.key_version != PERSON_KEY_VERSION {
        return Err(StoreError::Malformed("personal field"));
    }
    let plain = key
        .open(&aad(id, column), &sealed.bytes)
        .map_err(KmsError::from)?;
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

/// Whether a row is as inspay left it. A live row needs a matching record MAC and a person
/// key whose wrap opens (when the field key that wrapped it still exists: a destroyed field
/// key shreds the row, which is not tampering). An erased row must have no key and no index
/// or MAC left.
fn row_intact(keyring: &Keyring, stored: &StoredPerson) -> bool {
    if stored.erased_at_ms.is_some() {
        return stored.wrapped_key.is_none()
            && stored.mobile_index.is_empty()
            && stored.id_number_index.is_empty()
            && stored.record_mac.is_empty();
    }
    if check_mac(keyring, stored).is_err() {
        return false;
    }
    match stored.key(keyring, true) {
        Ok(_) | Err(StoreError::Kms(KmsError::Unavailable { .. })) => true,
        Err(_) => false,
    }
}

/// What a rewrap did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct RewrapSummary {
    /// Rows read (erased rows are skipped: they have nothing left to protect).
    pub rows: u64,
    /// Rows re-protected under the newest keys.
    pub rewrapped: u64,
    /// Rows that could not be opened (their key is destroyed or suspended).
    pub unreadable: u64,
}

/// What erasing a person did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PersonErasure {
    /// The key was deleted and the indexes cleared now.
    Erased,
    /// The person was erased before.
    AlreadyErased,
}

/// Erases a person inside the caller's write transaction: deletes the person key (the sealed
/// fields remain and can never be opened), clears the blind indexes and the record MAC, and
/// marks the row erased. The caller audits and commits.
pub(crate) async fn erase(
    connection: &mut AnyConnection,
    person_id: &str,
    now_ms: i64,
) -> Result<PersonErasure, StoreError> {
    let marked = sqlx::query(
        "UPDATE persons SET mobile_index = '', id_number_index = '', record_mac = '', erased_at_ms = $2
         WHERE id = $1 AND erased_at_ms IS NULL",
    )
    .bind(person_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    // Deleted even for a row marked before, so an erased person never keeps a key.
    let deleted = sqlx::query("DELETE FROM person_keys WHERE person_id = $1")
        .bind(person_id)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    debug_assert!(deleted <= 1 && marked <= 1);
    Ok(if marked == 1 {
        PersonErasure::Erased
    } else {
        PersonErasure::AlreadyErased
    })
}

impl Store {
    /// Stores a person, sealed under a new person key, and audits it with the masked mobile
    /// number. Returns its id.
    pub async fn person_insert(
        &self,
        keyring: &Keyring,
        person: &NewPerson,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = person_insert_in(&mut tx, keyring, person, who, now_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Reads and decrypts a person after checking the record MAC. An erased person gives
    /// [`StoreError::Erased`].
    pub async fn person_get(&self, keyring: &Keyring, id: &str) -> Result<Person, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_PERSONS} WHERE p.id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("person"))?;
        let stored = StoredPerson::from_row(&row)?;
        if stored.erased_at_ms.is_some() {
            return Err(StoreError::Erased);
        }
        check_mac(keyring, &stored)?;
        let key = stored.key(keyring, false)?;
        Ok(Person {
            legal_name: open(&key, &stored.id, "legal_name", &stored.legal_name)?,
            mobile: open(&key, &stored.id, "mobile", &stored.mobile)?,
            id_number: open(&key, &stored.id, "id_number", &stored.id_number)?,
            created_at_ms: stored.created_at_ms,
            id: stored.id,
        })
    }

    /// Finds people by mobile number through the blind index, under every searchable key
    /// version. Erased people have no index left and are never found.
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

    /// Checks every row (the scheduled integrity check): a live row's record MAC and the wrap
    /// of its person key, an erased row's emptiness. Returns the ids of rows that fail.
    /// The rows are read a page at a time.
    pub async fn persons_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(&self.pool, SELECT_PERSONS, "p.id", |row| {
            let stored = StoredPerson::from_row(row)?;
            if row_intact(keyring, &stored) {
                Ok(())
            } else {
                Err(StoreError::Integrity("person".into()))
            }
        })
        .await
    }

    /// Re-protects every live row whose person-key wrap, blind indexes or MAC use a key
    /// version older than the active one. The sealed fields stay as they are: only the person
    /// key is re-wrapped. `progress` is called with (rows done, rows total).
    pub async fn persons_rewrap(
        &self,
        keyring: &Keyring,
        mut progress: impl FnMut(u64, u64),
    ) -> Result<RewrapSummary, StoreError> {
        let total: i64 = sqlx::query("SELECT COUNT(*) FROM persons WHERE erased_at_ms IS NULL")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?;
        let total = u64::try_from(total).unwrap_or(0);
        let mut summary = RewrapSummary::default();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT_PERSONS} WHERE p.erased_at_ms IS NULL AND p.id > $1 ORDER BY p.id LIMIT $2"
            )))
            .bind(&after)
            .bind(REWRAP_PAGE_ROWS)
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
        let wrapped = stored.wrapped_key.as_deref().unwrap_or_default();
        let key_current =
            stored.wrapped_key.is_some() && current(wrapped, KeyPurpose::FieldEncryption)?;
        let indexes_current = current(&stored.mobile_index, KeyPurpose::BlindIndex)?
            && current(&stored.id_number_index, KeyPurpose::BlindIndex)?;
        let mac_current = current(&stored.record_mac, KeyPurpose::RecordMac)?;
        if key_current && indexes_current && mac_current {
            return Ok(false);
        }
        check_mac(keyring, stored).or_else(|error| match error {
            // A MAC under a compromised or retired key is re-made below; a mismatch is not.
            StoreError::Kms(_) => Ok(()),
            other => Err(other),
        })?;
        let key = stored.key(keyring, true)?;
        let mut fresh = stored.clone();
        if !indexes_current {
            let mobile: MobileNumber = open(&key, &stored.id, "mobile", &stored.mobile)?;
            let id_number: IdNumber = open(&key, &stored.id, "id_number", &stored.id_number)?;
            fresh.mobile_index = keyring
                .blind_index("mobile", mobile.index_form())?
                .to_text();
            fresh.id_number_index = keyring
                .blind_index("id_number", id_number.index_form())?
                .to_text();
        }
        if !indexes_current || !mac_current {
            fresh.record_mac = mac(keyring, &fresh)?;
        }
        let fresh_wrapped = if key_current {
            wrapped.to_string()
        } else {
            wrap_key(keyring, &stored.id, &key)?
        };
        let mut tx = self.begin_write().await?;
        // Compare-and-swap on the old wrap and the old MAC, so a concurrent change (another
        // node's rewrap, an erasure) is never overwritten.
        let key_updated = sqlx::query(
            "UPDATE person_keys SET wrapped = $2 WHERE person_id = $1 AND wrapped = $3",
        )
        .bind(&stored.id)
        .bind(&fresh_wrapped)
        .bind(wrapped)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        let row_updated = sqlx::query(
            "UPDATE persons SET mobile_index = $2, id_number_index = $3, record_mac = $4
             WHERE id = $1 AND record_mac = $5 AND erased_at_ms IS NULL",
        )
        .bind(&fresh.id)
        .bind(&fresh.mobile_index)
        .bind(&fresh.id_number_index)
        .bind(&fresh.record_mac)
        .bind(&stored.record_mac)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if key_updated == 1 && row_updated == 1 {
            tx.commit().await?;
            Ok(true)
        } else {
            tx.rollback().await?;
            Ok(false)
        }
    }
}

/// [`Store::person_insert`] inside the caller's write transaction, so that registration can create the
/// person, the account and the consent record all or nothing.
pub(crate) async fn person_insert_in(
    tx: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    person: &NewPerson,
    who: Actor<'_>,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let stored = StoredPerson::seal(keyring, &id, person, now_ms)?;
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
    sqlx::query(
        "INSERT INTO person_keys (person_id, version, wrapped, created_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&stored.id)
    .bind(i64::from(PERSON_KEY_VERSION))
    .bind(stored.wrapped_key.as_deref())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    let object = format!("person:{id}");
    append(
        &mut *tx,
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
    Ok(id)
}
