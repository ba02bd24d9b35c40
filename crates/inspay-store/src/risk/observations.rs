//! The model's history (clause 5.3.3.2): one row per fund operation the engine saw, read back
//! in pages for training and by window for the per-customer velocity checks.
//!
//! No row holds a personal identifier beyond the account id: the device is kept only as the
//! server's SM3-HMAC of it.

use crate::{Store, StoreError};
use sqlx::Row;

/// One fund operation the engine saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskObservation {
    /// The customer.
    pub account_id: String,
    /// The product's code.
    pub product: String,
    /// The operation: `payment`, `refund`, `payout`...
    pub kind: String,
    /// The amount, in fen.
    pub amount_fen: i64,
    /// When (unix ms).
    pub at_ms: i64,
    /// The server's SM3-HMAC of the device id, never the raw identifier.
    pub device_ref: Option<String>,
}

/// Columns one inserted row fills.
const INSERTED_COLUMNS: usize = 6;

impl Store {
    /// Records one observation.
    pub async fn risk_observe(&self, observation: &RiskObservation) -> Result<(), StoreError> {
        let mut connection = self.pool.acquire().await?;
        insert_one(&mut connection, observation).await
    }

    /// Records many observations in one transaction, many rows per statement (at most 256,
    /// which keeps every statement far below SQLite's and PostgreSQL's limits on bound
    /// parameters); returns how many were written. For imports: send chunks of about 10,000.
    pub async fn risk_observations_insert_many(
        &self,
        rows: &[RiskObservation],
    ) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        let mut written = 0;
        for run in crate::db::row_runs(rows) {
            let sql = format!(
                "INSERT INTO risk_observations (account_id, product, kind, amount_fen, at_ms,
                     device_ref)
                 VALUES {}",
                crate::db::values_rows(&tx, run.len(), INSERTED_COLUMNS)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for observation in run {
                query = query
                    .bind(observation.account_id.as_str())
                    .bind(observation.product.as_str())
                    .bind(observation.kind.as_str())
                    .bind(observation.amount_fen)
                    .bind(observation.at_ms)
                    .bind(observation.device_ref.as_deref());
            }
            written += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// How many observations are stored.
    pub async fn risk_observations_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM risk_observations")
            .fetch_one(&self.pool)
            .await?)
    }

    /// At most `limit` observations with ids above `after_id`, by id: a training pass reads
    /// every row once by passing the last id of each page to the next call (start with 0),
    /// until a page comes back empty.
    pub async fn risk_observations_scan(
        &self,
        after_id: i64,
        limit: i64,
    ) -> Result<Vec<(i64, RiskObservation)>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, account_id, product, kind, amount_fen, at_ms, device_ref
             FROM risk_observations WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    row.try_get(0)?,
                    RiskObservation {
                        account_id: row.try_get(1)?,
                        product: row.try_get(2)?,
                        kind: row.try_get(3)?,
                        amount_fen: row.try_get(4)?,
                        at_ms: row.try_get(5)?,
                        device_ref: row.try_get(6)?,
                    },
                ))
            })
            .collect()
    }

    /// How many operations of `kind` the customer made at or after `since_ms`, and their
    /// total amount in fen: one read of the (account, kind, time) index.
    pub async fn risk_window(
        &self,
        account_id: &str,
        kind: &str,
        since_ms: i64,
    ) -> Result<(i64, i64), StoreError> {
        // PostgreSQL sums BIGINT as NUMERIC; the cast brings it back to a 64-bit integer.
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT)
             FROM risk_observations WHERE account_id = $1 AND kind = $2 AND at_ms >= $3",
        )
        .bind(account_id)
        .bind(kind)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}

/// What the engine reads about an account: when it was opened and when it last signed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RiskAccountFacts {
    /// When the account was opened (unix ms).
    pub created_at_ms: i64,
    /// The last successful sign-in (unix ms), if any.
    pub last_login_at_ms: Option<i64>,
}

impl Store {
    /// The account's opening and last sign-in, if the account exists.
    pub async fn risk_account_facts(
        &self,
        account_id: &str,
    ) -> Result<Option<RiskAccountFacts>, StoreError> {
        let row = sqlx::query("SELECT created_at_ms, last_login_at_ms FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| {
            Ok(RiskAccountFacts {
                created_at_ms: row.try_get(0)?,
                last_login_at_ms: row.try_get(1)?,
            })
        })
        .transpose()
    }
}

/// Inserts one observation on `connection` (a pooled connection or a transaction).
pub(super) async fn insert_one(
    connection: &mut sqlx::AnyConnection,
    observation: &RiskObservation,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO risk_observations (account_id, product, kind, amount_fen, at_ms,
             device_ref)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&observation.account_id)
    .bind(&observation.product)
    .bind(&observation.kind)
    .bind(observation.amount_fen)
    .bind(observation.at_ms)
    .bind(&observation.device_ref)
    .execute(&mut *connection)
    .await?;
    Ok(())
}
