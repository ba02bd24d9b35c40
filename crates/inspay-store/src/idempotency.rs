//! Idempotency keys: the first answer to each (application, key) pair is kept at least
//! [`IDEMPOTENCY_TTL_MS`], so a retried fund request gets the same answer and is executed once.
//!
//! A [`ClaimJob`] claims a key in one insert (the primary key makes two nodes take turns); the
//! request runs; its answer is stored with its evidence. Both go through the group-committed
//! batch of [`crate::protocol_writes`]. A retry
//! with the same request finds the stored answer; with a different request, a conflict; while
//! the first is still running, "in progress". A request that failed before it could do
//! anything (the server answered 5xx) releases its key with [`Store::idempotency_release`], so
//! a retry runs again rather than replaying a failure.

use crate::{Store, StoreError};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;

/// How long a key and its answer are kept (24 h).
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 3_600_000;

/// A stored answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    /// HTTP status.
    pub status: u16,
    /// Content type.
    pub content_type: Option<String>,
    /// Body.
    pub body: Vec<u8>,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// The key is new and now held by this request.
    Claimed,
    /// The same request was answered before: here is the answer.
    Replay(StoredAnswer),
    /// The key was used with a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

/// Keeps the answers of finished requests under their keys, in as few statements as the batch
/// allows: `(application, key, answer)`.
pub(crate) async fn finish_many(
    connection: &mut sqlx::AnyConnection,
    answers: &[(&str, &str, &StoredAnswer)],
) -> Result<(), StoreError> {
    // In key order, so the batches of several nodes take row locks in the same order.
    let mut answers = answers.to_vec();
    answers.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    if connection.backend_name() != "SQLite" {
        // PostgreSQL plans `UPDATE ... FROM (VALUES ...)` as a hash join over the whole table
        // while its statistics say the table is small (a new or growing one), reading every row
        // for every batch; one update by primary key per answer is an index look-up whatever
        // the statistics say.
        for (app_id, key, answer) in &answers {
            sqlx::query(
                "UPDATE idempotency_keys
                 SET state = 'done', response_status = $3, response_content_type = $4,
                     response_body = $5
                 WHERE app_id = $1 AND idempotency_key = $2",
            )
            .bind(*app_id)
            .bind(*key)
            .bind(i32::from(answer.status))
            .bind(&answer.content_type)
            .bind(&answer.body)
            .execute(&mut *connection)
            .await?;
        }
        return Ok(());
    }
    for chunk in crate::db::row_runs(&answers) {
        let sql = format!(
            "UPDATE idempotency_keys
             SET state = 'done', response_status = v.column3,
                 response_content_type = v.column4, response_body = v.column5
             FROM (VALUES {}) AS v
             WHERE idempotency_keys.app_id = v.column1
               AND idempotency_keys.idempotency_key = v.column2",
            crate::db::values_rows(connection, chunk.len(), 5)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (app_id, key, answer) in chunk {
            query = query
                .bind(*app_id)
                .bind(*key)
                .bind(i32::from(answer.status))
                .bind(&answer.content_type)
                .bind(&answer.body);
        }
        query.execute(&mut *connection).await?;
    }
    Ok(())
}

fn request_parts<'a>(method: &'a str, target: &'a str, body: &'a [u8]) -> [&'a [u8]; 4] {
    [b"idempotency", method.as_bytes(), target.as_bytes(), body]
}

/// One claim, for a batch: the request as the handler sees it (its body after field
/// decryption, so it is wiped when the job is dropped).
pub struct ClaimJob {
    /// The application.
    pub app_id: String,
    /// The idempotency key.
    pub key: String,
    /// HTTP method.
    pub method: String,
    /// Path and query.
    pub target: String,
    /// The body.
    pub body: zeroize::Zeroizing<Vec<u8>>,
    /// The server's time.
    pub now_ms: i64,
}

impl std::fmt::Debug for ClaimJob {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimJob")
            .field("app_id", &self.app_id)
            .field("method", &self.method)
            .field("body", &"<redacted>")
            .finish()
    }
}

