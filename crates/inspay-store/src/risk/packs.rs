//! Signed rule packs (clause 6.3.7): every installed version is kept, at most one version of a
//! pack is active (a partial unique index guarantees it against concurrent nodes), and every
//! change increases the pack generation and is audited in the same transaction.
//!
//! The store keeps the exact signed manifest and its signature, so each node verifies the
//! signature again against the registered signers when it loads a pack: a row changed in the
//! database does not load, and the store needs no record MAC of its own here.

use super::bump_generation;
use super::signers::is_active_signer;
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::keys::Actor;
use crate::{Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Longest pack id, in characters (as manifests allow).
const PACK_ID_CHARS_MAX: usize = 64;

/// A verified pack to install.
#[derive(Debug, Clone, Copy)]
pub struct NewRiskPack<'a> {
    /// The pack's id, from its manifest.
    pub pack_id: &'a str,
    /// Its version, from 1; must be above every stored version of the pack.
    pub version: i64,
    /// The exact signed manifest (UTF-8).
    pub manifest: &'a str,
    /// The signature over it, as the pack file carries it.
    pub signature: &'a str,
    /// SM3 of the manifest, hex.
    pub digest: &'a str,
    /// The registered signer's name; it must be active.
    pub signer: &'a str,
    /// The signing key's fingerprint; it must be the signer's.
    pub key_fingerprint: &'a str,
    /// How many rules the pack holds.
    pub rules: i64,
}

/// A stored pack version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskPackRow {
    /// The pack's id.
    pub pack_id: String,
    /// The version.
    pub version: i64,
    /// The exact signed manifest.
    pub manifest: String,
    /// The signature over it.
    pub signature: String,
    /// SM3 of the manifest, hex.
    pub digest: String,
    /// The signer's name.
    pub signer: String,
    /// The signing key's fingerprint.
    pub key_fingerprint: String,
    /// How many rules it holds.
    pub rules: i64,
    /// Whether this is the pack's active version.
    pub active: bool,
    /// Who installed it.
    pub installed_by: String,
    /// When (unix ms).
    pub installed_at_ms: i64,
    /// When it was last made active, if ever.
    pub activated_at_ms: Option<i64>,
}

impl RiskPackRow {
    fn object(&self) -> String {
        format!("risk-pack:{}:v{}", self.pack_id, self.version)
    }
}

/// Why a pack change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RiskPackError {
    /// The pack already has this version or a higher one.
    #[error(
        "the pack already has version {current}: sign it again with a version above {current} \
         to install it, or roll back to a stored version"
    )]
    VersionNotNewer {
        /// The highest stored version of the pack.
        current: i64,
    },
    /// No such pack version is stored.
    #[error(
        "no such pack version is stored: list the pack's versions and choose a stored one, or \
         install the pack first"
    )]
    NotFound,
    /// The version asked for is already the active one.
    #[error("that version is already the pack's active version: nothing to change")]
    AlreadyActive,
    /// The database failed, or an input was refused ([`StoreError::Refused`], for instance a
    /// signer that is not active).
    #[error(transparent)]
    Store(#[from] StoreError),
}

const COLUMNS: &str = "pack_id, version, manifest, signature, digest, signer, key_fingerprint, \
     rules, state, installed_by, installed_at_ms, activated_at_ms";

fn from_row(row: &AnyRow) -> Result<RiskPackRow, StoreError> {
    let state: String = row.try_get(8)?;
    Ok(RiskPackRow {
        pack_id: row.try_get(0)?,
        version: row.try_get(1)?,
        manifest: row.try_get(2)?,
        signature: row.try_get(3)?,
        digest: row.try_get(4)?,
        signer: row.try_get(5)?,
        key_fingerprint: row.try_get(6)?,
        rules: row.try_get(7)?,
        active: match state.as_str() {
            "active" => true,
            "inactive" => false,
            _ => return Err(StoreError::Malformed("risk pack state")),
        },
        installed_by: row.try_get(9)?,
        installed_at_ms: row.try_get(10)?,
        activated_at_ms: row.try_get(11)?,
    })
}

