//! What the model learned (clause 5.3.3.2): one baseline per customer, per product and one
//! global, each a JSON body the model reads back, replaced whole at each training.

use crate::{Store, StoreError};
use sqlx::Row;
use std::collections::HashMap;

/// The kinds of subject a baseline describes.
pub const BASELINE_SUBJECT_KINDS: [&str; 4] = ["customer", "product", "device", "global"];

/// One stored baseline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskBaselineRow {
    /// One of [`BASELINE_SUBJECT_KINDS`].
    pub subject_kind: String,
    /// The customer's account id, the product's code, or a fixed name for the global one.
    pub subject: String,
    /// The learned statistics, JSON.
    pub body: String,
    /// How many observations it was learned from.
    pub observations: i64,
    /// When it was learned (unix ms).
    pub updated_at_ms: i64,
}

/// Columns one written row fills.
const INSERTED_COLUMNS: usize = 5;

fn require_subject_kind(subject_kind: &str) -> Result<(), StoreError> {
    if BASELINE_SUBJECT_KINDS.contains(&subject_kind) {
        Ok(())
    } else {
        Err(StoreError::Refused(
            "a baseline's subject kind is customer, product or global",
        ))
    }
}

impl Store {
    /// Writes baselines, replacing any stored for the same subject, in one transaction and
    /// many rows per statement; returns how many subjects were written. When one subject
    /// comes twice in `rows`, the later row wins (PostgreSQL refuses one statement that
    /// updates a row twice, so the duplicates are dropped first).
    pub async fn risk_baselines_put_many(
        &self,
        rows: &[RiskBaselineRow],
    ) -> Result<u64, StoreError> {
        self.baselines_put(rows, None).await
    }

    /// Learns one operation that went ahead: its observation joins the history and the
    /// baselines it updated are written, in one transaction (one commit on the fund request's
    /// path instead of two).
    pub async fn risk_learn(
        &self,
        observation: &super::RiskObservation,
        rows: &[RiskBaselineRow],
    ) -> Result<u64, StoreError> {
        self.baselines_put(rows, Some(observation)).await
    }

    async fn baselines_put(
        &self,
        rows: &[RiskBaselineRow],
        observation: Option<&super::RiskObservation>,
    ) -> Result<u64, StoreError> {
        let mut last = HashMap::with_capacity(rows.len());
        for (index, row) in rows.iter().enumerate() {
            require_subject_kind(&row.subject_kind)?;
            last.insert((row.subject_kind.as_str(), row.subject.as_str()), index);
        }
        let unique: Vec<&RiskBaselineRow> = rows
            .iter()
            .enumerate()
            .filter(|(index, row)| {
                last.get(&(row.subject_kind.as_str(), row.subject.as_str())) == Some(index)
            })
            .map(|(_, row)| row)
            .collect();
        if unique.is_empty() && observation.is_none() {
            return Ok(0);
        }
        let mut tx = self.begin_write().await?;
        if let Some(observation) = observation {
            super::observations::insert_one(&mut tx, observation).await?;
        }
        let mut written = 0;
        for run in crate::db::row_runs(&unique) {
            let sql = format!(
                "INSERT INTO risk_baselines (subject_kind, subject, body, observations,
                     updated_at_ms)
                 VALUES {}
                 ON CONFLICT (subject_kind, subject) DO UPDATE
                 SET body = excluded.body, observations = excluded.observations,
                     updated_at_ms = excluded.updated_at_ms",
                crate::db::values_rows(&tx, run.len(), INSERTED_COLUMNS)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for row in run {
                query = query
                    .bind(row.subject_kind.as_str())
                    .bind(row.subject.as_str())
                    .bind(row.body.as_str())
                    .bind(row.observations)
                    .bind(row.updated_at_ms);
            }
            written += query.execute(&mut *tx).await?.rows_affected();
        }
        tx.commit().await?;
        Ok(written)
    }

    /// One subject's baseline, if learned.
    pub async fn risk_baseline(
        &self,
        subject_kind: &str,
        subject: &str,
    ) -> Result<Option<RiskBaselineRow>, StoreError> {
        let row = sqlx::query(
            "SELECT subject_kind, subject, body, observations, updated_at_ms
             FROM risk_baselines WHERE subject_kind = $1 AND subject = $2",
        )
        .bind(subject_kind)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(RiskBaselineRow {
                subject_kind: row.try_get(0)?,
                subject: row.try_get(1)?,
                body: row.try_get(2)?,
                observations: row.try_get(3)?,
                updated_at_ms: row.try_get(4)?,
            })
        })
        .transpose()
    }

    /// How many baselines of one kind are stored.
    pub async fn risk_baselines_count(&self, subject_kind: &str) -> Result<i64, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM risk_baselines WHERE subject_kind = $1")
                .bind(subject_kind)
                .fetch_one(&self.pool)
                .await?,
        )
    }
}
