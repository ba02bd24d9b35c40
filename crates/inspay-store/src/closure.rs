//! Closing a customer account, and erasing the person behind it once the retention period is
//! over (clause 5.6.5-a4: after "uninstall", no personal financial data remains).
//!
//! Closing ends everything that lets the account act: its status becomes `closed` (sign-in is
//! refused), every session is deleted, every credential key is revoked and pending one-time
//! codes are dropped. The personal record stays readable during the retention period that the
//! law asks for (anti-money-laundering records, disputes).
//!
//! Erasure, once that period is over, is crypto-erasure: the person's own data key is deleted,
//! so the sealed legal name, mobile and ID number stay in the row but can never be opened, even
//! by someone holding the master key and every data key. The blind indexes, the record MAC, the
//! login-name index and the password hashes go too, and so do the one-time codes and SMS send
//! records kept under the person's mobile index. What survives is pseudonymous: the account id
//! (which the ledger keeps with amounts), its status, consent history and the audit trail.
//!
//! Residues: on SQLite, `secure_delete` zeroes the deleted key in the database file and the
//! write-ahead log is checkpointed and truncated after each run, so the key's bytes are gone
//! from disk. On PostgreSQL the deleted row version can remain in the table and in the WAL
//! until vacuum and segment recycling, and any backup keeps it; it is wrapped under a
//! field-encryption key version, so rotating that key and destroying the old version (the key
//! lifecycle, clause 5.6.5-a1) makes those copies unrecoverable as well.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::persons::{PersonErasure, erase};
use crate::{Backend, Store, StoreError};
use sqlx::{AnyConnection, Row};
use std::time::Duration;

/// One day in milliseconds.
const DAY_MS: i64 = 86_400_000;
/// Closed accounts read per page by [`Store::erasure_due`].
const ERASURE_PAGE_ROWS: i64 = 100;
/// How many times the SQLite write-ahead log checkpoint is tried while readers keep it busy.
const CHECKPOINT_ATTEMPTS_MAX: u32 = 50;
/// Pause between two checkpoint attempts.
const CHECKPOINT_RETRY_MS: u64 = 20;
/// The actor and request id of the erasure job in the audit log.
const ERASURE_ACTOR: Actor<'static> = Actor {
    actor: "system",
    request_id: "erasure-due",
};

// The longest retention (u32::MAX days) still fits in unix milliseconds.
const _: () = assert!((u32::MAX as i64).checked_mul(DAY_MS).is_some());

/// What closing an account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed {
    /// Sessions deleted.
    pub sessions_ended: u64,
    /// Credential (device or certificate) keys revoked.
    pub keys_revoked: u64,
    /// When the person may be erased (unix ms): closure time plus the retention period.
    pub erase_after_ms: i64,
}

/// Why a closure was refused (for the audit log and the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unknown,
    Staff,
    AlreadyClosed,
}

impl Refusal {
    fn name(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown-account",
            Refusal::Staff => "staff-account",
            Refusal::AlreadyClosed => "already-closed",
        }
    }

    fn error(self) -> StoreError {
        match self {
            Refusal::Unknown => StoreError::NotFound("account"),
            Refusal::Staff => StoreError::Refused(
                "only customer accounts are closed this way; staff accounts are disabled through staff administration",
            ),
            Refusal::AlreadyClosed => StoreError::Conflict("the account is already closed"),
        }
    }
}

fn count(value: u64) -> AuditValue {
    AuditValue::Number(i64::try_from(value).unwrap_or(i64::MAX))
}

/// Why an account that is not closed now could not be, read inside the closing transaction.
async fn refusal(connection: &mut AnyConnection, account_id: &str) -> Result<Refusal, StoreError> {
    let row = sqlx::query("SELECT population, status FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(connection)
        .await?;
    let Some(row) = row else {
        return Ok(Refusal::Unknown);
    };
    let (population, status): (String, String) = (row.try_get(0)?, row.try_get(1)?);
    Ok(if population != "customer" {
        Refusal::Staff
    } else {
        debug_assert_eq!(status, "closed");
        Refusal::AlreadyClosed
    })
}

/// Drops the account's pending one-time codes: those bound to the account or one of its
/// sessions, and those sent to its person's mobile number. Run before the sessions go.
async fn drop_pending_codes(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "DELETE FROM one_time_codes WHERE consumed_at_ms IS NULL AND (
            binding = $1
            OR binding IN (SELECT token_digest FROM sessions WHERE account_id = $1)
            OR mobile_index IN (SELECT p.mobile_index FROM persons p JOIN accounts a ON a.person_id = p.id
                                WHERE a.id = $1 AND p.erased_at_ms IS NULL))",
    )
    .bind(account_id)
    .execute(connection)
    .await?
    .rows_affected())
}

