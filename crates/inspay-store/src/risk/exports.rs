//! The outbox of risk events for the external risk-control system (clause 5.3.3.5): decisions
//! and security events, signed when written, delivered by a worker on any node to each
//! configured sink (NATS JetStream, a webhook) until that sink acknowledges.
//!
//! Rows are leased like the payment outbox's (`funds/outbox.rs`): one statement takes due rows
//! whose lease ran out and extends their lease, under `FOR UPDATE SKIP LOCKED` on PostgreSQL
//! and SQLite's write lock, so two nodes never deliver one row at the same time, and a node
//! that dies mid-delivery leaves a lease that runs out. Delivery is therefore at least once;
//! every event carries its id, which JetStream de-duplicates and webhook receivers key on.

use crate::{Backend, Store, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Rows one lease takes at most.
pub const RISK_EXPORT_LEASE_ROWS_MAX: i64 = 1_000;

/// Rows one insert statement writes at most (9 parameters each).
const ROWS_PER_INSERT: usize = 100;

/// What an exported event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskExportKind {
    /// A risk decision on an operation.
    Decision,
    /// A security event seen at the edge or by the engine.
    SecurityEvent,
}

impl RiskExportKind {
    /// The stored name, also the last token of the NATS subject.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskExportKind::Decision => "decision",
            RiskExportKind::SecurityEvent => "security-event",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "decision" => Some(RiskExportKind::Decision),
            "security-event" => Some(RiskExportKind::SecurityEvent),
            _ => None,
        }
    }
}

/// Where an event goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskExportSink {
    /// A NATS JetStream stream.
    Nats,
    /// An HTTPS webhook.
    Webhook,
}

impl RiskExportSink {
    /// Both sinks.
    pub const ALL: [RiskExportSink; 2] = [RiskExportSink::Nats, RiskExportSink::Webhook];

    /// The sink's name, as logs and errors give it.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskExportSink::Nats => "nats",
            RiskExportSink::Webhook => "webhook",
        }
    }

    /// The column holding this sink's state (fixed text, never input).
    fn column(self) -> &'static str {
        match self {
            RiskExportSink::Nats => "nats_state",
            RiskExportSink::Webhook => "webhook_state",
        }
    }
}

/// Where a row stands with one sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RiskExportState {
    /// Not delivered yet.
    Pending,
    /// Acknowledged by the sink.
    Done,
    /// Not for this sink: it was not configured when the event was written, or was removed
    /// from the configuration before delivery.
    Skipped,
}

impl RiskExportState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RiskExportState::Pending => "pending",
            RiskExportState::Done => "done",
            RiskExportState::Skipped => "skipped",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(RiskExportState::Pending),
            "done" => Some(RiskExportState::Done),
            "skipped" => Some(RiskExportState::Skipped),
            _ => None,
        }
    }
}

/// An event to write.
#[derive(Debug, Clone, Copy)]
pub struct NewRiskExport<'a> {
    /// The event id (a UUIDv7 made by the caller), also the payload's `id`.
    pub id: &'a str,
    /// What it is about.
    pub kind: RiskExportKind,
    /// The decision's or security event's id: one row per subject.
    pub subject_id: &'a str,
    /// The event JSON, exactly the bytes that were signed.
    pub payload: &'a str,
    /// The SM2 signature over the signed message, base64 DER.
    pub signature: &'a str,
    /// The response-signing key serial that signed it.
    pub key_serial: i64,
    /// When it was written (unix ms); it is due at once.
    pub created_at_ms: i64,
    /// Whether the NATS sink is configured (otherwise it is skipped).
    pub nats: bool,
    /// Whether the webhook sink is configured (otherwise it is skipped).
    pub webhook: bool,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RiskExportRow {
    /// The event id.
    pub id: String,
    /// What it is about.
    pub kind: RiskExportKind,
    /// The decision's or security event's id.
    pub subject_id: String,
    /// The signed event JSON.
    pub payload: String,
    /// The SM2 signature, base64 DER.
    pub signature: String,
    /// The key serial that signed it.
    pub key_serial: i64,
    /// When it was written (unix ms).
    pub created_at_ms: i64,
    /// Where it stands with NATS.
    pub nats_state: RiskExportState,
    /// Where it stands with the webhook.
    pub webhook_state: RiskExportState,
    /// Delivery attempts started so far (a lease counts one).
    pub attempts: i64,
    /// When it is due next (unix ms).
    pub next_attempt_at_ms: i64,
    /// Why the last failed attempt failed (fixed text and the sink's error, never a payload);
    /// kept after a later success as a record of the retries.
    pub last_error: Option<String>,
}

