//! Server-side sessions (clauses 5.3.3.3 and 5.6.5-c): created after authentication with a
//! fresh token, checked and refreshed on every request, ended by logout, timeout, password
//! change or the multi-login policy, and always deleted (not flagged) when they end.

use crate::audit::{AuditEvent, AuditValue, Outcome, append, append_by_account};
use crate::{Store, StoreError};
use inspay_identity::session::{MultiLogin, SessionPolicy, SessionToken};
use sqlx::Row;

/// A live session as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// The account.
    pub account_id: String,
    /// The authentication level reached (e.g. "two-factor").
    pub auth_level: String,
    /// When the session began (unix ms).
    pub created_at_ms: i64,
}

/// What starting a session did to the account's other sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    /// Other live sessions kept (policy "notify": tell the person).
    pub others_kept: u64,
    /// Other sessions ended (policy "sign out older").
    pub others_ended: u64,
}

/// Why sessions end, for the audit log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The person signed out.
    Logout,
    /// Idle or absolute limit reached.
    Timeout,
    /// The password changed.
    PasswordChanged,
    /// A newer sign-in under the "sign out older" policy.
    NewerSignIn,
    /// An operator or a containment switch.
    Revoked,
}

impl EndReason {
    fn name(self) -> &'static str {
        match self {
            EndReason::Logout => "logout",
            EndReason::Timeout => "timeout",
            EndReason::PasswordChanged => "password-changed",
            EndReason::NewerSignIn => "newer-sign-in",
            EndReason::Revoked => "revoked",
        }
    }
}

