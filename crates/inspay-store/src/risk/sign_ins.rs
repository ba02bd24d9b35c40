//! The sign-in history login risk reads (issue 6 item 2; clauses 5.3.3.1, 5.3.3.3-c, 5.4.3.2):
//! one row per first-factor attempt, right or wrong, and the counts the engine's `login.*`
//! facts are made of.
//!
//! Rows hold references, never the thing itself: the login name, the device id and the client
//! address only as the server's HMAC-SM3 of them (made by the caller with the blind-index
//! key), and the address's network region as its IPv4 /16 or IPv6 /48 prefix. Every count is
//! one read of an index on (subject, time); the history is kept for a retention period
//! ([`Store::risk_sign_ins_purge`]).

use crate::{Store, StoreError};
use sqlx::Row;
use sqlx::any::AnyRow;

/// Most rows one listing returns.
pub const SIGN_INS_LISTED_MAX: i64 = 500;
/// Most key versions a device may be looked up under at once (a rotation keeps a few
/// searchable); more are ignored.
pub const DEVICE_REFS_MAX: usize = 8;

/// Where an attempt stands. Moves forward only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInOutcome {
    /// The first factor was wrong, or the account could not sign in (unknown, locked...).
    Failed,
    /// The risk engine refused the sign-in.
    Denied,
    /// The first factor was right; the flow waits for its second factor.
    Started,
    /// The second factor was given; the extra factor a risky sign-in needs is due.
    AwaitingExtra,
    /// Every factor the sign-in needed was given: its device and region become known.
    Completed,
    /// The extra factor failed.
    Ended,
}

impl SignInOutcome {
    /// The stored name.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Failed => "failed",
            Self::Denied => "denied",
            Self::Started => "started",
            Self::AwaitingExtra => "awaiting-extra",
            Self::Completed => "completed",
            Self::Ended => "ended",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Failed,
            Self::Denied,
            Self::Started,
            Self::AwaitingExtra,
            Self::Completed,
            Self::Ended,
        ]
        .into_iter()
        .find(|outcome| outcome.name() == name)
    }
}

/// One attempt to record.
#[derive(Debug, Clone, Copy)]
pub struct NewSignIn<'a> {
    /// Row id (a UUID made by the caller; decisions name it as their reference).
    pub id: &'a str,
    /// When (unix ms).
    pub at_ms: i64,
    /// The account, when the login name has one.
    pub account_id: Option<&'a str>,
    /// The server's HMAC of the login name.
    pub name_ref: &'a str,
    /// The server's HMAC of the device id, when the request named a device.
    pub device_ref: Option<&'a str>,
    /// The server's HMAC of the client address.
    pub ip_ref: &'a str,
    /// The address's network region (`203.0.0.0/16`, `2001:db8:1::/48`).
    pub network: &'a str,
    /// Latitude and longitude in 1/10,000 degree, when the region file places the address.
    pub position_e4: Option<(i64, i64)>,
    /// Where the attempt stands.
    pub outcome: SignInOutcome,
    /// The sign-in flow the attempt opened, if any.
    pub flow_id: Option<&'a str>,
    /// The risk decision taken on it, if any.
    pub decision_id: Option<&'a str>,
    /// The extra factor the flow needs (`id-number`, `device-key`), if any.
    pub extra_factor: Option<&'a str>,
}

/// A stored attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignInRow {
    /// Row id.
    pub id: String,
    /// When (unix ms).
    pub at_ms: i64,
    /// The account, if known.
    pub account_id: Option<String>,
    /// The server's HMAC of the login name.
    pub name_ref: String,
    /// The server's HMAC of the device id, if any.
    pub device_ref: Option<String>,
    /// The server's HMAC of the client address.
    pub ip_ref: String,
    /// The network region.
    pub network: String,
    /// Latitude and longitude in 1/10,000 degree, if known.
    pub position_e4: Option<(i64, i64)>,
    /// Where it stands.
    pub outcome: SignInOutcome,
    /// Its flow, if any.
    pub flow_id: Option<String>,
    /// Its decision, if any.
    pub decision_id: Option<String>,
    /// The extra factor its flow needs, if any.
    pub extra_factor: Option<String>,
}