impl RiskExportRow {
    /// This row's state with `sink`.
    pub fn state(&self, sink: RiskExportSink) -> RiskExportState {
        match sink {
            RiskExportSink::Nats => self.nats_state,
            RiskExportSink::Webhook => self.webhook_state,
        }
    }
}

const COLUMNS: &str = "id, kind, subject_id, payload, signature, key_serial, created_at_ms, \
                       nats_state, webhook_state, attempts, next_attempt_at_ms, last_error";

/// A row is due while any sink is pending; written the same way everywhere so SQLite uses the
/// partial index `risk_exports_due`.
const ANY_PENDING: &str = "(nats_state = 'pending' OR webhook_state = 'pending')";

fn from_row(row: &AnyRow) -> Result<RiskExportRow, StoreError> {
    let kind: String = row.try_get(1)?;
    let state = |index: usize| -> Result<RiskExportState, StoreError> {
        let text: String = row.try_get(index)?;
        RiskExportState::parse(&text).ok_or(StoreError::Malformed("risk export sink state"))
    };
    Ok(RiskExportRow {
        id: row.try_get(0)?,
        kind: RiskExportKind::parse(&kind).ok_or(StoreError::Malformed("risk export kind"))?,
        subject_id: row.try_get(2)?,
        payload: row.try_get(3)?,
        signature: row.try_get(4)?,
        key_serial: row.try_get(5)?,
        created_at_ms: row.try_get(6)?,
        nats_state: state(7)?,
        webhook_state: state(8)?,
        attempts: row.try_get(9)?,
        next_attempt_at_ms: row.try_get(10)?,
        last_error: row.try_get(11)?,
    })
}

fn initial_state(configured: bool) -> &'static str {
    if configured {
        RiskExportState::Pending.as_str()
    } else {
        RiskExportState::Skipped.as_str()
    }
}

/// One multi-row insert of `rows` (at most [`ROWS_PER_INSERT`]); subjects already written are
/// left alone.
fn insert_query<'q>(
    rows: &'q [NewRiskExport<'q>],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    let mut sql = String::from(
        "INSERT INTO risk_exports (id, kind, subject_id, payload, signature, key_serial,
             created_at_ms, nats_state, webhook_state, attempts, next_attempt_at_ms,
             lease_until_ms)
         VALUES ",
    );
    for index in 0..rows.len() {
        if index > 0 {
            sql.push_str(", ");
        }
        // Nine parameters a row; the creation time is also the first due time.
        let p = index * 9;
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, ${}, 0, ${}, 0)",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8,
            p + 9,
            p + 7,
        ));
    }
    sql.push_str(" ON CONFLICT (kind, subject_id) DO NOTHING");
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for row in rows {
        query = query
            .bind(row.id)
            .bind(row.kind.as_str())
            .bind(row.subject_id)
            .bind(row.payload)
            .bind(row.signature)
            .bind(row.key_serial)
            .bind(row.created_at_ms)
            .bind(initial_state(row.nats))
            .bind(initial_state(row.webhook));
    }
    query
}

