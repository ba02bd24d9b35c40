//! Reading claims: one claim, its description, a claimant's claims, the staff queues, pages
//! for audits, and what a policy's claims mean for its cancellation.

use super::{CLAIM_COLUMNS, CLAIMS_LISTED_MAX, Claim, claim_from_row, description_aad};
use crate::funds::FundsError;
use crate::{Store, StoreError};
use inspay_core::funds::ClaimStatus;
use inspay_core::ids::{ClaimId, PolicyId};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::{AnyConnection, Row};

impl Store {
    /// One claim; with `claimant`, only if it is that account's.
    pub async fn claim(
        &self,
        keyring: &Keyring,
        claim_id: &ClaimId,
        claimant: Option<&str>,
    ) -> Result<Claim, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE id = $1"
        )))
        .bind(claim_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("claim"))?;
        let claim = claim_from_row(keyring, &row)?;
        if claimant.is_some_and(|claimant| claimant != claim.claimant_account_id) {
            return Err(FundsError::NotFound("claim"));
        }
        Ok(claim)
    }

    /// A claim's description, opened (for the claimant and staff in scope).
    pub async fn claim_description(
        &self,
        keyring: &Keyring,
        claim_id: &ClaimId,
    ) -> Result<zeroize::Zeroizing<String>, FundsError> {
        let row = sqlx::query("SELECT description_sealed FROM claims WHERE id = $1")
            .bind(claim_id.as_str())
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::from)?
            .ok_or(FundsError::NotFound("claim"))?;
        let sealed: String = row.try_get(0).map_err(StoreError::from)?;
        let sealed = Sealed::parse(&sealed).map_err(|_| StoreError::Malformed("sealed"))?;
        let opened = keyring
            .open_field(description_aad(claim_id.as_str()).as_bytes(), &sealed)
            .map_err(StoreError::from)?;
        let text = String::from_utf8(opened.to_vec())
            .map_err(|_| StoreError::Malformed("claim description"))?;
        Ok(zeroize::Zeroizing::new(text))
    }

    /// A claimant's claims, newest first (at most [`CLAIMS_LISTED_MAX`]).
    pub async fn claims_of_claimant(
        &self,
        keyring: &Keyring,
        claimant: &str,
    ) -> Result<Vec<Claim>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE claimant_account_id = $1
             ORDER BY created_at_ms DESC, id DESC LIMIT {CLAIMS_LISTED_MAX}"
        )))
        .bind(claimant)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| claim_from_row(keyring, row))
            .collect()
    }

    /// Claims in id order (oldest first) after `after_id`, at most `limit`, each read on its
    /// own: a row that fails its record MAC is returned as an error beside its id, so an audit
    /// that walks every claim a page at a time names it and goes on.
    pub async fn claims_page(
        &self,
        keyring: &Keyring,
        after_id: &str,
        limit: i64,
    ) -> Result<Vec<(String, Result<Claim, StoreError>)>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CLAIM_COLUMNS} FROM claims WHERE id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after_id)
        .bind(limit.clamp(1, CLAIMS_LISTED_MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, claim_from_row(keyring, row))))
            .collect()
    }

    /// The number of claims.
    pub async fn claims_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query("SELECT COUNT(*) FROM claims")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    /// Claims in `status` (a queue: `filed` or `awaiting_second_approval`), oldest first, at
    /// most [`CLAIMS_LISTED_MAX`]: with `assigned_to`, only the claims assigned to that
    /// adjuster, so an adjuster's own claims are never crowded out by a backlog of others.
    /// Each row is read on its own: one that fails its record MAC comes back as an error beside
    /// its id, so one tampered claim does not hide the queue.
    #[allow(clippy::type_complexity)]
    pub async fn claims_in_state(
        &self,
        keyring: &Keyring,
        status: ClaimStatus,
        assigned_to: Option<&str>,
    ) -> Result<Vec<(String, Result<Claim, StoreError>)>, StoreError> {
        let rows = match assigned_to {
            Some(adjuster) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CLAIM_COLUMNS} FROM claims WHERE status = $1 AND id IN
                         (SELECT claim_id FROM claim_assignments WHERE adjuster_account_id = $2)
                     ORDER BY created_at_ms, id LIMIT {CLAIMS_LISTED_MAX}"
                )))
                .bind(status.as_str())
                .bind(adjuster)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {CLAIM_COLUMNS} FROM claims WHERE status = $1
                     ORDER BY created_at_ms, id LIMIT {CLAIMS_LISTED_MAX}"
                )))
                .bind(status.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, claim_from_row(keyring, row))))
            .collect()
    }

    /// Whether a claim with this id exists (for assigning it to an adjuster).
    pub async fn claim_exists(&self, claim_id: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 FROM claims WHERE id = $1")
            .bind(claim_id)
            .fetch_optional(&self.pool)
            .await?
            .is_some())
    }
}

/// Whether a policy has a claim that is open (not yet decided, or approved and not yet paid,
/// its payout under way included) and whether one was paid, inside a transaction holding the
/// policy's row: a cancellation waits for open claims and refunds nothing once a claim paid
/// out.
pub(in crate::funds) async fn policy_claims_state(
    connection: &mut AnyConnection,
    policy_id: &PolicyId,
) -> Result<(bool, bool), StoreError> {
    let row = sqlx::query(
        "SELECT
             COALESCE(SUM(CASE WHEN status IN ('filed', 'awaiting_second_approval', 'approved',
                 'payout_pending') THEN 1 ELSE 0 END), 0),
             COALESCE(SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END), 0)
         FROM claims WHERE policy_id = $1",
    )
    .bind(policy_id.as_str())
    .fetch_one(&mut *connection)
    .await?;
    let open: i64 = row.try_get(0)?;
    let paid: i64 = row.try_get(1)?;
    Ok((open > 0, paid > 0))
}