/// What identifies the source of an attempt, for the counts.
#[derive(Debug, Clone, Copy)]
pub struct SignInSource<'a> {
    /// The login name's reference.
    pub name_ref: &'a str,
    /// The client address's reference.
    pub ip_ref: &'a str,
    /// The device's references under every searchable key version (empty: no device named).
    pub device_refs: &'a [String],
}

/// The windows the counts look back over, ms.
#[derive(Debug, Clone, Copy)]
pub struct SignInWindows {
    /// Failures per name and per address.
    pub failures_ms: i64,
    /// Distinct names per address.
    pub names_ms: i64,
    /// Distinct accounts per device.
    pub device_ms: i64,
}

/// Counts about the source of an attempt, all before it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SourceCounts {
    /// Failed or denied attempts for this login name.
    pub name_failures: i64,
    /// Failed or denied attempts from this address, any name.
    pub ip_failures: i64,
    /// Distinct login names tried from this address, this one left out.
    pub ip_other_names: i64,
    /// Distinct accounts that completed a sign-in from this device.
    pub device_accounts: i64,
}

/// What an account's own history says about an attempt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountSignIns {
    /// The account completed at least one sign-in (within retention).
    pub any_completed: bool,
    /// It completed one from this device (or, with no device named, from an unnamed one).
    pub device_known: bool,
    /// It completed one from this network region.
    pub network_known: bool,
    /// Its latest completed sign-in that has a position: when, and where (1/10,000 degree).
    pub previous_position: Option<(i64, i64, i64)>,
}

const COLUMNS: &str = "id, at_ms, account_id, name_ref, device_ref, ip_ref, network, \
                       latitude_e4, longitude_e4, outcome, flow_id, decision_id, extra_factor";

fn from_row(row: &AnyRow) -> Result<SignInRow, StoreError> {
    let outcome: String = row.try_get(9)?;
    let latitude: Option<i64> = row.try_get(7)?;
    let longitude: Option<i64> = row.try_get(8)?;
    Ok(SignInRow {
        id: row.try_get(0)?,
        at_ms: row.try_get(1)?,
        account_id: row.try_get(2)?,
        name_ref: row.try_get(3)?,
        device_ref: row.try_get(4)?,
        ip_ref: row.try_get(5)?,
        network: row.try_get(6)?,
        position_e4: latitude.zip(longitude),
        outcome: SignInOutcome::parse(&outcome).ok_or(StoreError::Malformed("sign-in outcome"))?,
        flow_id: row.try_get(10)?,
        decision_id: row.try_get(11)?,
        extra_factor: row.try_get(12)?,
    })
}

/// `$first, $first+1, ...` for `count` bound values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|index| format!("${index}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Outcomes that count as a failure of the source: a wrong factor, or a refusal.
const FAILED: &str = "outcome IN ('failed', 'denied')";

