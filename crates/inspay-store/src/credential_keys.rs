//! Possession factors proved by SM2 signatures (clause 5.2.1.1): a customer's device-bound key
//! and a staff member's certificate or registered SM2 public key.
//!
//! A phone makes an SM2 key pair in its secure hardware, unlocked by the phone's own biometric
//! check, and enrols only the public key ([`Store::device_key_enrol`]). The server never
//! receives a biometric template or anything about one (clause 5.2.1.1-d3): the API takes a
//! public key and nothing else, and the tables hold public keys, fingerprints and labels. A
//! staff member's X.509 certificate is registered by a security officer
//! ([`Store::certificate_register`]) once it is checked to hold an SM2 key (id-ecPublicKey on
//! curve sm2p256v1), to be within its validity period, to allow digital signatures and not to
//! be signed with a forbidden algorithm (clause 5.5.1.2); where there is no PKI, the officer
//! registers a bare SM2 public key instead ([`Store::staff_public_key_register`]).
//!
//! Either factor proves itself the same way. The server issues a challenge
//! ([`Store::key_challenge_issue`]): 32 random bytes, valid [`CHALLENGE_TTL_S`] seconds, for
//! one live key, bound to a purpose (`sign-in`, `step-up:payout`) and a binding (the sign-in
//! flow id or session digest). The client signs [`KeyChallenge::message`] with the default SM2
//! identifier and answers ([`Store::key_challenge_answer`]). The answer consumes the challenge
//! whatever its outcome, in the same transaction that checks it, so a captured signature can
//! never be replayed, on any node. The message is domain-separated and names everything the
//! proof is bound to:
//!
//! ```text
//! inspay-key-challenge:v1\n<challenge id>\n<purpose>\n<binding>\n<account id>\n<key id>\n<hex nonce>
//! ```
//!
//! Refusals are one value ([`KeyProof::Refused`]); the reason goes to the audit log only.

mod certificate;
mod challenge;

use crate::audit::{AuditEvent, AuditValue, Outcome, append, append_by_account};
use crate::keys::Actor;
use crate::{Backend, Store, StoreError};
use certificate::{CertificateFields, certificate_label, parse_certificate};
use challenge::{Answer, Refusal, challenge_message, challenge_row, check_context, judge};
use inspay_crypto::sm2::Sm2PublicKey;
use sqlx::{AnyConnection, Row};

/// How long a challenge can be answered (clause 5.2.1.1-d3 default).
pub const CHALLENGE_TTL_S: i64 = 120;
/// Random bytes in a challenge's nonce.
pub const NONCE_BYTES: usize = 32;
/// Most live (not revoked) device keys one account may hold.
pub const DEVICE_KEYS_LIVE_MAX: i64 = 5;
/// Most live certificates and registered staff keys one account may hold.
pub const CERTIFICATES_LIVE_MAX: i64 = 3;
/// Most unanswered, unexpired challenges one key may have; issuing more withdraws the oldest.
pub const CHALLENGES_LIVE_PER_KEY_MAX: i64 = 4;
/// Longest key label, in characters.
pub const LABEL_CHARS_MAX: usize = 64;
/// Longest purpose or binding, in bytes (printable ASCII only).
pub const CONTEXT_BYTES_MAX: usize = 128;
/// Largest certificate PEM accepted.
pub const CERTIFICATE_PEM_BYTES_MAX: usize = 16 * 1024;
/// Largest DER signature accepted (an SM2 signature is at most 72 bytes).
pub const SIGNATURE_DER_BYTES_MAX: usize = 80;
/// Most keys [`Store::credential_keys_list`] returns, newest first.
pub const KEYS_LISTED_MAX: i64 = 100;
/// Longest run of digits kept in a subject or allowed in a label; longer runs could be a
/// mobile or ID number (the audit log uses the same bound).
const DIGIT_RUN_MAX: usize = 10;

const _: () = assert!(CHALLENGES_LIVE_PER_KEY_MAX >= 2 && DEVICE_KEYS_LIVE_MAX >= 1);
const _: () = assert!(SIGNATURE_DER_BYTES_MAX >= 72 && NONCE_BYTES >= 16);

