//! Operations held for manual review (clause 5.3.3.1; issue 6 item 6): the review queue.
//!
//! A hold moves `held` → `released` or `rejected` once, by a conditional update in a
//! transaction that also appends the officer's decision to the audit chain. A released hold
//! that the server resumes itself (`resumable`) is leased by one node at a time and ends
//! `resumed` or `failed`; one the customer repeats is `consumed` by their next attempt. Every
//! state change rewrites the record MAC, which covers all columns but the lease counters.

use super::{check_mac, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_kms::Keyring;
use sqlx::Row;
use sqlx::any::AnyRow;

/// Most holds one listing returns.
pub const HOLDS_LISTED_MAX: i64 = 500;

/// The longest note an officer may leave, in characters.
pub const HOLD_NOTE_CHARS_MAX: usize = 500;

/// The states a hold goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskHoldState {
    /// Waiting for a risk officer.
    Held,
    /// Released: being resumed, or waiting for the customer's next attempt.
    Released,
    /// Rejected by a risk officer: the operation never runs.
    Rejected,
    /// Released and resumed by the server.
    Resumed,
    /// Released, but the operation could no longer run (`outcome` says why).
    Failed,
    /// Released, and the customer's next attempt went through.
    Consumed,
}

impl RiskHoldState {
    /// Every state.
    pub const ALL: [RiskHoldState; 6] = [
        RiskHoldState::Held,
        RiskHoldState::Released,
        RiskHoldState::Rejected,
        RiskHoldState::Resumed,
        RiskHoldState::Failed,
        RiskHoldState::Consumed,
    ];

    /// The stored name.
    pub const fn name(self) -> &'static str {
        match self {
            RiskHoldState::Held => "held",
            RiskHoldState::Released => "released",
            RiskHoldState::Rejected => "rejected",
            RiskHoldState::Resumed => "resumed",
            RiskHoldState::Failed => "failed",
            RiskHoldState::Consumed => "consumed",
        }
    }

    /// The state with this name.
    pub fn parse(name: &str) -> Option<RiskHoldState> {
        Self::ALL.into_iter().find(|state| state.name() == name)
    }
}

/// A hold to open.
#[derive(Debug, Clone, Copy)]
pub struct NewRiskHold<'a> {
    /// Row id (a UUID made by the caller).
    pub id: &'a str,
    /// The decision that held the operation.
    pub decision_id: &'a str,
    /// What was held: `premium_payment`, `claim_decision`...
    pub operation: &'a str,
    /// The customer concerned.
    pub account_id: &'a str,
    /// The operation's identity (`premium:<policy>:<n>`, `claim:<id>`...): one open hold each.
    pub subject: &'a str,
    /// The account that asked for the operation (the customer, or a staff member).
    pub requested_by: &'a str,
    /// What resuming needs, as JSON, with no personal data.
    pub payload: &'a str,
    /// Whether the server resumes it on release (else the customer's next attempt does).
    pub resumable: bool,
    /// When (unix ms).
    pub at_ms: i64,
}

/// A stored hold.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskHoldRow {
    /// Row id.
    pub id: String,
    /// The decision that held the operation.
    pub decision_id: String,
    /// What was held.
    pub operation: String,
    /// The customer concerned.
    pub account_id: String,
    /// The operation's identity.
    pub subject: String,
    /// Who asked for the operation.
    pub requested_by: String,
    /// What resuming needs, as JSON.
    pub payload: String,
    /// Whether the server resumes it on release.
    pub resumable: bool,
    /// Where it is.
    pub state: RiskHoldState,
    /// When it was opened (unix ms).
    pub created_at_ms: i64,
    /// The officer who released or rejected it.
    pub decided_by: Option<String>,
    /// When (unix ms).
    pub decided_at_ms: Option<i64>,
    /// The officer's note.
    pub note: Option<String>,
    /// What happened when it was resumed or consumed.
    pub outcome: Option<String>,
    /// When that happened (unix ms).
    pub finished_at_ms: Option<i64>,
    /// Resume attempts so far.
    pub attempts: i64,
}