/// Deletes the one-time codes and SMS send records kept under a mobile index, unless another
/// live person has the same number (their send limits still count those sends).
async fn drop_mobile_traces(
    connection: &mut AnyConnection,
    person_id: &str,
    mobile_index: &str,
) -> Result<(), StoreError> {
    let shared: i64 = sqlx::query(
        "SELECT COUNT(*) FROM persons WHERE mobile_index = $1 AND id <> $2 AND erased_at_ms IS NULL",
    )
    .bind(mobile_index)
    .bind(person_id)
    .fetch_one(&mut *connection)
    .await?
    .try_get(0)?;
    if shared > 0 {
        return Ok(());
    }
    for sql in [
        "DELETE FROM one_time_codes WHERE mobile_index = $1",
        "DELETE FROM sms_sends WHERE mobile_index = $1",
    ] {
        sqlx::query(sql)
            .bind(mobile_index)
            .execute(&mut *connection)
            .await?;
    }
    Ok(())
}

/// Erases the account's person, unless another account that is not erased yet still refers to
/// it. Returns what happened, for the audit log.
async fn erase_person(
    connection: &mut AnyConnection,
    account_id: &str,
    person_id: &str,
    now_ms: i64,
) -> Result<&'static str, StoreError> {
    let others: i64 = sqlx::query(
        "SELECT COUNT(*) FROM accounts a LEFT JOIN account_closures c ON c.account_id = a.id
         WHERE a.person_id = $1 AND a.id <> $2 AND c.erased_at_ms IS NULL",
    )
    .bind(person_id)
    .bind(account_id)
    .fetch_one(&mut *connection)
    .await?
    .try_get(0)?;
    if others > 0 {
        return Ok("kept-for-another-account");
    }
    let mobile_index: Option<String> =
        sqlx::query("SELECT mobile_index FROM persons WHERE id = $1")
            .bind(person_id)
            .fetch_optional(&mut *connection)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
    if let Some(index) = mobile_index.filter(|index| !index.is_empty()) {
        drop_mobile_traces(connection, person_id, &index).await?;
    }
    Ok(match erase(connection, person_id, now_ms).await? {
        PersonErasure::Erased => "erased",
        PersonErasure::AlreadyErased => "already-erased",
    })
}