/// Ends everything an account has signed in with, inside the caller's write transaction:
/// deletes its sessions and ends its sign-ins under way (a lock, a new secret, a new login name
/// or a closure makes both void). Returns how many sessions ended.
pub(crate) async fn end_account_sign_ins(
    connection: &mut sqlx::AnyConnection,
    account_id: &str,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?
        .rows_affected();
    sqlx::query(
        "UPDATE sign_in_flows SET stage = 'ended', updated_at_ms = $2
         WHERE account_id = $1 AND stage = 'awaiting-second'",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?;
    Ok(ended)
}

/// Ends everything that lets a closed account act, inside the caller's write transaction: its
/// sessions and sign-ins under way ([`end_account_sign_ins`]), its step-up proofs, and its SM2
/// keys and certificates (revoked, kept for verifying what they signed). Returns (sessions
/// ended, keys revoked). Used when a customer closes an account and when staff accounts are
/// closed.
pub(crate) async fn end_account_access(
    connection: &mut sqlx::AnyConnection,
    account_id: &str,
    now_ms: i64,
) -> Result<(u64, u64), StoreError> {
    let sessions_ended = end_account_sign_ins(&mut *connection, account_id, now_ms).await?;
    sqlx::query("DELETE FROM step_ups WHERE account_id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    let keys_revoked = sqlx::query(
        "UPDATE credential_keys SET revoked_at_ms = $2 WHERE account_id = $1 AND revoked_at_ms IS NULL",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    Ok((sessions_ended, keys_revoked))
}

/// The prefix of a session level that needs a re-authentication to resume.
pub const RESUME_PREFIX: &str = "resume+";

fn seconds(ms: i64) -> i64 {
    ms.div_euclid(1000)
}

/// How stale a session's last-seen time may be before a request writes it again, ms.
pub const SESSION_TOUCH_MS: i64 = 5_000;

impl Store {
    /// Starts a session for an authenticated account with a fresh token, applying the
    /// multi-login policy to its other sessions. Audited.
    pub async fn session_start(
        &self,
        account_id: &str,
        auth_level: &str,
        policy: &SessionPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(SessionToken, Started), StoreError> {
        let token = SessionToken::generate().map_err(|_| StoreError::Malformed("random source"))?;
        let mut tx = self.begin_write().await?;
        let others: Vec<(i64, i64)> = sqlx::query(
            "SELECT created_at_ms, last_seen_at_ms FROM sessions WHERE account_id = $1",
        )
        .bind(account_id)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
        let live = others
            .iter()
            .filter(|(created, seen)| {
                policy.is_alive(seconds(*created), seconds(*seen), seconds(now_ms))
            })
            .count() as u64;
        let started = match policy.multi_login {
            MultiLogin::Notify => Started {
                others_kept: live,
                others_ended: 0,
            },
            MultiLogin::SignOutOlder => {
                sqlx::query("DELETE FROM sessions WHERE account_id = $1")
                    .bind(account_id)
                    .execute(&mut *tx)
                    .await?;
                Started {
                    others_kept: 0,
                    others_ended: live,
                }
            }
        };
        sqlx::query(
            "INSERT INTO sessions (token_digest, account_id, auth_level, created_at_ms, last_seen_at_ms)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(token.digest())
        .bind(account_id)
        .bind(auth_level)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append_by_account(
            &mut tx,
            account_id,
            "session.start",
            Outcome::Success,
            request_id,
            &[
                ("auth_level", AuditValue::Text(auth_level.to_string())),
                (
                    "others_kept",
                    AuditValue::Number(i64::try_from(started.others_kept).unwrap_or(i64::MAX)),
                ),
                (
                    "others_ended",
                    AuditValue::Number(i64::try_from(started.others_ended).unwrap_or(i64::MAX)),
                ),
            ],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok((token, started))
    }

    /// Checks a presented token: a live session is refreshed and returned; an expired one is
    /// deleted (and audited) and, like an unknown token, gives `None`.
    pub async fn session_check(
        &self,
        token: &SessionToken,
        policy: &SessionPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Option<SessionInfo>, StoreError> {
        let digest = token.digest();
        let row = sqlx::query(
            "SELECT account_id, auth_level, created_at_ms, last_seen_at_ms FROM sessions WHERE token_digest = $1",
        )
        .bind(&digest)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let info = SessionInfo {
            account_id: row.try_get(0)?,
            auth_level: row.try_get(1)?,
            created_at_ms: row.try_get(2)?,
        };
        let last_seen: i64 = row.try_get(3)?;
        if !policy.is_alive(
            seconds(info.created_at_ms),
            seconds(last_seen),
            seconds(now_ms),
        ) {
            self.session_delete(
                &digest,
                &info.account_id,
                EndReason::Timeout,
                request_id,
                now_ms,
            )
            .await?;
            return Ok(None);
        }
        // A client back after the background limit must re-authenticate before it goes on
        // (clause 5.2.1.2); the level says so until it does.
        let mut info = info;
        if seconds(now_ms) - seconds(last_seen) >= policy.background_s
            && !info.auth_level.starts_with(RESUME_PREFIX)
        {
            info.auth_level = format!("{RESUME_PREFIX}{}", info.auth_level);
        }
        // The last-seen time moves at most every SESSION_TOUCH_MS: a busy client costs one
        // write every few seconds, not one per request (on SQLite every write takes the
        // database's write lock). The idle and background limits are minutes long, so they are
        // kept to within those seconds. A change of level is always written.
        let level_changed = row.try_get::<String, _>(1)? != info.auth_level;
        if level_changed || now_ms - last_seen >= SESSION_TOUCH_MS {
            sqlx::query(
                "UPDATE sessions SET last_seen_at_ms = $2, auth_level = $3 WHERE token_digest = $1",
            )
            .bind(&digest)
            .bind(now_ms)
            .bind(&info.auth_level)
            .execute(&self.pool)
            .await?;
        }
        Ok(Some(info))
    }

    /// Replaces a session's token after a re-authentication (clause 5.3.3.3: a new token
    /// after every authentication) and sets its level. The session keeps its start time, so
    /// the absolute limit still counts from the sign-in. Returns `None` if the old token is
    /// no longer live. Audited.
    pub async fn session_reissue(
        &self,
        old: &SessionToken,
        auth_level: &str,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Option<SessionToken>, StoreError> {
        let token = SessionToken::generate().map_err(|_| StoreError::Malformed("random source"))?;
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(
            "DELETE FROM sessions WHERE token_digest = $1 RETURNING account_id, created_at_ms",
        )
        .bind(old.digest())
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let account_id: String = row.try_get(0)?;
        let created_at_ms: i64 = row.try_get(1)?;
        sqlx::query(
            "INSERT INTO sessions (token_digest, account_id, auth_level, created_at_ms, last_seen_at_ms)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token.digest())
        .bind(&account_id)
        .bind(auth_level)
        .bind(created_at_ms)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append_by_account(
            &mut tx,
            &account_id,
            "session.reissue",
            Outcome::Success,
            request_id,
            &[("auth_level", AuditValue::Text(auth_level.to_string()))],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    /// Ends one session (logout). Returns whether it existed.
    pub async fn session_end(
        &self,
        token: &SessionToken,
        request_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let digest = token.digest();
        let account: Option<String> =
            sqlx::query("SELECT account_id FROM sessions WHERE token_digest = $1")
                .bind(&digest)
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        match account {
            Some(account_id) => {
                self.session_delete(&digest, &account_id, EndReason::Logout, request_id, now_ms)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Ends every session of an account (password change, revocation). Returns how many.
    pub async fn sessions_end_account(
        &self,
        account_id: &str,
        reason: EndReason,
        request_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: "system",
                action: "session.end-all",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[
                    ("reason", AuditValue::Word(reason.name())),
                    (
                        "sessions",
                        AuditValue::Number(i64::try_from(ended).unwrap_or(i64::MAX)),
                    ),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    async fn session_delete(
        &self,
        digest: &str,
        account_id: &str,
        reason: EndReason,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query("DELETE FROM sessions WHERE token_digest = $1")
            .bind(digest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted > 0 {
            append_by_account(
                &mut tx,
                account_id,
                "session.end",
                Outcome::Success,
                request_id,
                &[("reason", AuditValue::Word(reason.name()))],
                now_ms,
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }
}

/// A live session of an account, as its owner sees it: never the token or its digest, only a
/// handle derived from the digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSummary {
    /// 32 hex characters: SM3 of a fixed label and the token digest, cut.
    pub handle: String,
    /// The session level.
    pub level: String,
    /// When it started.
    pub created_at_ms: i64,
    /// When it was last used (to within a few seconds).
    pub last_seen_at_ms: i64,
    /// Whether it is the session asking.
    pub current: bool,
}

fn session_handle(digest: &str) -> String {
    let mut label = b"inspay-session-handle\n".to_vec();
    label.extend_from_slice(digest.as_bytes());
    hex::encode(inspay_crypto::sm3::sm3(&label))[..32].to_string()
}

impl Store {
    /// The account's live sessions (those within the idle and absolute limits), newest first,
    /// marking the one whose token is `current`.
    pub async fn sessions_of(
        &self,
        account_id: &str,
        current: &SessionToken,
        policy: &SessionPolicy,
        now_ms: i64,
    ) -> Result<Vec<SessionSummary>, StoreError> {
        let current = current.digest();
        let rows = sqlx::query(
            "SELECT token_digest, auth_level, created_at_ms, last_seen_at_ms FROM sessions
             WHERE account_id = $1 ORDER BY created_at_ms DESC",
        )
        .bind(account_id)
        .fetch_all(&self.pool)
        .await?;
        let mut sessions = Vec::new();
        for row in rows {
            let digest: String = row.try_get(0)?;
            let created_at_ms: i64 = row.try_get(2)?;
            let last_seen_at_ms: i64 = row.try_get(3)?;
            if !policy.is_alive(
                seconds(created_at_ms),
                seconds(last_seen_at_ms),
                seconds(now_ms),
            ) {
                continue;
            }
            sessions.push(SessionSummary {
                handle: session_handle(&digest),
                level: row.try_get(1)?,
                created_at_ms,
                last_seen_at_ms,
                current: digest == current,
            });
        }
        Ok(sessions)
    }

    /// Ends the account's session with this handle (another device, say). Returns whether
    /// there was one. Audited like a sign-out.
    pub async fn session_end_by_handle(
        &self,
        account_id: &str,
        handle: &str,
        request_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let digests: Vec<String> =
            sqlx::query_scalar("SELECT token_digest FROM sessions WHERE account_id = $1")
                .bind(account_id)
                .fetch_all(&self.pool)
                .await?;
        let wanted = handle.as_bytes();
        let found = digests.into_iter().find(|digest| {
            let candidate = session_handle(digest);
            candidate.len() == wanted.len()
                && inspay_crypto::sm3::constant_time_eq(candidate.as_bytes(), wanted)
        });
        match found {
            Some(digest) => {
                self.session_delete(&digest, account_id, EndReason::Logout, request_id, now_ms)
                    .await?;
                Ok(true)
            }
            None => Ok(false),
        }
    }
}