/// Which possession factor a key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyKind {
    /// A customer's device-bound key, unlocked by the device's own biometric check.
    DeviceKey,
    /// A staff member's certificate, or a bare SM2 public key registered by an officer.
    Certificate,
}

impl KeyKind {
    /// The stored name: `device-key` or `certificate`.
    pub const fn name(self) -> &'static str {
        match self {
            KeyKind::DeviceKey => "device-key",
            KeyKind::Certificate => "certificate",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<KeyKind> {
        [KeyKind::DeviceKey, KeyKind::Certificate]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// A registered key as listings show it. Holds public data only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialKey {
    /// The key id (UUIDv7).
    pub id: String,
    /// The account it belongs to.
    pub account_id: String,
    /// Device key or certificate.
    pub kind: KeyKind,
    /// The label given at enrolment, or the certificate subject.
    pub label: String,
    /// `sm3:` and the SM3 of the key's SPKI DER, in hex.
    pub fingerprint: String,
    /// The certificate serial number in hex; `None` for device keys and bare staff keys.
    pub serial: Option<String>,
    /// The certificate subject (RFC 4514, long digit runs replaced); `None` without one.
    pub subject: Option<String>,
    /// Start of the certificate's validity (unix ms); `None` without a certificate.
    pub not_before_ms: Option<i64>,
    /// End of the certificate's validity (unix ms); `None` without a certificate.
    pub not_after_ms: Option<i64>,
    /// When it was registered (unix ms).
    pub created_at_ms: i64,
    /// When it last proved a challenge (unix ms).
    pub last_used_at_ms: Option<i64>,
    /// When it was revoked (unix ms); revoked keys never prove anything again.
    pub revoked_at_ms: Option<i64>,
}

impl CredentialKey {
    /// Whether the key can prove a challenge at `now_ms`: not revoked and, for a
    /// certificate, within its validity period.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.revoked_at_ms.is_none()
            && self.not_before_ms.is_none_or(|start| start <= now_ms)
            && self.not_after_ms.is_none_or(|end| now_ms <= end)
    }
}

/// A challenge for the client to sign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyChallenge {
    /// The challenge id, sent back with the answer.
    pub id: String,
    /// The key that must sign it.
    pub key_id: String,
    /// Exactly the bytes the client signs (SM2 with SM3, default identifier, DER signature).
    pub message: Vec<u8>,
    /// From this instant (unix ms) on, the challenge can no longer be answered.
    pub expires_at_ms: i64,
}

/// The outcome of answering a challenge. Every refusal is the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyProof {
    /// The key's holder signed this challenge, in time, for this purpose and binding.
    Verified {
        /// The account the key belongs to.
        account_id: String,
        /// The key that signed.
        key_id: String,
        /// Which factor it is.
        kind: KeyKind,
    },
    /// Refused: unknown, used or expired challenge, other purpose or binding, revoked key,
    /// certificate out of its validity, inactive account, or a bad signature.
    Refused,
}

/// A key about to be inserted.
#[derive(Debug)]
struct NewKey<'a> {
    kind: KeyKind,
    public_key: &'a Sm2PublicKey,
    label: String,
    certificate: Option<CertificateFields>,
}

impl NewKey<'_> {
    fn fingerprint(&self) -> String {
        fingerprint(self.public_key)
    }

    fn audit_details(&self, key_id: &str) -> Vec<(&'static str, AuditValue)> {
        vec![
            ("key_id", AuditValue::Id(key_id.to_string())),
            ("kind", AuditValue::Word(self.kind.name())),
            ("fingerprint", AuditValue::Fingerprint(self.fingerprint())),
            ("label", AuditValue::Text(self.label.clone())),
        ]
    }
}

fn fingerprint(key: &Sm2PublicKey) -> String {
    format!("sm3:{}", key.fingerprint())
}