/// Records one step of an erasure, by the erasure job.
async fn audit_erasure(
    connection: &mut AnyConnection,
    action: &str,
    object: &str,
    person: &'static str,
    now_ms: i64,
) -> Result<(), StoreError> {
    append(
        connection,
        &AuditEvent {
            actor: ERASURE_ACTOR.actor,
            action,
            object,
            outcome: Outcome::Success,
            request_id: ERASURE_ACTOR.request_id,
            details: &[("person", AuditValue::Word(person))],
        },
        now_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// Closes a customer account: status `closed`, every session deleted, every credential key
    /// revoked, pending one-time codes for the account dropped, erasure scheduled at
    /// `now_ms` plus `retention_days`. Refuses unknown accounts ([`StoreError::NotFound`]),
    /// staff accounts ([`StoreError::Refused`]) and accounts already closed
    /// ([`StoreError::Conflict`]). Audited, refusals included.
    pub async fn account_close(
        &self,
        account_id: &str,
        retention_days: u32,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<Closed, StoreError> {
        let erase_after_ms = now_ms.saturating_add(i64::from(retention_days) * DAY_MS);
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        // The first statement writes, so the row is held (PostgreSQL) or the write lock taken
        // (SQLite) before anything is read: two closings of one account cannot both pass.
        let closed = sqlx::query(
            "UPDATE accounts SET status = 'closed'
             WHERE id = $1 AND population = 'customer' AND status <> 'closed'",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if closed == 0 {
            let refusal = refusal(&mut tx, account_id).await?;
            // An id that names no account is not repeated in the log: it is caller input.
            let object = if refusal == Refusal::Unknown {
                "account:unknown"
            } else {
                object.as_str()
            };
            append(
                &mut tx,
                &AuditEvent {
                    actor: who.actor,
                    action: "account.close",
                    object,
                    outcome: Outcome::Denied,
                    request_id: who.request_id,
                    details: &[("reason", AuditValue::Word(refusal.name()))],
                },
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Err(refusal.error());
        }
        sqlx::query(
            "INSERT INTO account_closures (account_id, closed_at_ms, erase_after_ms) VALUES ($1, $2, $3)",
        )
        .bind(account_id)
        .bind(now_ms)
        .bind(erase_after_ms)
        .execute(&mut *tx)
        .await?;
        let codes_dropped = drop_pending_codes(&mut tx, account_id).await?;
        let (sessions_ended, keys_revoked) =
            crate::sessions::end_account_access(&mut tx, account_id, now_ms).await?;
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "account.close",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    (
                        "retention_days",
                        AuditValue::Number(i64::from(retention_days)),
                    ),
                    ("erase_after_ms", AuditValue::Number(erase_after_ms)),
                    ("sessions_ended", count(sessions_ended)),
                    ("keys_revoked", count(keys_revoked)),
                    ("codes_dropped", count(codes_dropped)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Closed {
            sessions_ended,
            keys_revoked,
            erase_after_ms,
        })
    }

    /// Erases every closed account whose retention has passed: deletes the person key
    /// (crypto-erasure: the sealed fields remain but can never be opened), clears the blind
    /// indexes and record MAC, replaces the account's login-name index and display with an
    /// `erased:<account id>` marker, deletes its password hashes, and marks the person erased.
    /// Each account is erased in its own audited transaction. On SQLite the write-ahead log is
    /// then checkpointed and truncated, so the deleted keys survive neither in free pages
    /// (`secure_delete`) nor in the log. Returns how many accounts were erased.
    pub async fn erasure_due(&self, now_ms: i64) -> Result<u64, StoreError> {
        let mut erased = 0;
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT c.account_id FROM account_closures c JOIN accounts a ON a.id = c.account_id
                 WHERE c.erased_at_ms IS NULL AND c.erase_after_ms <= $1 AND a.status = 'closed'
                   AND c.account_id > $2
                 ORDER BY c.account_id LIMIT $3",
            )
            .bind(now_ms)
            .bind(&after)
            .bind(ERASURE_PAGE_ROWS)
            .fetch_all(&self.pool)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let account_id: String = row.try_get(0)?;
                if self.account_erase(&account_id, now_ms).await? {
                    erased += 1;
                }
                after = account_id;
            }
        }
        if self.backend == Backend::Sqlite {
            // Run every time, not only when this run erased something, so that a run whose
            // checkpoint was kept busy is completed by the next one.
            self.wal_truncate().await?;
        }
        Ok(erased)
    }

    /// Erases one account in its own transaction. Returns false if it was no longer due (another
    /// node erased it, or it was reopened).
    async fn account_erase(&self, account_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let claimed = sqlx::query(
            "UPDATE account_closures SET erased_at_ms = $2
             WHERE account_id = $1 AND erased_at_ms IS NULL AND erase_after_ms <= $2
               AND EXISTS (SELECT 1 FROM accounts WHERE id = $1 AND status = 'closed')",
        )
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if claimed == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        let person_id: Option<String> = sqlx::query("SELECT person_id FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let marker = format!("erased:{account_id}");
        sqlx::query(
            "UPDATE accounts SET login_name_index = $2, login_name_display = $2 WHERE id = $1",
        )
        .bind(account_id)
        .bind(&marker)
        .execute(&mut *tx)
        .await?;
        for sql in [
            "DELETE FROM account_secrets WHERE account_id = $1",
            "DELETE FROM account_secret_history WHERE account_id = $1",
        ] {
            sqlx::query(sql).bind(account_id).execute(&mut *tx).await?;
        }
        let person = match &person_id {
            Some(person_id) => erase_person(&mut tx, account_id, person_id, now_ms).await?,
            None => "none",
        };
        let object = format!("account:{account_id}");
        audit_erasure(&mut tx, "account.erase", &object, person, now_ms).await?;
        if let Some(person_id) = person_id.filter(|_| person == "erased") {
            let object = format!("person:{person_id}");
            audit_erasure(&mut tx, "person.erase", &object, "key-destroyed", now_ms).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Folds the SQLite write-ahead log into the database file and truncates it to zero bytes,
    /// retrying while readers keep the checkpoint busy.
    async fn wal_truncate(&self) -> Result<(), StoreError> {
        for _ in 0..CHECKPOINT_ATTEMPTS_MAX {
            let busy: i64 = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?;
            if busy == 0 {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(CHECKPOINT_RETRY_MS)).await;
        }
        Err(StoreError::Integrity(
            "the write-ahead log could not be truncated after erasure (readers kept it busy); \
             erased keys may remain in it until the erasure job runs again"
                .into(),
        ))
    }
}
