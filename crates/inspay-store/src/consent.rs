//! Consent records (clauses 6.1.4 and 6.1.5): each decision, a grant or a withdrawal, is an
//! event tied to the notice version the person saw; the current state of a purpose is its
//! latest event. Every decision is audited.

use crate::audit::{AuditValue, Outcome, append_by_account};
use crate::{Store, StoreError};
use sqlx::Row;
use std::collections::BTreeMap;

impl Store {
    /// Records a published notice by version and the SM3 digest of its text. Publishing the
    /// same version with another text is refused.
    pub async fn notice_publish(
        &self,
        version: &str,
        text: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let digest = format!(
            "sm3:{}",
            hex::encode(inspay_crypto::sm3::sm3(text.as_bytes()))
        );
        let existing: Option<String> =
            sqlx::query("SELECT text_digest FROM privacy_notices WHERE version = $1")
                .bind(version)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        match existing {
            Some(stored) if stored == digest => Ok(()),
            Some(_) => Err(StoreError::Conflict(
                "a notice with this version and another text is already published",
            )),
            None => {
                sqlx::query("INSERT INTO privacy_notices (version, text_digest, published_at_ms) VALUES ($1, $2, $3)")
                    .bind(version)
                    .bind(&digest)
                    .bind(now_ms)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }
        }
    }

    /// Records a person's decisions (already checked with `Notice::accept`) in one transaction
    /// with its audit entry.
    pub async fn consent_record(
        &self,
        account_id: &str,
        notice_version: &str,
        choices: &[(String, bool)],
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        consent_record_in(
            &mut tx,
            account_id,
            notice_version,
            choices,
            request_id,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Withdraws consent to one purpose (recorded under the notice of the latest decision).
    pub async fn consent_withdraw(
        &self,
        account_id: &str,
        purpose: &str,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let notice: String = sqlx::query(
            "SELECT notice_version FROM consent_events WHERE account_id = $1 AND purpose = $2
             ORDER BY at_ms DESC, id DESC LIMIT 1",
        )
        .bind(account_id)
        .bind(purpose)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("consent"))?
        .try_get(0)?;
        sqlx::query(
            "INSERT INTO consent_events (id, account_id, notice_version, purpose, granted, at_ms)
             VALUES ($1, $2, $3, $4, 0, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account_id)
        .bind(&notice)
        .bind(purpose)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append_by_account(
            &mut tx,
            account_id,
            "consent.withdraw",
            Outcome::Success,
            request_id,
            &[("purpose", AuditValue::Text(purpose.to_string()))],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The current decision for each purpose: its latest event.
    pub async fn consent_current(
        &self,
        account_id: &str,
    ) -> Result<BTreeMap<String, bool>, StoreError> {
        let rows = sqlx::query(
            "SELECT purpose, granted FROM consent_events WHERE account_id = $1 ORDER BY at_ms, id",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let mut current = BTreeMap::new();
        for row in rows {
            let purpose: String = row.try_get(0)?;
            let granted: i64 = row.try_get(1)?;
            current.insert(purpose, granted == 1);
        }
        Ok(current)
    }
}

/// [`Store::consent_record`] inside the caller's write transaction, so that registration can create the
/// person, the account and the consent record all or nothing.
pub(crate) async fn consent_record_in(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    notice_version: &str,
    choices: &[(String, bool)],
    request_id: &str,
    now_ms: i64,
) -> Result<(), StoreError> {
    for (purpose, granted) in choices {
        sqlx::query(
            "INSERT INTO consent_events (id, account_id, notice_version, purpose, granted, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(account_id)
        .bind(notice_version)
        .bind(purpose)
        .bind(i64::from(*granted))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    let granted = choices.iter().filter(|(_, granted)| *granted).count();
    append_by_account(
        &mut *tx,
        account_id,
        "consent.record",
        Outcome::Success,
        request_id,
        &[
            ("notice", AuditValue::Text(notice_version.to_string())),
            (
                "granted",
                AuditValue::Number(i64::try_from(granted).unwrap_or(i64::MAX)),
            ),
            (
                "refused",
                AuditValue::Number(i64::try_from(choices.len() - granted).unwrap_or(i64::MAX)),
            ),
        ],
        now_ms,
    )
    .await?;
    Ok(())
}
