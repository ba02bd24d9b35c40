//! Rate counters and security events (clause 5.4.3.2), in the shared database so every node
//! counts the same requests.
//!
//! Counters use fixed one-minute windows: one statement adds a hit to each subject's counter
//! and returns the new counts. Security events are kept as rows for the security officer; the
//! caller decides when a burst becomes an alert.

use crate::{Store, StoreError};
use sqlx::Row;

/// The counting window.
pub const WINDOW_MS: i64 = 60_000;

/// One subject to count a hit for: (`app`, `account`, `ip`, `event:<kind>`) and its id.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// What is counted.
    pub scope: &'a str,
    /// Whom.
    pub subject: &'a str,
}

/// A security event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// Row id.
    pub id: String,
    /// What was seen: `signature-invalid`, `nonce-replayed`, `unknown-application`,
    /// `injection-shaped-input`, `rate-limited`, `admin-network-refused`.
    pub kind: String,
    /// The application, if known.
    pub app_id: Option<String>,
    /// The account, if known.
    pub account_id: Option<String>,
    /// The client's IP address.
    pub client_ip: Option<String>,
    /// The route template.
    pub route: Option<String>,
    /// Fixed text from the code.
    pub detail: String,
    /// Whether this event raised an alert.
    pub alert: bool,
    /// When, unix ms.
    pub at_ms: i64,
}

/// The start of the window holding `now_ms`.
pub fn window_start(now_ms: i64) -> i64 {
    now_ms - now_ms.rem_euclid(WINDOW_MS)
}

impl Store {
    /// Adds one hit to each subject's counter for the current window and returns the counts,
    /// in order. One statement, one round trip.
    pub async fn rate_hit(
        &self,
        subjects: &[Subject<'_>],
        now_ms: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if subjects.is_empty() {
            return Ok(vec![]);
        }
        let window = window_start(now_ms);
        let mut sql = String::from(
            "INSERT INTO rate_counters (scope, subject, window_start_ms, hits) VALUES ",
        );
        for index in 0..subjects.len() {
            if index > 0 {
                sql.push_str(", ");
            }
            let base = index * 2;
            sql.push_str(&format!(
                "(${}, ${}, ${}, 1)",
                base + 1,
                base + 2,
                subjects.len() * 2 + 1
            ));
        }
        sql.push_str(
            " ON CONFLICT (scope, subject, window_start_ms) DO UPDATE
              SET hits = rate_counters.hits + 1
              RETURNING scope, subject, hits",
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for subject in subjects {
            query = query.bind(subject.scope).bind(subject.subject);
        }
        let rows = query.bind(window).fetch_all(&self.pool).await?;
        let mut counts = vec![0; subjects.len()];
        for row in &rows {
            let scope: String = row.try_get(0)?;
            let subject: String = row.try_get(1)?;
            let hits: i32 = row.try_get(2)?;
            for (index, wanted) in subjects.iter().enumerate() {
                if wanted.scope == scope && wanted.subject == subject {
                    counts[index] = i64::from(hits);
                }
            }
        }
        Ok(counts)
    }

    /// Adds `hits` to a subject's counter for the window starting at `window_start_ms` and
    /// returns the new total: how a node hands over the hits it counted locally.
    pub async fn rate_add(
        &self,
        subject: Subject<'_>,
        window_start_ms: i64,
        hits: i64,
    ) -> Result<i64, StoreError> {
        let hits = i32::try_from(hits).unwrap_or(i32::MAX);
        let total: i32 = sqlx::query_scalar(
            "INSERT INTO rate_counters (scope, subject, window_start_ms, hits)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (scope, subject, window_start_ms) DO UPDATE
             SET hits = rate_counters.hits + excluded.hits
             RETURNING hits",
        )
        .bind(subject.scope)
        .bind(subject.subject)
        .bind(window_start_ms)
        .bind(hits)
        .fetch_one(&self.pool)
        .await?;
        Ok(i64::from(total))
    }

    /// Deletes counters of windows that ended before `now_ms`; returns how many.
    pub async fn rate_counters_purge(&self, now_ms: i64) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM rate_counters WHERE window_start_ms < $1")
                .bind(window_start(now_ms) - WINDOW_MS)
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    /// Keeps a security event.
    pub async fn security_event_record(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO security_events (id, kind, app_id, account_id, client_ip, route, detail,
                                          alert, at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&event.id)
        .bind(&event.kind)
        .bind(&event.app_id)
        .bind(&event.account_id)
        .bind(&event.client_ip)
        .bind(&event.route)
        .bind(&event.detail)
        .bind(i32::from(event.alert))
        .bind(event.at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// How many security events of each kind came from `client_ip` or from `app_id` since
    /// `since_ms` (kept events only: at most `EVENTS_KEPT_PER_MINUTE` per source and minute),
    /// as `(kind, count)`. Nothing when neither source is given.
    pub async fn security_event_counts(
        &self,
        client_ip: Option<&str>,
        app_id: Option<&str>,
        since_ms: i64,
    ) -> Result<Vec<(String, i64)>, StoreError> {
        if client_ip.is_none() && app_id.is_none() {
            return Ok(vec![]);
        }
        let rows = sqlx::query(
            "SELECT kind, COUNT(*) FROM security_events
             WHERE at_ms >= $1 AND (client_ip = $2 OR app_id = $3)
             GROUP BY kind",
        )
        .bind(since_ms)
        .bind(client_ip)
        .bind(app_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
            .collect()
    }

    /// Security events from `since_ms` on, newest first, at most `limit`.
    pub async fn security_events_list(
        &self,
        since_ms: i64,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, kind, app_id, account_id, client_ip, route, detail, alert, at_ms
             FROM security_events WHERE at_ms >= $1 ORDER BY at_ms DESC, id DESC LIMIT $2",
        )
        .bind(since_ms)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let alert: i32 = row.try_get(7)?;
                Ok(SecurityEvent {
                    id: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    app_id: row.try_get(2)?,
                    account_id: row.try_get(3)?,
                    client_ip: row.try_get(4)?,
                    route: row.try_get(5)?,
                    detail: row.try_get(6)?,
                    alert: alert != 0,
                    at_ms: row.try_get(8)?,
                })
            })
            .collect()
    }
}