impl Store {
    /// Writes events, due at once; a sink not configured for a row is `skipped`. A subject
    /// already written (same kind and subject id) is left as it is, so enqueueing twice sends
    /// once. Returns how many rows were new. All or nothing: one statement for up to 100 rows
    /// (the usual single event costs no transaction of its own), one transaction beyond.
    pub async fn risk_export_enqueue(&self, rows: &[NewRiskExport<'_>]) -> Result<u64, StoreError> {
        match rows.len() {
            0 => Ok(0),
            n if n <= ROWS_PER_INSERT => Ok(insert_query(rows)
                .execute(&self.pool)
                .await?
                .rows_affected()),
            _ => {
                let mut tx = self.begin_write().await?;
                let mut written = 0;
                for chunk in rows.chunks(ROWS_PER_INSERT) {
                    written += insert_query(chunk).execute(&mut *tx).await?.rows_affected();
                }
                tx.commit().await?;
                Ok(written)
            }
        }
    }

    /// Takes up to `limit` due rows (a sink pending, next attempt come, lease run out) for
    /// `lease_ms`, counting an attempt on each: no other node delivers them until the lease
    /// ends or they are done. Oldest due first.
    pub async fn risk_exports_lease(
        &self,
        now_ms: i64,
        lease_ms: i64,
        limit: i64,
    ) -> Result<Vec<RiskExportRow>, StoreError> {
        let skip_locked = match self.backend {
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let mut tx = self.begin_write().await?;
        // The outer conditions repeat the inner ones: on PostgreSQL a row another node leased
        // between the sub-select and the lock is checked again after the lock.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE risk_exports SET lease_until_ms = $1, attempts = attempts + 1
             WHERE {ANY_PENDING} AND next_attempt_at_ms <= $2 AND lease_until_ms <= $2
               AND id IN (SELECT id FROM risk_exports
                          WHERE {ANY_PENDING} AND next_attempt_at_ms <= $2
                            AND lease_until_ms <= $2
                          ORDER BY next_attempt_at_ms LIMIT $3{skip_locked})
             RETURNING {COLUMNS}"
        )))
        .bind(now_ms.saturating_add(lease_ms.max(1)))
        .bind(now_ms)
        .bind(limit.clamp(1, RISK_EXPORT_LEASE_ROWS_MAX))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        let mut leased = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
        leased.sort_by(|a, b| (a.next_attempt_at_ms, &a.id).cmp(&(b.next_attempt_at_ms, &b.id)));
        Ok(leased)
    }

    /// Records that `sink` acknowledged the event. `false` if it was not pending there.
    pub async fn risk_export_done(
        &self,
        id: &str,
        sink: RiskExportSink,
    ) -> Result<bool, StoreError> {
        self.risk_export_settle(id, sink, RiskExportState::Done)
            .await
    }

    /// Stops delivering the event to `sink` (it was removed from the configuration). `false` if
    /// it was not pending there.
    pub async fn risk_export_skip(
        &self,
        id: &str,
        sink: RiskExportSink,
    ) -> Result<bool, StoreError> {
        self.risk_export_settle(id, sink, RiskExportState::Skipped)
            .await
    }

    async fn risk_export_settle(
        &self,
        id: &str,
        sink: RiskExportSink,
        state: RiskExportState,
    ) -> Result<bool, StoreError> {
        let column = sink.column();
        let changed = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE risk_exports SET {column} = $1 WHERE id = $2 AND {column} = 'pending'"
        )))
        .bind(state.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(changed > 0)
    }

    /// Puts a leased row back for a later attempt at `next_attempt_at_ms`, noting why (fixed
    /// text and the sink's error, never the payload), and releases its lease.
    pub async fn risk_export_retry(
        &self,
        id: &str,
        error: &str,
        next_attempt_at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE risk_exports SET next_attempt_at_ms = $1, lease_until_ms = 0, last_error = $2
             WHERE id = $3 AND {ANY_PENDING}"
        )))
        .bind(next_attempt_at_ms)
        .bind(error)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Rows with a sink still pending (the backlog monitoring watches).
    pub async fn risk_exports_pending(&self) -> Result<i64, StoreError> {
        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM risk_exports WHERE {ANY_PENDING}"
        )))
        .fetch_one(&self.pool)
        .await?;
        Ok(count)
    }

    /// One event by id, if stored.
    pub async fn risk_export(&self, id: &str) -> Result<Option<RiskExportRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_exports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    /// Deletes events written before `before_ms` that no sink still waits for; returns how
    /// many. Pending rows are never purged, however old.
    pub async fn risk_exports_purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sqlx::query(
            "DELETE FROM risk_exports
             WHERE created_at_ms < $1 AND nats_state <> 'pending' AND webhook_state <> 'pending'",
        )
        .bind(before_ms)
        .execute(&self.pool)
        .await?
        .rows_affected())
    }
}