/// Claims idempotency keys for a batch of requests, answering in the jobs' order. Keys seen
/// for the first time (or whose earlier use expired) are claimed in one statement; for the
/// others the stored row decides: the first answer, a conflict, or "in progress". A key twice
/// in one batch is claimed by the first job; the second finds it in progress.
pub(crate) async fn claim_many(
    connection: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    jobs: &[&ClaimJob],
) -> Result<Vec<Claim>, StoreError> {
    let mut first = std::collections::HashSet::new();
    let mut macs = Vec::with_capacity(jobs.len());
    let mut fresh = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        let parts = request_parts(&job.method, &job.target, &job.body);
        macs.push(keyring.record_mac(&parts)?.to_text());
        if first.insert((job.app_id.as_str(), job.key.as_str())) {
            fresh.push(index);
        }
    }
    // In key order, so the batches of several nodes take row locks in the same order.
    fresh.sort_by(|&a, &b| (&jobs[a].app_id, &jobs[a].key).cmp(&(&jobs[b].app_id, &jobs[b].key)));
    let mut claimed = std::collections::HashSet::new();
    for chunk in crate::db::row_runs(&fresh) {
        // A new key is inserted; an expired one is taken over as new (its old answer is gone
        // for good); a live one is left as it is, and not returned.
        let sql = format!(
            "INSERT INTO idempotency_keys (app_id, idempotency_key, request_mac, state,
                                           created_at_ms, expires_at_ms)
             VALUES {}
             ON CONFLICT (app_id, idempotency_key) DO UPDATE
             SET request_mac = excluded.request_mac, state = 'in-progress',
                 response_status = NULL, response_content_type = NULL, response_body = NULL,
                 created_at_ms = excluded.created_at_ms, expires_at_ms = excluded.expires_at_ms
             WHERE idempotency_keys.expires_at_ms <= excluded.created_at_ms
             RETURNING app_id, idempotency_key",
            crate::db::values_rows(connection, chunk.len(), 6)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &index in chunk {
            let job = jobs[index];
            query = query
                .bind(job.app_id.as_str())
                .bind(job.key.as_str())
                .bind(macs[index].as_str())
                .bind("in-progress")
                .bind(job.now_ms)
                .bind(job.now_ms + IDEMPOTENCY_TTL_MS);
        }
        for row in query.fetch_all(&mut *connection).await? {
            let app_id: String = sqlx::Row::try_get(&row, 0)?;
            let key: String = sqlx::Row::try_get(&row, 1)?;
            claimed.insert((app_id, key));
        }
    }
    let fresh: std::collections::HashSet<usize> = fresh.into_iter().collect();
    let mut answers = Vec::with_capacity(jobs.len());
    for (index, job) in jobs.iter().enumerate() {
        let answer =
            if fresh.contains(&index) && claimed.contains(&(job.app_id.clone(), job.key.clone())) {
                Claim::Claimed
            } else {
                existing(connection, keyring, job).await?
            };
        answers.push(answer);
    }
    Ok(answers)
}

/// What the stored row says to a request whose key was already claimed.
async fn existing(
    connection: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    job: &ClaimJob,
) -> Result<Claim, StoreError> {
    let parts = request_parts(&job.method, &job.target, &job.body);
    type Row = (String, String, Option<i32>, Option<String>, Option<Vec<u8>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT request_mac, state, response_status, response_content_type, response_body
             FROM idempotency_keys WHERE app_id = $1 AND idempotency_key = $2",
    )
    .bind(job.app_id.as_str())
    .bind(job.key.as_str())
    .fetch_optional(&mut *connection)
    .await?;
    let Some((stored_mac, state, status, content_type, body)) = row else {
        // Released between the insert and the read: the caller may retry.
        return Ok(Claim::InProgress);
    };
    let same = match Sealed::parse(&stored_mac) {
        Ok(sealed) => keyring.verify_record_mac(&parts, &sealed)?,
        Err(_) => false,
    };
    if !same {
        return Ok(Claim::Mismatch);
    }
    if state != "done" {
        return Ok(Claim::InProgress);
    }
    Ok(Claim::Replay(StoredAnswer {
        status: status
            .and_then(|status| u16::try_from(status).ok())
            .ok_or(StoreError::Malformed("idempotent answer status"))?,
        content_type,
        body: body.unwrap_or_default(),
    }))
}

impl Store {
    /// Gives a key back after a request that did nothing (a server-side failure).
    pub async fn idempotency_release(&self, app_id: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys
             WHERE app_id = $1 AND idempotency_key = $2 AND state = 'in-progress'",
        )
        .bind(app_id)
        .bind(key)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Deletes expired keys; returns how many.
    pub async fn idempotency_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM idempotency_keys WHERE expires_at_ms <= $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}