/// A label: 1 to [`LABEL_CHARS_MAX`] characters, no control characters, and no run of digits
/// long enough to be a mobile or ID number (labels show up in listings and Debug output).
fn check_label(label: &str) -> Result<String, StoreError> {
    let chars = label.chars().count();
    if chars == 0 || chars > LABEL_CHARS_MAX || label.chars().any(char::is_control) {
        return Err(StoreError::Refused(
            "a key label must be 1 to 64 characters without control characters",
        ));
    }
    if longest_digit_run(label) > DIGIT_RUN_MAX {
        return Err(StoreError::Refused(
            "a key label may not hold a run of more than 10 digits",
        ));
    }
    Ok(label.to_string())
}

fn longest_digit_run(text: &str) -> usize {
    text.split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0)
}

/// Serialises key changes for one account across nodes (PostgreSQL advisory lock; SQLite's
/// write lock already does) and returns the account's population and status.
async fn lock_account(
    connection: &mut AnyConnection,
    backend: Backend,
    account_id: &str,
) -> Result<(String, String), StoreError> {
    if backend == Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext($1))")
            .bind(format!("credential-keys:{account_id}"))
            .execute(&mut *connection)
            .await?;
    }
    let row = sqlx::query("SELECT population, status FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(&mut *connection)
        .await?
        .ok_or(StoreError::NotFound("account"))?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}

