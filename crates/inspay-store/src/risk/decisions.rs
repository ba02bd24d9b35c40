//! The engine's decisions (clause 5.3.3.1), kept for staff: what was decided for which
//! operation, and why. Each row carries a record MAC, so a decision changed in the database
//! (a deny turned into an allow after the fact) is refused when staff read it.

use super::{check_mac, mac_text};
use crate::{Store, StoreError};
use inspay_kms::Keyring;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Most decisions one listing returns.
pub const DECISIONS_LISTED_MAX: i64 = 500;

/// A decision to record.
#[derive(Debug, Clone, Copy)]
pub struct NewRiskDecision<'a> {
    /// Row id (a UUID made by the caller).
    pub id: &'a str,
    /// When it was decided (unix ms).
    pub at_ms: i64,
    /// The operation decided on: `sign-in`, `payment`, `refund`, `payout`...
    pub operation: &'a str,
    /// The customer, if known.
    pub account_id: Option<&'a str>,
    /// The operation's reference (a payment or claim id), if any.
    pub reference: Option<&'a str>,
    /// The verdict's name.
    pub verdict: &'a str,
    /// The reasons, as JSON (for staff only).
    pub reasons_json: &'a str,
    /// The model's deviation score, if the model ran; must be finite.
    pub model_score: Option<f64>,
    /// Whether the decision raised an alert.
    pub alert: bool,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskDecisionRow {
    /// Row id.
    pub id: String,
    /// When (unix ms).
    pub at_ms: i64,
    /// The operation decided on.
    pub operation: String,
    /// The customer, if known.
    pub account_id: Option<String>,
    /// The operation's reference, if any.
    pub reference: Option<String>,
    /// The verdict's name.
    pub verdict: String,
    /// The reasons, as JSON.
    pub reasons_json: String,
    /// The model's deviation score, if the model ran.
    pub model_score: Option<f64>,
    /// Whether it raised an alert.
    pub alert: bool,
}

/// Which decisions to list, newest first.
#[derive(Debug, Clone, Copy)]
pub struct RiskDecisionFilter<'a> {
    /// Only this customer's.
    pub account_id: Option<&'a str>,
    /// Only this verdict.
    pub verdict: Option<&'a str>,
    /// Only those that raised an alert.
    pub alerts_only: bool,
    /// Only those decided at or after this time (unix ms).
    pub since_ms: i64,
    /// At most this many, clamped to 1..=[`DECISIONS_LISTED_MAX`].
    pub limit: i64,
}

const COLUMNS: &str =
    "id, at_ms, operation, account_id, reference, verdict, reasons, model_score, alert, record_mac";