impl Store {
    /// Records one attempt.
    pub async fn risk_sign_in_record(&self, attempt: &NewSignIn<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO risk_sign_ins (id, at_ms, account_id, name_ref, device_ref, ip_ref,
                 network, latitude_e4, longitude_e4, outcome, flow_id, decision_id, extra_factor,
                 updated_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $2)",
        )
        .bind(attempt.id)
        .bind(attempt.at_ms)
        .bind(attempt.account_id)
        .bind(attempt.name_ref)
        .bind(attempt.device_ref)
        .bind(attempt.ip_ref)
        .bind(attempt.network)
        .bind(attempt.position_e4.map(|(latitude, _)| latitude))
        .bind(attempt.position_e4.map(|(_, longitude)| longitude))
        .bind(attempt.outcome.name())
        .bind(attempt.flow_id)
        .bind(attempt.decision_id)
        .bind(attempt.extra_factor)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The counts about an attempt's source at `now_ms`: failures for its name and from its
    /// address, other names tried from its address, and accounts signed in from its device
    /// (leaving `except_account` out, when given). Each is one read of an index.
    pub async fn risk_sign_in_source_counts(
        &self,
        source: &SignInSource<'_>,
        windows: SignInWindows,
        except_account: Option<&str>,
        now_ms: i64,
    ) -> Result<SourceCounts, StoreError> {
        let failures_since = now_ms - windows.failures_ms;
        let name_failures: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM risk_sign_ins WHERE name_ref = $1 AND at_ms >= $2 AND {FAILED}"
        )))
        .bind(source.name_ref)
        .bind(failures_since)
        .fetch_one(&self.pool)
        .await?;
        let ip_failures: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM risk_sign_ins WHERE ip_ref = $1 AND at_ms >= $2 AND {FAILED}"
        )))
        .bind(source.ip_ref)
        .bind(failures_since)
        .fetch_one(&self.pool)
        .await?;
        let ip_other_names: i64 = sqlx::query_scalar(
            "SELECT COUNT(DISTINCT name_ref) FROM risk_sign_ins
             WHERE ip_ref = $1 AND at_ms >= $2 AND name_ref <> $3",
        )
        .bind(source.ip_ref)
        .bind(now_ms - windows.names_ms)
        .bind(source.name_ref)
        .fetch_one(&self.pool)
        .await?;
        let device_accounts = self
            .risk_sign_in_device_accounts(
                source.device_refs,
                now_ms - windows.device_ms,
                except_account,
            )
            .await?;
        Ok(SourceCounts {
            name_failures,
            ip_failures,
            ip_other_names,
            device_accounts,
        })
    }

    /// Distinct accounts that completed a sign-in from the device (under any of
    /// `device_refs`) at or after `since_ms`, leaving `except_account` out; 0 when no device
    /// is named.
    pub async fn risk_sign_in_device_accounts(
        &self,
        device_refs: &[String],
        since_ms: i64,
        except_account: Option<&str>,
    ) -> Result<i64, StoreError> {
        let refs = &device_refs[..device_refs.len().min(DEVICE_REFS_MAX)];
        if refs.is_empty() {
            return Ok(0);
        }
        let sql = format!(
            "SELECT COUNT(DISTINCT account_id) FROM risk_sign_ins
             WHERE device_ref IN ({}) AND at_ms >= $1 AND outcome = 'completed'
               AND account_id IS NOT NULL AND account_id <> $2",
            placeholders(3, refs.len())
        );
        let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .bind(since_ms)
            .bind(except_account.unwrap_or(""));
        for device_ref in refs {
            query = query.bind(device_ref.as_str());
        }
        Ok(query.fetch_one(&self.pool).await?)
    }

    /// What the account's completed sign-ins say about a new one from `device_refs` (empty: no
    /// device named) and `network`.
    pub async fn risk_sign_in_account(
        &self,
        account_id: &str,
        device_refs: &[String],
        network: &str,
    ) -> Result<AccountSignIns, StoreError> {
        let refs = &device_refs[..device_refs.len().min(DEVICE_REFS_MAX)];
        let device_test = if refs.is_empty() {
            "device_ref IS NULL".to_owned()
        } else {
            format!("device_ref IN ({})", placeholders(3, refs.len()))
        };
        let sql = format!(
            "SELECT COUNT(*),
                    CAST(COALESCE(MAX(CASE WHEN {device_test} THEN 1 ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(MAX(CASE WHEN network = $2 THEN 1 ELSE 0 END), 0) AS BIGINT)
             FROM risk_sign_ins WHERE account_id = $1 AND outcome = 'completed'"
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(network);
        for device_ref in refs {
            query = query.bind(device_ref.as_str());
        }
        let row = query.fetch_one(&self.pool).await?;
        let completed: i64 = row.try_get(0)?;
        let device_known: i64 = row.try_get(1)?;
        let network_known: i64 = row.try_get(2)?;
        let previous = sqlx::query(
            "SELECT at_ms, latitude_e4, longitude_e4 FROM risk_sign_ins
             WHERE account_id = $1 AND outcome = 'completed' AND latitude_e4 IS NOT NULL
               AND longitude_e4 IS NOT NULL
             ORDER BY at_ms DESC LIMIT 1",
        )
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| -> Result<_, StoreError> {
            Ok((row.try_get(0)?, row.try_get(1)?, row.try_get(2)?))
        })
        .transpose()?;
        Ok(AccountSignIns {
            any_completed: completed > 0,
            device_known: device_known == 1,
            network_known: network_known == 1,
            previous_position: previous,
        })
    }

    /// The attempt that opened sign-in flow `flow_id`, if any.
    pub async fn risk_sign_in_of_flow(
        &self,
        flow_id: &str,
    ) -> Result<Option<SignInRow>, StoreError> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM risk_sign_ins WHERE flow_id = $1"
        )))
        .bind(flow_id)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| from_row(&row))
        .transpose()
    }

    /// Moves the attempt of flow `flow_id` from `from` to `to`, if it is still at `from`.
    /// Returns whether it moved: of two concurrent moves from the same state, one does.
    pub async fn risk_sign_in_advance(
        &self,
        flow_id: &str,
        from: SignInOutcome,
        to: SignInOutcome,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let moved = sqlx::query(
            "UPDATE risk_sign_ins SET outcome = $3, updated_at_ms = $4
             WHERE flow_id = $1 AND outcome = $2",
        )
        .bind(flow_id)
        .bind(from.name())
        .bind(to.name())
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(moved == 1)
    }

    /// The newest attempts, at most `limit` (clamped to 1..=[`SIGN_INS_LISTED_MAX`]), of one
    /// account or of all.
    pub async fn risk_sign_ins(
        &self,
        account_id: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SignInRow>, StoreError> {
        let limit = limit.clamp(1, SIGN_INS_LISTED_MAX);
        let rows = match account_id {
            Some(account_id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM risk_sign_ins WHERE account_id = $1
                     ORDER BY at_ms DESC, id DESC LIMIT $2"
                )))
                .bind(account_id)
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
            None => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM risk_sign_ins ORDER BY at_ms DESC, id DESC LIMIT $1"
                )))
                .bind(limit)
                .fetch_all(&self.pool)
                .await?
            }
        };
        rows.iter().map(from_row).collect()
    }

    /// Deletes at most `limit` attempts older than `before_ms`, oldest first; returns how many
    /// went. Bounded so one call never holds the table for long: call again while it returns
    /// `limit`.
    pub async fn risk_sign_ins_purge(&self, before_ms: i64, limit: i64) -> Result<u64, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM risk_sign_ins WHERE id IN (
                 SELECT id FROM risk_sign_ins WHERE at_ms < $1 ORDER BY at_ms LIMIT $2)",
        )
        .bind(before_ms)
        .bind(limit.max(0))
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Outcome names round-trip; unknown ones are refused.
    #[test]
    fn outcome_names_round_trip() {
        for outcome in [
            SignInOutcome::Failed,
            SignInOutcome::Denied,
            SignInOutcome::Started,
            SignInOutcome::AwaitingExtra,
            SignInOutcome::Completed,
            SignInOutcome::Ended,
        ] {
            assert_eq!(SignInOutcome::parse(outcome.name()), Some(outcome));
        }
        assert_eq!(SignInOutcome::parse("allowed"), None);
    }

    /// Placeholders are numbered from the first free one.
    #[test]
    fn placeholders_are_numbered() {
        assert_eq!(placeholders(3, 2), "$3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