/// Inserts a key after checking the account's live-key limit for its kind. A public key
/// already registered anywhere (any account, even revoked) is a conflict.
async fn insert_key(
    connection: &mut AnyConnection,
    account_id: &str,
    key: &NewKey<'_>,
    now_ms: i64,
) -> Result<String, StoreError> {
    let (limit, message) = match key.kind {
        KeyKind::DeviceKey => (
            DEVICE_KEYS_LIVE_MAX,
            "the account already has 5 live device keys; revoke one first",
        ),
        KeyKind::Certificate => (
            CERTIFICATES_LIVE_MAX,
            "the account already has 3 live certificates or staff keys; revoke one first",
        ),
    };
    let live: i64 = sqlx::query(
        "SELECT COUNT(*) FROM credential_keys WHERE account_id = $1 AND kind = $2
         AND revoked_at_ms IS NULL AND (not_after_ms IS NULL OR not_after_ms >= $3)",
    )
    .bind(account_id)
    .bind(key.kind.name())
    .bind(now_ms)
    .fetch_one(&mut *connection)
    .await?
    .try_get(0)?;
    if live >= limit {
        return Err(StoreError::Conflict(message));
    }
    let id = uuid::Uuid::now_v7().to_string();
    let certificate = key.certificate.as_ref();
    let inserted = sqlx::query(
        "INSERT INTO credential_keys (id, account_id, kind, public_key, fingerprint, label,
            serial, subject, not_before_ms, not_after_ms, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(&id)
    .bind(account_id)
    .bind(key.kind.name())
    .bind(hex::encode(key.public_key.to_sec1()))
    .bind(key.fingerprint())
    .bind(&key.label)
    .bind(certificate.map(|fields| fields.serial.clone()))
    .bind(certificate.map(|fields| fields.subject.clone()))
    .bind(certificate.map(|fields| fields.not_before_ms))
    .bind(certificate.map(|fields| fields.not_after_ms))
    .bind(now_ms)
    .execute(&mut *connection)
    .await;
    if let Err(sqlx::Error::Database(error)) = &inserted
        && error.is_unique_violation()
    {
        return Err(StoreError::Conflict(
            "this public key is already registered",
        ));
    }
    inserted?;
    Ok(id)
}

fn credential_key(row: &sqlx::any::AnyRow) -> Result<CredentialKey, StoreError> {
    let kind: String = row.try_get(2)?;
    Ok(CredentialKey {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        kind: KeyKind::parse(&kind).ok_or(StoreError::Malformed("credential key kind"))?,
        label: row.try_get(3)?,
        fingerprint: row.try_get(4)?,
        serial: row.try_get(5)?,
        subject: row.try_get(6)?,
        not_before_ms: row.try_get(7)?,
        not_after_ms: row.try_get(8)?,
        created_at_ms: row.try_get(9)?,
        last_used_at_ms: row.try_get(10)?,
        revoked_at_ms: row.try_get(11)?,
    })
}

impl Store {
    /// Enrols a device-bound SM2 public key for an active account (the device keeps the
    /// private key behind its own biometric check). Refuses a key already registered to any
    /// account, even a revoked one, and a sixth live device key, with
    /// [`StoreError::Conflict`]. Audited (`credential-key.enrol`). Returns the key id.
    pub async fn device_key_enrol(
        &self,
        account_id: &str,
        public_key: &Sm2PublicKey,
        label: &str,
        request_id: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let key = NewKey {
            kind: KeyKind::DeviceKey,
            public_key,
            label: check_label(label)?,
            certificate: None,
        };
        let mut tx = self.begin_write().await?;
        let (_, status) = lock_account(&mut tx, self.backend, account_id).await?;
        if status != "active" {
            return Err(StoreError::NotFound("active account"));
        }
        let id = insert_key(&mut tx, account_id, &key, now_ms).await?;
        append_by_account(
            &mut tx,
            account_id,
            "credential-key.enrol",
            Outcome::Success,
            request_id,
            &key.audit_details(&id),
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Registers a staff member's X.509 certificate (PEM) as a signing factor. The
    /// certificate must hold an SM2 key (id-ecPublicKey on sm2p256v1), be valid at `now_ms`,
    /// allow digital signatures if it states a key usage, and not be signed with an algorithm
    /// clause 5.5.1.2 forbids; otherwise [`StoreError::Refused`]. Its fingerprint, serial,
    /// subject and validity are kept. Audited (`credential-key.register`) under `who`.
    pub async fn certificate_register(
        &self,
        account_id: &str,
        certificate_pem: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let (public_key, fields) = parse_certificate(certificate_pem, now_ms)?;
        let key = NewKey {
            kind: KeyKind::Certificate,
            public_key: &public_key,
            label: certificate_label(&fields.subject),
            certificate: Some(fields),
        };
        self.staff_key_insert(account_id, &key, who, now_ms).await
    }

    /// Registers a bare SM2 public key for a staff member (deployments without a PKI): kind
    /// [`KeyKind::Certificate`] without certificate fields. Audited (`credential-key.register`)
    /// under `who`.
    pub async fn staff_public_key_register(
        &self,
        account_id: &str,
        public_key: &Sm2PublicKey,
        label: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let key = NewKey {
            kind: KeyKind::Certificate,
            public_key,
            label: check_label(label)?,
            certificate: None,
        };
        self.staff_key_insert(account_id, &key, who, now_ms).await
    }

    async fn staff_key_insert(
        &self,
        account_id: &str,
        key: &NewKey<'_>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let (population, status) = lock_account(&mut tx, self.backend, account_id).await?;
        if status != "active" {
            return Err(StoreError::NotFound("active account"));
        }
        if population != "staff" {
            return Err(StoreError::Refused(
                "certificates and staff keys are registered for staff accounts only",
            ));
        }
        let id = insert_key(&mut tx, account_id, key, now_ms).await?;
        let mut details = key.audit_details(&id);
        if let Some(fields) = &key.certificate {
            details.push(("not_after_ms", AuditValue::Number(fields.not_after_ms)));
        }
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "credential-key.register",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &details,
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Issues a single-use challenge ([`NONCE_BYTES`] random bytes, valid
    /// [`CHALLENGE_TTL_S`] seconds) for one live key of an active account, bound to a
    /// `purpose` (`sign-in`, `step-up:payout`) and a `binding` (the sign-in flow id or session
    /// digest). A key that is not the account's, revoked, or a certificate outside its
    /// validity is [`StoreError::NotFound`]. The key's used and expired challenges are
    /// purged, and its oldest live ones withdrawn beyond [`CHALLENGES_LIVE_PER_KEY_MAX`].
    pub async fn key_challenge_issue(
        &self,
        account_id: &str,
        key_id: &str,
        purpose: &str,
        binding: &str,
        now_ms: i64,
    ) -> Result<KeyChallenge, StoreError> {
        check_context(purpose, binding)?;
        let nonce = inspay_crypto::random::bytes::<NONCE_BYTES>()
            .map_err(|_| StoreError::Malformed("random source"))?;
        let nonce_hex = hex::encode(nonce);
        let mut tx = self.begin_write().await?;
        // The first statement writes, so SQLite's write lock is held before the key is read.
        sqlx::query(
            "DELETE FROM key_challenges WHERE key_id = $1
             AND (consumed_at_ms IS NOT NULL OR expires_at_ms <= $2)",
        )
        .bind(key_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let live = sqlx::query(
            "SELECT k.id FROM credential_keys k JOIN accounts a ON a.id = k.account_id
             WHERE k.id = $1 AND k.account_id = $2 AND a.status = 'active'
             AND k.revoked_at_ms IS NULL
             AND (k.not_before_ms IS NULL OR k.not_before_ms <= $3)
             AND (k.not_after_ms IS NULL OR k.not_after_ms >= $3)",
        )
        .bind(key_id)
        .bind(account_id)
        .bind(now_ms)
        .fetch_optional(&mut *tx)
        .await?;
        if live.is_none() {
            return Err(StoreError::NotFound("live credential key"));
        }
        sqlx::query(
            "DELETE FROM key_challenges WHERE key_id = $1 AND id NOT IN (
                SELECT id FROM key_challenges WHERE key_id = $1
                ORDER BY created_at_ms DESC, id DESC LIMIT $2)",
        )
        .bind(key_id)
        .bind(CHALLENGES_LIVE_PER_KEY_MAX - 1)
        .execute(&mut *tx)
        .await?;
        let id = uuid::Uuid::now_v7().to_string();
        let expires_at_ms = now_ms + CHALLENGE_TTL_S * 1000;
        sqlx::query(
            "INSERT INTO key_challenges (id, key_id, account_id, purpose, binding, nonce,
                created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&id)
        .bind(key_id)
        .bind(account_id)
        .bind(purpose)
        .bind(binding)
        .bind(&nonce_hex)
        .bind(now_ms)
        .bind(expires_at_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let message = challenge_message(&id, purpose, binding, account_id, key_id, &nonce_hex);
        Ok(KeyChallenge {
            id,
            key_id: key_id.to_string(),
            message,
            expires_at_ms,
        })
    }

    /// Answers a challenge with a DER SM2 signature (SM3, default identifier) over its
    /// message. The challenge is consumed whatever the outcome, in the transaction that
    /// checks it, so it can be answered once on any node. Verified only if the challenge is
    /// unused and unexpired, `purpose` and `binding` are the ones it was issued for, the key
    /// is not revoked (and a certificate is within its validity), the account is active and
    /// the signature verifies; then the key's `last_used_at_ms` moves. Audited (`auth.key`,
    /// with a reason word on refusal).
    pub async fn key_challenge_answer(
        &self,
        challenge_id: &str,
        purpose: &str,
        binding: &str,
        signature_der: &[u8],
        request_id: &str,
        now_ms: i64,
    ) -> Result<KeyProof, StoreError> {
        let mut tx = self.begin_write().await?;
        // Consume first: the row lock (PostgreSQL) or write lock (SQLite) makes a second
        // answer to the same challenge, from any node, see it consumed.
        let fresh = sqlx::query(
            "UPDATE key_challenges SET consumed_at_ms = $2 WHERE id = $1 AND consumed_at_ms IS NULL",
        )
        .bind(challenge_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        let Some(row) = challenge_row(&mut tx, challenge_id).await? else {
            append(
                &mut tx,
                &AuditEvent {
                    actor: "anonymous",
                    action: "auth.key",
                    object: "key-challenge:unknown",
                    outcome: Outcome::Denied,
                    request_id,
                    details: &[("reason", AuditValue::Word(Refusal::UnknownChallenge.name()))],
                },
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Ok(KeyProof::Refused);
        };
        let answer = Answer {
            challenge_id,
            fresh,
            purpose,
            binding,
            signature_der,
            now_ms,
        };
        let refusal = judge(&row, &answer)?;
        let kind = KeyKind::parse(&row.kind).ok_or(StoreError::Malformed("credential key kind"))?;
        let mut details = vec![
            ("key_id", AuditValue::Id(row.key_id.clone())),
            ("kind", AuditValue::Word(kind.name())),
            (
                "fingerprint",
                AuditValue::Fingerprint(row.fingerprint.clone()),
            ),
            ("purpose", AuditValue::Text(row.purpose.clone())),
        ];
        if let Some(refusal) = refusal {
            details.push(("reason", AuditValue::Word(refusal.name())));
        } else {
            sqlx::query("UPDATE credential_keys SET last_used_at_ms = $2 WHERE id = $1")
                .bind(&row.key_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        let outcome = match refusal {
            None => Outcome::Success,
            Some(_) => Outcome::Denied,
        };
        append_by_account(
            &mut tx,
            &row.account_id,
            "auth.key",
            outcome,
            request_id,
            &details,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(match refusal {
            None => KeyProof::Verified {
                account_id: row.account_id,
                key_id: row.key_id,
                kind,
            },
            Some(_) => KeyProof::Refused,
        })
    }

    /// Every key of an account, revoked ones included, newest first (at most
    /// [`KEYS_LISTED_MAX`]).
    pub async fn credential_keys_list(
        &self,
        account_id: &str,
    ) -> Result<Vec<CredentialKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, kind, label, fingerprint, serial, subject, not_before_ms,
                not_after_ms, created_at_ms, last_used_at_ms, revoked_at_ms
             FROM credential_keys WHERE account_id = $1
             ORDER BY created_at_ms DESC, id DESC LIMIT $2",
        )
        .bind(account_id)
        .bind(KEYS_LISTED_MAX)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(credential_key).collect()
    }

    /// One key of an account with its public key, revoked or not (the caller checks
    /// [`CredentialKey::is_live`] before accepting a new signature): for verifying a document
    /// the account signed with it (a claim, a claim decision), now or later. `None` for an
    /// unknown or foreign key.
    pub async fn credential_key_public(
        &self,
        account_id: &str,
        key_id: &str,
    ) -> Result<Option<(CredentialKey, Sm2PublicKey)>, StoreError> {
        let row = sqlx::query(
            "SELECT id, account_id, kind, label, fingerprint, serial, subject, not_before_ms,
                not_after_ms, created_at_ms, last_used_at_ms, revoked_at_ms, public_key
             FROM credential_keys WHERE id = $1 AND account_id = $2",
        )
        .bind(key_id)
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let key = credential_key(&row)?;
        let public_hex: String = row.try_get(12)?;
        let public_key = hex::decode(&public_hex)
            .ok()
            .and_then(|bytes| Sm2PublicKey::from_sec1(&bytes).ok())
            .ok_or(StoreError::Malformed("credential public key"))?;
        if fingerprint(&public_key) != key.fingerprint {
            return Err(StoreError::Integrity(
                "a registered key's public key does not match its fingerprint; restore the \
                 credential_keys table from backup and investigate (clause 5.6.1-b)"
                    .into(),
            ));
        }
        Ok(Some((key, public_key)))
    }

    /// Revokes one live key of an account and withdraws its outstanding challenges, so a
    /// challenge issued before cannot be answered after. Returns whether a live key was
    /// revoked (`false` for an unknown, foreign or already revoked key). Audited
    /// (`credential-key.revoke`) under `who`.
    pub async fn credential_key_revoke(
        &self,
        account_id: &str,
        key_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        // Challenges first, then the key: the order an answer takes its locks in, so the two
        // cannot deadlock on PostgreSQL. A refusal below rolls the deletion back.
        sqlx::query("DELETE FROM key_challenges WHERE key_id = $1 AND account_id = $2")
            .bind(key_id)
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
        let revoked = sqlx::query(
            "UPDATE credential_keys SET revoked_at_ms = $3
             WHERE id = $1 AND account_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(key_id)
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if revoked == 0 {
            return Ok(false);
        }
        let row = sqlx::query("SELECT kind, fingerprint FROM credential_keys WHERE id = $1")
            .bind(key_id)
            .fetch_one(&mut *tx)
            .await?;
        let kind: String = row.try_get(0)?;
        let kind = KeyKind::parse(&kind).ok_or(StoreError::Malformed("credential key kind"))?;
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "credential-key.revoke",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    ("key_id", AuditValue::Id(key_id.to_string())),
                    ("kind", AuditValue::Word(kind.name())),
                    ("fingerprint", AuditValue::Fingerprint(row.try_get(1)?)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }
}