/// What the record MAC covers: every column, the score by its exact bits.
fn mac_parts(decision: &NewRiskDecision<'_>) -> Vec<Vec<u8>> {
    let optional = |value: Option<&str>| match value {
        Some(value) => format!("1{value}"),
        None => "0".to_string(),
    };
    [
        "inspay/risk-decision/v1".to_string(),
        decision.id.to_string(),
        decision.at_ms.to_string(),
        decision.operation.to_string(),
        optional(decision.account_id),
        optional(decision.reference),
        decision.verdict.to_string(),
        decision.reasons_json.to_string(),
        decision
            .model_score
            .map(|score| format!("1{:016x}", score.to_bits()))
            .unwrap_or_else(|| "0".to_string()),
        u8::from(decision.alert).to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn from_row(keyring: &Keyring, row: &AnyRow) -> Result<RiskDecisionRow, StoreError> {
    let alert: i32 = row.try_get(8)?;
    let decision = RiskDecisionRow {
        id: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        operation: row.try_get(2)?,
        account_id: row.try_get(3)?,
        reference: row.try_get(4)?,
        verdict: row.try_get(5)?,
        reasons_json: row.try_get(6)?,
        model_score: row.try_get(7)?,
        alert: match alert {
            0 => false,
            1 => true,
            _ => return Err(StoreError::Malformed("risk decision alert flag")),
        },
    };
    let mac: String = row.try_get(9)?;
    check_mac(
        keyring,
        &mac_parts(&decision.as_new()),
        &mac,
        "a risk decision",
    )?;
    Ok(decision)
}

impl RiskDecisionRow {
    fn as_new(&self) -> NewRiskDecision<'_> {
        NewRiskDecision {
            id: &self.id,
            at_ms: self.at_ms,
            operation: &self.operation,
            account_id: self.account_id.as_deref(),
            reference: self.reference.as_deref(),
            verdict: &self.verdict,
            reasons_json: &self.reasons_json,
            model_score: self.model_score,
            alert: self.alert,
        }
    }
}

impl Store {
    /// Records a decision with its record MAC (one insert, no transaction of its own). The
    /// reasons must be JSON and the score finite ([`StoreError::Refused`]); an id already
    /// recorded is [`StoreError::Conflict`].
    pub async fn risk_decision_record(
        &self,
        keyring: &Keyring,
        decision: NewRiskDecision<'_>,
    ) -> Result<(), StoreError> {
        if decision.model_score.is_some_and(|score| !score.is_finite()) {
            // SQLite would store NaN as NULL, and the row would then fail its MAC.
            return Err(StoreError::Refused(
                "a risk model score must be a finite number",
            ));
        }
        if serde_json::from_str::<serde::de::IgnoredAny>(decision.reasons_json).is_err() {
            return Err(StoreError::Refused(
                "a risk decision's reasons must be JSON",
            ));
        }
        let mac = mac_text(keyring, &mac_parts(&decision))?;
        // sqlx's Any driver sends a missing f64 as a float4 NULL, and PostgreSQL then keeps
        // float4 for the statement on that connection, refusing the next real score: a
        // decision without a score has a statement of its own.
        let sql = match decision.model_score {
            Some(_) => {
                "INSERT INTO risk_decisions (id, at_ms, operation, account_id, reference, verdict,
                     reasons, alert, record_mac, model_score)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
            }
            None => {
                "INSERT INTO risk_decisions (id, at_ms, operation, account_id, reference, verdict,
                     reasons, alert, record_mac, model_score)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL)"
            }
        };
        let mut query = sqlx::query(sql)
            .bind(decision.id)
            .bind(decision.at_ms)
            .bind(decision.operation)
            .bind(decision.account_id)
            .bind(decision.reference)
            .bind(decision.verdict)
            .bind(decision.reasons_json)
            .bind(i32::from(decision.alert))
            .bind(mac.clone());
        if let Some(score) = decision.model_score {
            query = query.bind(score);
        }
        let inserted = query.execute(&self.pool).await;
        match inserted {
            Ok(_) => Ok(()),
            Err(error) if crate::funds::is_unique_violation(&error) => Err(StoreError::Conflict(
                "a risk decision with this id is already recorded",
            )),
            Err(error) => Err(error.into()),
        }
    }

    /// The decision `id`, checked against its record MAC.
    pub async fn risk_decision(
        &self,
        keyring: &Keyring,
        id: &str,
    ) -> Result<Option<RiskDecisionRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_decisions WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| from_row(keyring, &row)).transpose()
    }

    /// Decisions matching `filter`, newest first, each checked against its record MAC: a row
    /// changed in the database fails the whole listing with [`StoreError::Integrity`].
    pub async fn risk_decisions(
        &self,
        keyring: &Keyring,
        filter: RiskDecisionFilter<'_>,
    ) -> Result<Vec<RiskDecisionRow>, StoreError> {
        // Only the conditions asked for are written, so each query can use its index:
        // (account_id, at_ms) with an account, (at_ms) without.
        let mut sql = format!("SELECT {COLUMNS} FROM risk_decisions WHERE at_ms >= $1");
        let mut next = 2;
        let mut texts = vec![];
        if let Some(account_id) = filter.account_id {
            sql.push_str(&format!(" AND account_id = ${next}"));
            next += 1;
            texts.push(account_id);
        }
        if let Some(verdict) = filter.verdict {
            sql.push_str(&format!(" AND verdict = ${next}"));
            next += 1;
            texts.push(verdict);
        }
        if filter.alerts_only {
            sql.push_str(" AND alert = 1");
        }
        sql.push_str(&format!(" ORDER BY at_ms DESC, id DESC LIMIT ${next}"));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(filter.since_ms);
        for text in texts {
            query = query.bind(text);
        }
        let rows = query
            .bind(filter.limit.clamp(1, DECISIONS_LISTED_MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| from_row(keyring, row)).collect()
    }
}

impl Store {
    /// The scheduled integrity check of `risk_decisions` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn risk_decisions_verify(
        &self,
        keyring: &Keyring,
    ) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {COLUMNS} FROM risk_decisions"),
            "id",
            |row| from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