const COLUMNS: &str = "id, decision_id, operation, account_id, subject, requested_by, payload, \
     resumable, state, created_at_ms, decided_by, decided_at_ms, note, outcome, finished_at_ms, \
     attempts, record_mac";

impl RiskHoldRow {
    fn mac_parts(&self) -> Vec<Vec<u8>> {
        let text = |value: &Option<String>| match value {
            Some(value) => format!("1{value}"),
            None => "0".to_string(),
        };
        let number = |value: Option<i64>| match value {
            Some(value) => format!("1{value}"),
            None => "0".to_string(),
        };
        [
            "inspay/risk-hold/v1".to_string(),
            self.id.clone(),
            self.decision_id.clone(),
            self.operation.clone(),
            self.account_id.clone(),
            self.subject.clone(),
            self.requested_by.clone(),
            self.payload.clone(),
            u8::from(self.resumable).to_string(),
            self.state.name().to_string(),
            self.created_at_ms.to_string(),
            text(&self.decided_by),
            number(self.decided_at_ms),
            text(&self.note),
            text(&self.outcome),
            number(self.finished_at_ms),
        ]
        .into_iter()
        .map(String::into_bytes)
        .collect()
    }

    fn mac(&self, keyring: &Keyring) -> Result<String, StoreError> {
        mac_text(keyring, &self.mac_parts())
    }

    fn object(&self) -> String {
        format!("risk-hold:{}", self.id)
    }
}

fn from_row(keyring: &Keyring, row: &AnyRow) -> Result<RiskHoldRow, StoreError> {
    let resumable: i32 = row.try_get(7)?;
    let state: String = row.try_get(8)?;
    let hold = RiskHoldRow {
        id: row.try_get(0)?,
        decision_id: row.try_get(1)?,
        operation: row.try_get(2)?,
        account_id: row.try_get(3)?,
        subject: row.try_get(4)?,
        requested_by: row.try_get(5)?,
        payload: row.try_get(6)?,
        resumable: match resumable {
            0 => false,
            1 => true,
            _ => return Err(StoreError::Malformed("risk hold resumable flag")),
        },
        state: RiskHoldState::parse(&state).ok_or(StoreError::Malformed("risk hold state"))?,
        created_at_ms: row.try_get(9)?,
        decided_by: row.try_get(10)?,
        decided_at_ms: row.try_get(11)?,
        note: row.try_get(12)?,
        outcome: row.try_get(13)?,
        finished_at_ms: row.try_get(14)?,
        attempts: row.try_get(15)?,
    };
    let mac: String = row.try_get(16)?;
    check_mac(keyring, &hold.mac_parts(), &mac, "a risk hold")?;
    Ok(hold)
}

/// Which holds to list, oldest first (the queue's order).
#[derive(Debug, Clone, Copy)]
pub struct RiskHoldFilter<'a> {
    /// Only holds in this state.
    pub state: Option<RiskHoldState>,
    /// Only this customer's.
    pub account_id: Option<&'a str>,
    /// At most this many, clamped to 1..=[`HOLDS_LISTED_MAX`].
    pub limit: i64,
}

