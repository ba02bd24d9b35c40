//! A customer's statement (clause 4-b): every premium paid (or being paid), every refund and
//! every claim payout, oldest first, each traceable to its policy and its payment, refund or
//! payout id, cards and accounts masked.

use crate::{Store, StoreError};
use sqlx::Row;

/// Lines one statement holds at most.
pub const STATEMENT_LINES_MAX: i64 = 5_000;

/// One line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// When it began, unix ms.
    pub at_ms: i64,
    /// `premium`, `refund` or `payout`.
    pub kind: &'static str,
    /// The policy.
    pub policy_id: String,
    /// The payment, refund or payout id.
    pub reference: String,
    /// Which premium, for premiums.
    pub premium_number: Option<u32>,
    /// Paid by the customer, fen (premiums).
    pub paid_fen: i64,
    /// Paid back to the customer, fen (refunds).
    pub refunded_fen: i64,
    /// Paid out to the customer for a claim, fen (payouts).
    pub paid_out_fen: i64,
    /// `pending` or `succeeded`.
    pub status: String,
    /// The card or bank account, masked.
    pub card: Option<String>,
}

impl Store {
    /// The statement of `account_id` between `from_ms` (inclusive) and `to_ms` (exclusive):
    /// premiums, refunds and claim payouts that succeeded or are still pending (failed
    /// attempts moved nothing and are left out), oldest first, at most
    /// [`STATEMENT_LINES_MAX`].
    pub async fn customer_statement(
        &self,
        account_id: &str,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<StatementLine>, StoreError> {
        let payments = sqlx::query(
            "SELECT p.created_at_ms, p.policy_id, p.id, i.number, p.amount_fen, p.status, p.card_masked
             FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
             WHERE p.account_id = $1 AND p.status IN ('pending', 'succeeded')
               AND p.created_at_ms >= $2 AND p.created_at_ms < $3
             ORDER BY p.created_at_ms, p.id LIMIT $4",
        )
        .bind(account_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(STATEMENT_LINES_MAX)
        .fetch_all(&self.pool)
        .await?;
        let refunds = sqlx::query(
            "SELECT r.created_at_ms, p.policy_id, r.id, r.amount_fen, r.status, p.card_masked
             FROM refunds r JOIN payments p ON p.id = r.payment_id
             WHERE r.account_id = $1 AND r.status IN ('pending', 'succeeded')
               AND r.created_at_ms >= $2 AND r.created_at_ms < $3
             ORDER BY r.created_at_ms, r.id LIMIT $4",
        )
        .bind(account_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(STATEMENT_LINES_MAX)
        .fetch_all(&self.pool)
        .await?;
        let payouts = sqlx::query(
            "SELECT o.created_at_ms, c.policy_id, o.id, o.amount_fen, o.status, a.account_masked
             FROM payouts o JOIN claims c ON c.id = o.claim_id
             JOIN payout_accounts a ON a.id = o.payout_account_id
             WHERE o.account_id = $1 AND o.status IN ('pending', 'succeeded')
               AND o.created_at_ms >= $2 AND o.created_at_ms < $3
             ORDER BY o.created_at_ms, o.id LIMIT $4",
        )
        .bind(account_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(STATEMENT_LINES_MAX)
        .fetch_all(&self.pool)
        .await?;
        let mut lines = Vec::with_capacity(payments.len() + refunds.len() + payouts.len());
        for row in &payments {
            let number: i32 = row.try_get(3)?;
            lines.push(StatementLine {
                at_ms: row.try_get(0)?,
                kind: "premium",
                policy_id: row.try_get(1)?,
                reference: row.try_get(2)?,
                premium_number: u32::try_from(number).ok(),
                paid_fen: row.try_get(4)?,
                refunded_fen: 0,
                paid_out_fen: 0,
                status: row.try_get(5)?,
                card: row.try_get(6)?,
            });
        }
        for row in &refunds {
            lines.push(StatementLine {
                at_ms: row.try_get(0)?,
                kind: "refund",
                policy_id: row.try_get(1)?,
                reference: row.try_get(2)?,
                premium_number: None,
                paid_fen: 0,
                refunded_fen: row.try_get(3)?,
                paid_out_fen: 0,
                status: row.try_get(4)?,
                card: row.try_get(5)?,
            });
        }
        for row in &payouts {
            lines.push(StatementLine {
                at_ms: row.try_get(0)?,
                kind: "payout",
                policy_id: row.try_get(1)?,
                reference: row.try_get(2)?,
                premium_number: None,
                paid_fen: 0,
                refunded_fen: 0,
                paid_out_fen: row.try_get(3)?,
                status: row.try_get(4)?,
                card: row.try_get(5)?,
            });
        }
        lines.sort_by(|a, b| (a.at_ms, &a.reference).cmp(&(b.at_ms, &b.reference)));
        lines.truncate(usize::try_from(STATEMENT_LINES_MAX).unwrap_or(usize::MAX));
        Ok(lines)
    }
}

impl Store {
    /// The movements inspay recorded as settled between `from_ms` (inclusive) and `to_ms`
    /// (exclusive): succeeded premium payments, refunds and claim payouts, by the order id the
    /// channel knows them by, for reconciliation against the channel's statement of that day.
    pub async fn settled_movements(
        &self,
        from_ms: i64,
        to_ms: i64,
    ) -> Result<Vec<inspay_core::reconcile::Movement>, StoreError> {
        use inspay_core::reconcile::{Movement, MovementKind};
        let mut movements = Vec::new();
        for (table, kind) in [
            ("payments", MovementKind::Pay),
            ("refunds", MovementKind::Refund),
            ("payouts", MovementKind::Payout),
        ] {
            let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT id, amount_fen FROM {table}
                 WHERE status = 'succeeded' AND settled_at_ms >= $1 AND settled_at_ms < $2
                 ORDER BY id"
            )))
            .bind(from_ms)
            .bind(to_ms)
            .fetch_all(&self.pool)
            .await?;
            for row in &rows {
                movements.push(Movement {
                    order_id: row.try_get(0)?,
                    kind,
                    amount_fen: row.try_get(1)?,
                });
            }
        }
        Ok(movements)
    }
}

/// One reconciliation run, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRun {
    /// The statement's day, `YYYY-MM-DD`.
    pub day: String,
    /// `channel` (fetched), `file` (the channel's CSV) or `wechat` (a WeChat Pay bill).
    pub source: &'static str,
    /// Orders on both sides, equal.
    pub matched: i64,
    /// Ours, not at the channel.
    pub missing_at_channel: i64,
    /// The channel's, not ours.
    pub missing_in_inspay: i64,
    /// On both sides, differing in amount or kind.
    pub mismatched: i64,
    /// Listed twice on one side.
    pub duplicated: i64,
    /// Who ran it: `system` or `operator:<name>`.
    pub run_by: String,
    /// When (unix ms).
    pub run_at_ms: i64,
}

