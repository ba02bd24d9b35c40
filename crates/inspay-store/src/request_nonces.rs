//! Anti-replay for signed requests (clause 5.6.2-e): a request's timestamp must be within the
//! window of the server's time, and its nonce must not have been seen for that application
//! inside the window. The check lives in the shared database, so two nodes never both accept
//! one request: the insert of the (application, nonce) pair succeeds for one of them only.

use crate::{Store, StoreError};
use sqlx::Row;

/// The window either side of the server's time, in seconds (catalogue default ±300 s).
pub const WINDOW_S_DEFAULT: i64 = 300;

/// The outcome of a nonce check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NonceCheck {
    /// First time seen, in the window: the request may go on.
    Accepted,
    /// Seen before: a replay.
    Replayed,
    /// The timestamp is outside the window: too old or from the future.
    OutsideWindow,
}

impl Store {
    /// Checks and records a request's nonce. The pair is kept until twice the window has
    /// passed, longer than any timestamp the window admits, so a replay is caught for as long
    /// as its timestamp could pass. The same statement as the server's group-committed batches
    /// ([`crate::protocol_writes`]), for one request.
    pub async fn request_nonce_accept(
        &self,
        app_id: &str,
        nonce: &str,
        timestamp_s: i64,
        window_s: i64,
        now_ms: i64,
    ) -> Result<NonceCheck, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let job = (
            app_id.to_string(),
            nonce.to_string(),
            timestamp_s,
            window_s,
            now_ms,
        );
        let checks = accept_many(&mut connection, std::slice::from_ref(&job)).await?;
        checks.first().copied().ok_or(StoreError::Integrity(
            "a nonce check went unanswered".into(),
        ))
    }

    /// Deletes nonces whose window is over; returns how many.
    pub async fn request_nonces_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM request_nonces WHERE expires_at_ms <= $1")
                .bind(now_ms)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }
}

/// Checks and records many requests' nonces in one statement, on any connection (a caller's
/// transaction, for group commit): each job is (application, nonce, timestamp, window
/// seconds, server time ms). Answers in the jobs' order. A pair given twice is accepted once.
pub(crate) async fn accept_many(
    connection: &mut sqlx::AnyConnection,
    jobs: &[(String, String, i64, i64, i64)],
) -> Result<Vec<NonceCheck>, StoreError> {
    let mut answers = vec![NonceCheck::OutsideWindow; jobs.len()];
    let mut seen = std::collections::HashSet::new();
    let mut candidates = vec![];
    for (index, (app_id, nonce, timestamp_s, window_s, now_ms)) in jobs.iter().enumerate() {
        if (now_ms.div_euclid(1000) - timestamp_s).abs() > *window_s {
            continue;
        }
        if !seen.insert((app_id.as_str(), nonce.as_str())) {
            answers[index] = NonceCheck::Replayed;
            continue;
        }
        candidates.push(index);
    }
    if candidates.is_empty() {
        return Ok(answers);
    }
    // In key order, so the batches of several nodes on one PostgreSQL take row locks in the
    // same order and cannot deadlock on each other's nonces.
    candidates.sort_by(|&a, &b| (&jobs[a].0, &jobs[a].1).cmp(&(&jobs[b].0, &jobs[b].1)));
    let mut inserted = std::collections::HashSet::new();
    for run in crate::db::row_runs(&candidates) {
        let sql = format!(
            "INSERT INTO request_nonces (app_id, nonce, seen_at_ms, expires_at_ms) VALUES {}
             ON CONFLICT (app_id, nonce) DO NOTHING RETURNING app_id, nonce",
            crate::db::values_rows(connection, run.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for &index in run {
            let (app_id, nonce, _, window_s, now_ms) = &jobs[index];
            query = query
                .bind(app_id.as_str())
                .bind(nonce.as_str())
                .bind(*now_ms)
                .bind(now_ms + 2 * window_s * 1000);
        }
        for row in query.fetch_all(&mut *connection).await? {
            let app_id: String = row.try_get(0)?;
            let nonce: String = row.try_get(1)?;
            inserted.insert((app_id, nonce));
        }
    }
    for index in candidates {
        let (app_id, nonce, ..) = &jobs[index];
        answers[index] = if inserted.contains(&(app_id.clone(), nonce.clone())) {
            NonceCheck::Accepted
        } else {
            NonceCheck::Replayed
        };
    }
    Ok(answers)
}