impl Store {
    /// Opens a hold, or returns the hold already open for the same subject (a second attempt
    /// while the first waits gets the first's hold, and no second hold).
    pub async fn risk_hold_open(
        &self,
        keyring: &Keyring,
        hold: NewRiskHold<'_>,
    ) -> Result<RiskHoldRow, StoreError> {
        if serde_json::from_str::<serde::de::IgnoredAny>(hold.payload).is_err() {
            return Err(StoreError::Refused("a risk hold's payload must be JSON"));
        }
        let row = RiskHoldRow {
            id: hold.id.to_string(),
            decision_id: hold.decision_id.to_string(),
            operation: hold.operation.to_string(),
            account_id: hold.account_id.to_string(),
            subject: hold.subject.to_string(),
            requested_by: hold.requested_by.to_string(),
            payload: hold.payload.to_string(),
            resumable: hold.resumable,
            state: RiskHoldState::Held,
            created_at_ms: hold.at_ms,
            decided_by: None,
            decided_at_ms: None,
            note: None,
            outcome: None,
            finished_at_ms: None,
            attempts: 0,
        };
        let mac = row.mac(keyring)?;
        let inserted = sqlx::query(
            "INSERT INTO risk_holds (id, decision_id, operation, account_id, subject,
                 requested_by, payload, resumable, state, created_at_ms, record_mac)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'held', $9, $10)",
        )
        .bind(&row.id)
        .bind(&row.decision_id)
        .bind(&row.operation)
        .bind(&row.account_id)
        .bind(&row.subject)
        .bind(&row.requested_by)
        .bind(&row.payload)
        .bind(i32::from(row.resumable))
        .bind(row.created_at_ms)
        .bind(&mac)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => Ok(row),
            Err(error) if crate::funds::is_unique_violation(&error) => self
                .risk_hold_open_for(keyring, hold.subject)
                .await?
                .ok_or(StoreError::Conflict(
                    "a hold for this operation was decided at the same moment; try again",
                )),
            Err(error) => Err(error.into()),
        }
    }

    /// The open (held or released) hold for `subject`, if any.
    pub async fn risk_hold_open_for(
        &self,
        keyring: &Keyring,
        subject: &str,
    ) -> Result<Option<RiskHoldRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_holds WHERE subject = $1 AND state IN ('held', 'released')"
        )))
        .bind(subject)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| from_row(keyring, &row)).transpose()
    }

    /// The hold `id`, if any.
    pub async fn risk_hold(
        &self,
        keyring: &Keyring,
        id: &str,
    ) -> Result<Option<RiskHoldRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_holds WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| from_row(keyring, &row)).transpose()
    }

    /// Holds matching `filter`, oldest first, each checked against its record MAC.
    pub async fn risk_holds(
        &self,
        keyring: &Keyring,
        filter: RiskHoldFilter<'_>,
    ) -> Result<Vec<RiskHoldRow>, StoreError> {
        let mut sql = format!("SELECT {COLUMNS} FROM risk_holds WHERE 1 = 1");
        let mut texts = vec![];
        if let Some(state) = filter.state {
            texts.push(state.name());
            sql.push_str(&format!(" AND state = ${}", texts.len()));
        }
        if let Some(account_id) = filter.account_id {
            texts.push(account_id);
            sql.push_str(&format!(" AND account_id = ${}", texts.len()));
        }
        sql.push_str(&format!(
            " ORDER BY created_at_ms, id LIMIT ${}",
            texts.len() + 1
        ));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in texts {
            query = query.bind(text);
        }
        let rows = query
            .bind(filter.limit.clamp(1, HOLDS_LISTED_MAX))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| from_row(keyring, row)).collect()
    }

    /// A risk officer releases (`release`) or rejects a held operation, once: a hold no longer
    /// `held` is [`StoreError::Conflict`]. Audited as `risk.hold.release` or
    /// `risk.hold.reject` in the same transaction.
    pub async fn risk_hold_decide(
        &self,
        keyring: &Keyring,
        id: &str,
        release: bool,
        note: Option<&str>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<RiskHoldRow, StoreError> {
        if note.is_some_and(|note| note.chars().count() > HOLD_NOTE_CHARS_MAX) {
            return Err(StoreError::Refused(
                "a note on a hold is at most 500 characters",
            ));
        }
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_holds WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(StoreError::NotFound("risk hold"))?;
        let mut hold = from_row(keyring, &row)?;
        if hold.state != RiskHoldState::Held {
            return Err(StoreError::Conflict(
                "this hold was already released or rejected",
            ));
        }
        hold.state = if release {
            RiskHoldState::Released
        } else {
            RiskHoldState::Rejected
        };
        hold.decided_by = Some(who.actor.to_string());
        hold.decided_at_ms = Some(now_ms);
        hold.note = note.map(str::to_string);
        let mac = hold.mac(keyring)?;
        let updated = sqlx::query(
            "UPDATE risk_holds SET state = $1, decided_by = $2, decided_at_ms = $3, note = $4,
                 record_mac = $5
             WHERE id = $6 AND state = 'held'",
        )
        .bind(hold.state.name())
        .bind(&hold.decided_by)
        .bind(now_ms)
        .bind(&hold.note)
        .bind(&mac)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "this hold was already released or rejected",
            ));
        }
        let action = if release {
            "risk.hold.release"
        } else {
            "risk.hold.reject"
        };
        let details = [
            ("operation", AuditValue::Text(hold.operation.clone())),
            ("decision", AuditValue::Text(hold.decision_id.clone())),
            ("subject", AuditValue::Text(hold.subject.clone())),
        ];
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action,
                object: &hold.object(),
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &details,
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(hold)
    }

    /// Leases up to `limit` released holds the server resumes, whose lease has run out, for
    /// `lease_ms`: a node that crashes mid-resume loses its lease and another resumes the hold
    /// (the operations themselves refuse to run twice).
    pub async fn risk_holds_lease(
        &self,
        keyring: &Keyring,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<RiskHoldRow>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM risk_holds
             WHERE state = 'released' AND resumable = 1 AND lease_until_ms < $1
             ORDER BY decided_at_ms LIMIT $2",
        )
        .bind(now_ms)
        .bind(limit.clamp(1, 100))
        .fetch_all(&self.pool)
        .await?;
        let mut leased = Vec::new();
        for id in ids {
            let taken = sqlx::query(
                "UPDATE risk_holds SET lease_until_ms = $1, attempts = attempts + 1
                 WHERE id = $2 AND state = 'released' AND lease_until_ms < $3",
            )
            .bind(now_ms + lease_ms)
            .bind(&id)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
            if taken.rows_affected() == 1
                && let Some(hold) = self.risk_hold(keyring, &id).await?
            {
                leased.push(hold);
            }
        }
        Ok(leased)
    }

    /// Ends a released hold: `resumed` (or `consumed` by the customer's attempt) when the
    /// operation went through, `failed` when it could no longer run. Only a `released` hold
    /// ends; anything else is [`StoreError::Conflict`].
    pub async fn risk_hold_finish(
        &self,
        keyring: &Keyring,
        id: &str,
        state: RiskHoldState,
        outcome: &str,
        now_ms: i64,
    ) -> Result<RiskHoldRow, StoreError> {
        if !matches!(
            state,
            RiskHoldState::Resumed | RiskHoldState::Failed | RiskHoldState::Consumed
        ) {
            return Err(StoreError::Refused(
                "a hold ends resumed, failed or consumed",
            ));
        }
        let mut hold = self
            .risk_hold(keyring, id)
            .await?
            .ok_or(StoreError::NotFound("risk hold"))?;
        if hold.state != RiskHoldState::Released {
            return Err(StoreError::Conflict(
                "this hold is not waiting to be resumed",
            ));
        }
        hold.state = state;
        hold.outcome = Some(outcome.to_string());
        hold.finished_at_ms = Some(now_ms);
        let mac = hold.mac(keyring)?;
        let updated = sqlx::query(
            "UPDATE risk_holds SET state = $1, outcome = $2, finished_at_ms = $3, record_mac = $4
             WHERE id = $5 AND state = 'released'",
        )
        .bind(state.name())
        .bind(outcome)
        .bind(now_ms)
        .bind(&mac)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() != 1 {
            return Err(StoreError::Conflict(
                "this hold is not waiting to be resumed",
            ));
        }
        Ok(hold)
    }
}

impl Store {
    /// The scheduled integrity check of `risk_holds` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn risk_holds_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {COLUMNS} FROM risk_holds"),
            "id",
            |row| from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