impl ReconciliationRun {
    /// Whether both sides agreed.
    pub fn is_clean(&self) -> bool {
        self.missing_at_channel == 0
            && self.missing_in_inspay == 0
            && self.mismatched == 0
            && self.duplicated == 0
    }
}

impl Store {
    /// Records a reconciliation run. Returns `false` when the daily job's run of that day is
    /// already recorded (another node got there first): the daily job records each day once.
    pub async fn reconciliation_record(&self, run: &ReconciliationRun) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO reconciliations (id, day, source, matched, missing_at_channel,
                 missing_in_inspay, mismatched, duplicated, clean, run_by, run_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&run.day)
        .bind(run.source)
        .bind(run.matched)
        .bind(run.missing_at_channel)
        .bind(run.missing_in_inspay)
        .bind(run.mismatched)
        .bind(run.duplicated)
        .bind(i32::from(run.is_clean()))
        .bind(&run.run_by)
        .bind(run.run_at_ms)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(error) if super::is_unique_violation(&error) => Ok(false),
            Err(error) => Err(error.into()),
        }
    }

    /// Whether the daily job reconciled a day against the channel's own statement.
    pub async fn reconciled_from_channel(&self, day: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query(
            "SELECT 1 FROM reconciliations WHERE day = $1 AND source = 'channel'
             AND run_by = 'system' LIMIT 1",
        )
        .bind(day)
        .fetch_optional(&self.pool)
        .await?
        .is_some())
    }
}
