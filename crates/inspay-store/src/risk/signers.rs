//! Registered rule-signing keys (clause 6.3.7): only a pack signed by an active one is
//! installed, and revoking one makes every node reload and drop the packs it signed.
//!
//! The signer list is what a pack's signature is checked against, so each row carries a record
//! MAC (clause 5.6.1-b): someone who can write to the database but does not hold the keys
//! cannot add a signer of their own (and then a pack signed with it), re-activate a revoked
//! one, or swap a key. A row whose MAC fails is reported as an integrity error, not trusted.

use super::{bump_generation, check_mac, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_kms::Keyring;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Longest signer name, in characters.
pub const SIGNER_NAME_CHARS_MAX: usize = 64;

/// A registered rule-signing public key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskSigner {
    /// The name packs give as their signer (1 to [`SIGNER_NAME_CHARS_MAX`] characters).
    pub name: String,
    /// The SM2 public key, SPKI PEM.
    pub public_key_pem: String,
    /// The key's SM3 fingerprint, hex, as packs name it.
    pub fingerprint: String,
    /// Whether packs it signs are accepted (`false` once revoked).
    pub active: bool,
    /// Who registered it.
    pub added_by: String,
    /// When (unix ms).
    pub added_at_ms: i64,
    /// When it was revoked, if it was.
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str =
    "name, public_key_pem, fingerprint, state, added_by, added_at_ms, revoked_at_ms, record_mac";

/// What the record MAC covers: every column.
fn mac_parts(signer: &RiskSigner) -> Vec<Vec<u8>> {
    [
        "inspay/risk-signer/v1".to_string(),
        signer.name.clone(),
        signer.public_key_pem.clone(),
        signer.fingerprint.clone(),
        if signer.active { "active" } else { "revoked" }.to_string(),
        signer.added_by.clone(),
        signer.added_at_ms.to_string(),
        signer
            .revoked_at_ms
            .map(|at| format!("1{at}"))
            .unwrap_or_else(|| "0".to_string()),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn from_row(keyring: &Keyring, row: &AnyRow) -> Result<RiskSigner, StoreError> {
    let signer = signer_from_row(row)?;
    let mac: String = row.try_get(7)?;
    check_mac(keyring, &mac_parts(&signer), &mac, "a risk signer")?;
    Ok(signer)
}

fn signer_from_row(row: &AnyRow) -> Result<RiskSigner, StoreError> {
    let state: String = row.try_get(3)?;
    Ok(RiskSigner {
        name: row.try_get(0)?,
        public_key_pem: row.try_get(1)?,
        fingerprint: row.try_get(2)?,
        active: match state.as_str() {
            "active" => true,
            "revoked" => false,
            _ => return Err(StoreError::Malformed("risk signer state")),
        },
        added_by: row.try_get(4)?,
        added_at_ms: row.try_get(5)?,
        revoked_at_ms: row.try_get(6)?,
    })
}

async fn audit_signer(
    connection: &mut sqlx::AnyConnection,
    who: Actor<'_>,
    action: &str,
    name: &str,
    fingerprint: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    let object = format!("risk-signer:{name}");
    audit::append(
        connection,
        &AuditEvent {
            actor: who.actor,
            action,
            object: &object,
            outcome: Outcome::Success,
            request_id: who.request_id,
            details: &[("fingerprint", AuditValue::Fingerprint(fingerprint.into()))],
        },
        now_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// Registers a rule-signing public key under `name`. The caller has parsed the PEM and
    /// computed its fingerprint. A name or key already registered (even revoked: a revoked
    /// key stays revoked) is [`StoreError::Conflict`]; a name outside 1 to
    /// [`SIGNER_NAME_CHARS_MAX`] characters is [`StoreError::Refused`]. Audited
    /// (`risk.signer.add`).
    pub async fn risk_signer_add(
        &self,
        keyring: &Keyring,
        name: &str,
        public_key_pem: &str,
        fingerprint: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<RiskSigner, StoreError> {
        if !(1..=SIGNER_NAME_CHARS_MAX).contains(&name.chars().count()) {
            return Err(StoreError::Refused(
                "a risk signer's name must be 1 to 64 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        let taken: Vec<String> =
            sqlx::query_scalar("SELECT name FROM risk_signers WHERE name = $1 OR fingerprint = $2")
                .bind(name)
                .bind(fingerprint)
                .fetch_all(&mut *tx)
                .await?;
        if taken.iter().any(|taken| taken == name) {
            return Err(StoreError::Conflict(
                "a risk signer of this name exists; choose another name",
            ));
        }
        if !taken.is_empty() {
            return Err(StoreError::Conflict(
                "this key is already registered as a risk signer (possibly revoked); a revoked \
                 key cannot be registered again",
            ));
        }
        let signer = RiskSigner {
            name: name.to_string(),
            public_key_pem: public_key_pem.to_string(),
            fingerprint: fingerprint.to_string(),
            active: true,
            added_by: who.actor.to_string(),
            added_at_ms: now_ms,
            revoked_at_ms: None,
        };
        let mac = mac_text(keyring, &mac_parts(&signer))?;
        let inserted = sqlx::query(
            "INSERT INTO risk_signers (name, public_key_pem, fingerprint, state, added_by,
                 added_at_ms, revoked_at_ms, record_mac)
             VALUES ($1, $2, $3, 'active', $4, $5, NULL, $6)",
        )
        .bind(name)
        .bind(public_key_pem)
        .bind(fingerprint)
        .bind(who.actor)
        .bind(now_ms)
        .bind(&mac)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // Another node registered the same name or key between the check and the insert.
            Err(error) if crate::funds::is_unique_violation(&error) => {
                return Err(StoreError::Conflict(
                    "a risk signer of this name or key exists",
                ));
            }
            Err(error) => return Err(error.into()),
        }
        audit_signer(&mut tx, who, "risk.signer.add", name, fingerprint, now_ms).await?;
        tx.commit().await?;
        Ok(signer)
    }

    /// Revokes an active signer: packs it signed are no longer loaded, and no new ones are
    /// accepted. Increases the pack generation so every node reloads. Returns `false` (and
    /// changes nothing) if no active signer has that name. Audited (`risk.signer.revoke`).
    pub async fn risk_signer_revoke(
        &self,
        keyring: &Keyring,
        name: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        bump_generation(&mut tx).await?;
        let current = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_signers WHERE name = $1 AND state = 'active'"
        )))
        .bind(name)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = current else {
            // Dropping the transaction rolls the generation back: nothing changed.
            return Ok(false);
        };
        let mut signer = from_row(keyring, &row)?;
        signer.active = false;
        signer.revoked_at_ms = Some(now_ms);
        let mac = mac_text(keyring, &mac_parts(&signer))?;
        sqlx::query(
            "UPDATE risk_signers SET state = 'revoked', revoked_at_ms = $1, record_mac = $2
             WHERE name = $3 AND state = 'active'",
        )
        .bind(now_ms)
        .bind(&mac)
        .bind(name)
        .execute(&mut *tx)
        .await?;
        let fingerprint = signer.fingerprint;
        audit_signer(
            &mut tx,
            who,
            "risk.signer.revoke",
            name,
            &fingerprint,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Every registered signer, active ones first, then by name. A row whose record MAC does
    /// not match is [`StoreError::Integrity`]: the list is a trust anchor, so it is all or
    /// nothing.
    pub async fn risk_signers(&self, keyring: &Keyring) -> Result<Vec<RiskSigner>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_signers
             ORDER BY CASE state WHEN 'active' THEN 0 ELSE 1 END, name"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| from_row(keyring, row)).collect()
    }
}

/// Whether `name` is an active signer whose key has `fingerprint`, inside a transaction that
/// has already bumped the generation (so a revocation from another node waits for it, or it
/// for the revocation).
pub(super) async fn is_active_signer(
    connection: &mut sqlx::AnyConnection,
    name: &str,
    fingerprint: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT 1 FROM risk_signers WHERE name = $1 AND fingerprint = $2 AND state = 'active'",
    )
    .bind(name)
    .bind(fingerprint)
    .fetch_optional(&mut *connection)
    .await?
    .is_some())
}

impl Store {
    /// The scheduled integrity check of `risk_signers` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn risk_signers_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {COLUMNS} FROM risk_signers"),
            "name",
            |row| from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