/// Makes the pack's active version inactive, if it has one; returns that version.
async fn deactivate(
    connection: &mut AnyConnection,
    pack_id: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(sqlx::query_scalar(
        "UPDATE risk_packs SET state = 'inactive' WHERE pack_id = $1 AND state = 'active'
         RETURNING version",
    )
    .bind(pack_id)
    .fetch_optional(&mut *connection)
    .await?)
}

/// Refuses a pack whose signer is not an active registered signer with that key.
async fn require_active_signer(
    connection: &mut AnyConnection,
    signer: &str,
    key_fingerprint: &str,
) -> Result<(), StoreError> {
    if is_active_signer(connection, signer, key_fingerprint).await? {
        Ok(())
    } else {
        Err(StoreError::Refused(
            "the pack's signer is not an active registered risk signer with this key: register \
             the key, or sign the pack with an active signer's key",
        ))
    }
}

async fn audit_pack(
    connection: &mut AnyConnection,
    who: Actor<'_>,
    action: &str,
    pack: &RiskPackRow,
    previous: Option<i64>,
    generation: i64,
    now_ms: i64,
) -> Result<(), StoreError> {
    let object = pack.object();
    let mut details = vec![
        ("pack", AuditValue::Text(pack.pack_id.clone())),
        ("version", AuditValue::Number(pack.version)),
        ("digest", AuditValue::Fingerprint(pack.digest.clone())),
        ("signer", AuditValue::Text(pack.signer.clone())),
        ("generation", AuditValue::Number(generation)),
    ];
    if let Some(previous) = previous {
        details.push(("previous_version", AuditValue::Number(previous)));
    }
    audit::append(
        connection,
        &AuditEvent {
            actor: who.actor,
            action,
            object: &object,
            outcome: Outcome::Success,
            request_id: who.request_id,
            details: &details,
        },
        now_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// Installs a verified pack as its id's active version, in one transaction: the previous
    /// active version becomes inactive, the new one is stored active, the pack generation
    /// increases and the change is audited (`risk.pack.install`). The version must be above
    /// every stored version of the pack ([`RiskPackError::VersionNotNewer`]), and its signer
    /// an active registered signer with that key fingerprint (else [`StoreError::Refused`]).
    /// Concurrent installs from several nodes run one after another; of two with the same
    /// version, the second is refused.
    pub async fn risk_pack_install(
        &self,
        pack: NewRiskPack<'_>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<RiskPackRow, RiskPackError> {
        if !(1..=PACK_ID_CHARS_MAX).contains(&pack.pack_id.chars().count()) {
            return Err(StoreError::Refused("a pack id must be 1 to 64 characters").into());
        }
        if pack.version < 1 {
            return Err(StoreError::Refused("a pack version starts at 1").into());
        }
        let mut tx = self.begin_write().await?;
        let generation = bump_generation(&mut tx).await?;
        require_active_signer(&mut tx, pack.signer, pack.key_fingerprint).await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM risk_packs WHERE pack_id = $1")
                .bind(pack.pack_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::from)?;
        if let Some(current) = current.filter(|current| *current >= pack.version) {
            return Err(RiskPackError::VersionNotNewer { current });
        }
        let previous = deactivate(&mut tx, pack.pack_id).await?;
        let row = RiskPackRow {
            pack_id: pack.pack_id.to_string(),
            version: pack.version,
            manifest: pack.manifest.to_string(),
            signature: pack.signature.to_string(),
            digest: pack.digest.to_string(),
            signer: pack.signer.to_string(),
            key_fingerprint: pack.key_fingerprint.to_string(),
            rules: pack.rules,
            active: true,
            installed_by: who.actor.to_string(),
            installed_at_ms: now_ms,
            activated_at_ms: Some(now_ms),
        };
        let inserted = sqlx::query(
            "INSERT INTO risk_packs (pack_id, version, manifest, signature, digest, signer,
                 key_fingerprint, rules, state, installed_by, installed_at_ms, activated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', $9, $10, $10)",
        )
        .bind(&row.pack_id)
        .bind(row.version)
        .bind(&row.manifest)
        .bind(&row.signature)
        .bind(&row.digest)
        .bind(&row.signer)
        .bind(&row.key_fingerprint)
        .bind(row.rules)
        .bind(&row.installed_by)
        .bind(now_ms)
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            // The generation row's lock already serialises installs; should a concurrent
            // install get past it (a database without row locks), the primary key or the
            // one-active index still refuses the second, and the refusal is reported as such.
            Err(error) if crate::funds::is_unique_violation(&error) => {
                return Err(RiskPackError::VersionNotNewer {
                    current: row.version,
                });
            }
            Err(error) => return Err(StoreError::from(error).into()),
        }
        audit_pack(
            &mut tx,
            who,
            "risk.pack.install",
            &row,
            previous,
            generation,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(row)
    }

    /// Makes a stored version the pack's active one (typically an older one, after a bad
    /// install), the current active version inactive; the pack generation increases. Refused
    /// with [`RiskPackError::NotFound`] for a version not stored, with
    /// [`RiskPackError::AlreadyActive`] for the active one, and with [`StoreError::Refused`]
    /// when its signer has been revoked since. Audited (`risk.pack.rollback`).
    pub async fn risk_pack_rollback(
        &self,
        pack_id: &str,
        version: i64,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<RiskPackRow, RiskPackError> {
        let mut tx = self.begin_write().await?;
        let generation = bump_generation(&mut tx).await?;
        let target = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_packs WHERE pack_id = $1 AND version = $2"
        )))
        .bind(pack_id)
        .bind(version)
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let Some(target) = target else {
            return Err(RiskPackError::NotFound);
        };
        let mut target = from_row(&target)?;
        if target.active {
            return Err(RiskPackError::AlreadyActive);
        }
        require_active_signer(&mut tx, &target.signer, &target.key_fingerprint).await?;
        let previous = deactivate(&mut tx, pack_id).await?;
        sqlx::query(
            "UPDATE risk_packs SET state = 'active', activated_at_ms = $1
             WHERE pack_id = $2 AND version = $3",
        )
        .bind(now_ms)
        .bind(pack_id)
        .bind(version)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        target.active = true;
        target.activated_at_ms = Some(now_ms);
        audit_pack(
            &mut tx,
            who,
            "risk.pack.rollback",
            &target,
            previous,
            generation,
            now_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(target)
    }

    /// Withdraws a pack: no version of it is active afterwards (its versions stay stored, for
    /// a later rollback); the pack generation increases. Returns `false`, changing nothing, if
    /// no version was active. Audited (`risk.pack.withdraw`).
    pub async fn risk_pack_withdraw(
        &self,
        pack_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let generation = bump_generation(&mut tx).await?;
        let Some(version) = deactivate(&mut tx, pack_id).await? else {
            // Dropping the transaction rolls the generation back: nothing changed.
            return Ok(false);
        };
        let object = format!("risk-pack:{pack_id}:v{version}");
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "risk.pack.withdraw",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    ("pack", AuditValue::Text(pack_id.to_string())),
                    ("version", AuditValue::Number(version)),
                    ("generation", AuditValue::Number(generation)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The active version of every pack, by pack id: what a node loads.
    pub async fn risk_packs_active(&self) -> Result<Vec<RiskPackRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_packs WHERE state = 'active' ORDER BY pack_id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(from_row).collect()
    }

    /// Every stored version of one pack, or of all packs, by pack id then newest version
    /// first.
    pub async fn risk_packs(&self, pack_id: Option<&str>) -> Result<Vec<RiskPackRow>, StoreError> {
        let rows = match pack_id {
            Some(pack_id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM risk_packs WHERE pack_id = $1
                     ORDER BY pack_id, version DESC"
                )))
                .bind(pack_id)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM risk_packs ORDER BY pack_id, version DESC"
                )))
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// The pack generation: it increases with every pack or signer change, so a node that
    /// polls it (one read of one row) knows when to reload its packs.
    pub async fn risk_pack_generation(&self) -> Result<i64, StoreError> {
        let generation: Option<i64> =
            sqlx::query_scalar("SELECT pack_generation FROM risk_state WHERE id = 1")
                .fetch_optional(&self.pool)
                .await?;
        generation.ok_or(StoreError::Malformed("risk state (its row is missing)"))
    }
}
