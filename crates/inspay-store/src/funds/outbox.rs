//! The transactional outbox (clause 5.3.4): channel work written in the same transaction as
//! the state it acts on, then driven by a worker on any node until the outcome is known.
//!
//! A worker claims due rows with a lease, so two nodes never drive one row at the same time,
//! and a node that dies mid-call leaves a lease that runs out: the row is driven again, and
//! because every channel order is idempotent by its id, driving it twice moves money once.

use crate::{Backend, Store, StoreError};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// Rows claimed per call at most.
pub const OUTBOX_CLAIM_ROWS_MAX: i64 = 64;

/// What a row asks the worker to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxKind {
    /// Find out how a premium payment whose answer never came ended (query the channel).
    ResolvePayment,
    /// Send a refund to the channel (or, after a lost answer, find out how it ended).
    SendRefund,
    /// Send a claim payout.
    SendPayout,
}

impl OutboxKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxKind::ResolvePayment => "resolve_payment",
            OutboxKind::SendRefund => "send_refund",
            OutboxKind::SendPayout => "send_payout",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "resolve_payment" => Some(OutboxKind::ResolvePayment),
            "send_refund" => Some(OutboxKind::SendRefund),
            "send_payout" => Some(OutboxKind::SendPayout),
            _ => None,
        }
    }
}

/// Rows `outbox_rows` lists at most.
pub const OUTBOX_LIST_ROWS_MAX: i64 = 10_000;

/// A row as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxRow {
    /// Row id.
    pub id: String,
    /// What it drives.
    pub kind: OutboxKind,
    /// The payment, refund or payout id.
    pub subject_id: String,
    /// `ready`, `dead` or `done`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When it is due next, unix ms.
    pub next_attempt_at_ms: i64,
    /// Why the last attempt did not finish it (fixed text from the code).
    pub last_error: Option<String>,
    /// When it was written.
    pub created_at_ms: i64,
    /// When it last changed.
    pub updated_at_ms: i64,
}

/// A claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxItem {
    /// Row id.
    pub id: String,
    /// What to do.
    pub kind: OutboxKind,
    /// The payment, refund or payout id.
    pub subject_id: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
    /// When the row was written.
    pub created_at_ms: i64,
}

fn item_from_row(row: &AnyRow) -> Result<OutboxItem, StoreError> {
    let kind: String = row.try_get(1)?;
    Ok(OutboxItem {
        id: row.try_get(0)?,
        kind: OutboxKind::parse(&kind).ok_or(StoreError::Malformed("outbox kind"))?,
        subject_id: row.try_get(2)?,
        attempts: row.try_get(3)?,
        created_at_ms: row.try_get(4)?,
    })
}

/// Writes a row inside the caller's transaction.
pub(crate) async fn insert(
    connection: &mut AnyConnection,
    kind: OutboxKind,
    subject_id: &str,
    due_at_ms: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO outbox (id, kind, subject_id, state, attempts, next_attempt_at_ms,
             lease_until_ms, created_at_ms, updated_at_ms)
         VALUES ($1, $2, $3, 'ready', 0, $4, 0, $5, $5)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(kind.as_str())
    .bind(subject_id)
    .bind(due_at_ms)
    .bind(at_ms)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

/// Marks a subject's row done inside the caller's transaction (the outcome is recorded).
pub(crate) async fn finish(
    connection: &mut AnyConnection,
    kind: OutboxKind,
    subject_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'done', lease_until_ms = 0, updated_at_ms = $1
         WHERE kind = $2 AND subject_id = $3 AND state = 'ready'",
    )
    .bind(at_ms)
    .bind(kind.as_str())
    .bind(subject_id)
    .execute(&mut *connection)
    .await?;
    Ok(())
}

impl Store {
    /// Claims up to `limit` due rows for `lease_ms`: nobody else drives them until the lease
    /// ends or they are finished.
    pub async fn outbox_claim(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<OutboxItem>, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE outbox SET lease_until_ms = $1, attempts = attempts + 1, updated_at_ms = $2
             WHERE state = 'ready' AND next_attempt_at_ms <= $2 AND lease_until_ms <= $2
               AND id IN (SELECT id FROM outbox
                          WHERE state = 'ready' AND next_attempt_at_ms <= $2
                            AND lease_until_ms <= $2
                          ORDER BY next_attempt_at_ms LIMIT $3{skip_locked})
             RETURNING id, kind, subject_id, attempts, created_at_ms"
        )))
        .bind(now_ms + lease_ms)
        .bind(now_ms)
        .bind(limit.clamp(1, OUTBOX_CLAIM_ROWS_MAX))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Puts a claimed row back for a later attempt, noting why (a fixed message from the
    /// code, never channel text that could carry personal data).
    pub async fn outbox_retry(
        &self,
        id: &str,
        next_attempt_at_ms: i64,
        error: &str,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET next_attempt_at_ms = $1, lease_until_ms = 0, last_error = $2,
                 updated_at_ms = $3
             WHERE id = $4 AND state = 'ready'",
        )
        .bind(next_attempt_at_ms)
        .bind(error)
        .bind(at_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Gives up on a row: an operator must look (the monitoring counts dead rows).
    pub async fn outbox_dead(&self, id: &str, error: &str, at_ms: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET state = 'dead', lease_until_ms = 0, last_error = $1,
                 updated_at_ms = $2
             WHERE id = $3 AND state = 'ready'",
        )
        .bind(error)
        .bind(at_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rows in `state` (`ready`, `dead` or `done`), oldest first, at most `limit`.
    pub async fn outbox_rows(&self, state: &str, limit: i64) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, subject_id, state, attempts, next_attempt_at_ms, last_error,
                    created_at_ms, updated_at_ms
             FROM outbox WHERE state = $1 ORDER BY created_at_ms, id LIMIT $2",
        )
        .bind(state)
        .bind(limit.clamp(1, OUTBOX_LIST_ROWS_MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get(1)?;
                Ok(OutboxRow {
                    id: row.try_get(0)?,
                    kind: OutboxKind::parse(&kind).ok_or(StoreError::Malformed("outbox kind"))?,
                    subject_id: row.try_get(2)?,
                    state: row.try_get(3)?,
                    attempts: row.try_get(4)?,
                    next_attempt_at_ms: row.try_get(5)?,
                    last_error: row.try_get(6)?,
                    created_at_ms: row.try_get(7)?,
                    updated_at_ms: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// Puts a dead row back to be driven again at once, after an operator fixed its cause.
    /// Audited. `false` if there is no dead row with this id.
    pub async fn outbox_redrive(
        &self,
        id: &str,
        who: crate::keys::Actor<'_>,
        at_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let changed = sqlx::query(
            "UPDATE outbox SET state = 'ready', attempts = 0, next_attempt_at_ms = 0,
                 lease_until_ms = 0, updated_at_ms = $1
             WHERE id = $2 AND state = 'dead'",
        )
        .bind(at_ms)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if changed == 0 {
            return Ok(false);
        }
        let object = format!("outbox:{id}");
        crate::audit::append(
            &mut tx,
            &crate::audit::AuditEvent {
                actor: who.actor,
                action: "outbox.redrive",
                object: &object,
                outcome: crate::audit::Outcome::Success,
                request_id: who.request_id,
                details: &[],
            },
            at_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Rows not yet done, by state: (`ready`, `dead`).
    pub async fn outbox_backlog(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COALESCE(SUM(CASE WHEN state = 'ready' THEN 1 ELSE 0 END), 0),
                    COALESCE(SUM(CASE WHEN state = 'dead' THEN 1 ELSE 0 END), 0)
             FROM outbox",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }
}
