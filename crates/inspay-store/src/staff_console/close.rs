//! Closing a staff account that should not exist (created by mistake, or for someone who has
//! left): clauses 5.3.2.1 and 5.3.2.2.
//!
//! Closing ends everything that lets the account act, and deletes nothing an auditor needs:
//! its status becomes `closed` (password sign-in is refused, grants are refused and the roles
//! it holds give no permission), every session is deleted and every sign-in under way ended,
//! its step-ups go, and its registered SM2 keys and certificates are revoked. The account row,
//! its role grants, its assignments and its audit trail stay, so who held what and did what
//! can still be read. A staff account is never erased: it holds no personal record.
//!
//! Separation of duties: the last active holder of a role that administers the others
//! ([`ROLES_KEPT_STAFFED`]) cannot be closed, or nobody would be left to manage keys,
//! incidents, staff and roles. Grant the role to another staff account first.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::containment::Reason;
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_identity::authorization::Role;
use sqlx::{AnyConnection, Row};

/// Roles that must keep an active holder: the security officer (key custodian, incident
/// response, permission review) and the administrator (staff accounts, roles, client
/// applications). Closing the last active holder of either is refused.
pub const ROLES_KEPT_STAFFED: &[Role] = &[Role::SecurityOfficer, Role::Administrator];

/// What closing a staff account did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaffClosed {
    /// Sessions deleted.
    pub sessions_ended: u64,
    /// SM2 keys and certificates revoked.
    pub keys_revoked: u64,
}

/// Why a closure was refused: the word for the audit log and the error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Unknown,
    AlreadyClosed,
    LastHolder(Role),
}

impl Refusal {
    fn name(self) -> &'static str {
        match self {
            Refusal::Unknown => "unknown-account",
            Refusal::AlreadyClosed => "already-closed",
            Refusal::LastHolder(_) => "last-active-holder",
        }
    }

    fn error(self) -> StoreError {
        match self {
            Refusal::Unknown => StoreError::NotFound("staff account"),
            Refusal::AlreadyClosed => StoreError::Conflict("the staff account is already closed"),
            Refusal::LastHolder(Role::SecurityOfficer) => StoreError::Conflict(
                "separation of duties: this is the last active security officer; grant security-officer to another staff account first",
            ),
            Refusal::LastHolder(_) => StoreError::Conflict(
                "separation of duties: this is the last active administrator; grant administrator to another staff account first",
            ),
        }
    }
}

fn count(value: u64) -> AuditValue {
    AuditValue::Number(i64::try_from(value).unwrap_or(i64::MAX))
}

/// Takes the row locks of the account and of every holder of a [`ROLES_KEPT_STAFFED`] role
/// (PostgreSQL; SQLite already holds the write lock), so that two closings that would each
/// leave one holder run one after the other and the second sees the first.
async fn lock_holders(connection: &mut AnyConnection, account_id: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE accounts SET status = status
         WHERE id = $1 OR id IN (SELECT account_id FROM account_roles WHERE role IN ($2, $3))",
    )
    .bind(account_id)
    .bind(ROLES_KEPT_STAFFED[0].name())
    .bind(ROLES_KEPT_STAFFED[1].name())
    .execute(connection)
    .await?;
    Ok(())
}

/// The refusal for this account, if closing it is refused: unknown (or not staff), already
/// closed, or the last active holder of a role that must stay staffed.
async fn refusal(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<Refusal>, StoreError> {
    let status: Option<String> =
        sqlx::query("SELECT status FROM accounts WHERE id = $1 AND population = 'staff'")
            .bind(account_id)
            .fetch_optional(&mut *connection)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
    match status.as_deref() {
        None => return Ok(Some(Refusal::Unknown)),
        Some("closed") => return Ok(Some(Refusal::AlreadyClosed)),
        // A frozen account is not an active holder: closing it leaves the others as they are.
        Some("frozen") => return Ok(None),
        Some(_) => {}
    }
    for role in ROLES_KEPT_STAFFED {
        let holders: Vec<String> = sqlx::query(
            "SELECT a.id FROM accounts a JOIN account_roles r ON r.account_id = a.id
             WHERE r.role = $1 AND a.status = 'active' AND a.population = 'staff'",
        )
        .bind(role.name())
        .fetch_all(&mut *connection)
        .await?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()?;
        if holders.len() == 1 && holders[0] == account_id {
            return Ok(Some(Refusal::LastHolder(*role)));
        }
    }
    Ok(None)
}

/// Ends what lets the account act; returns (sessions ended, keys revoked).
async fn disable(
    connection: &mut AnyConnection,
    account_id: &str,
    now_ms: i64,
) -> Result<(u64, u64), StoreError> {
    sqlx::query("UPDATE accounts SET status = 'closed' WHERE id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    let (sessions_ended, keys_revoked) =
        crate::sessions::end_account_access(&mut *connection, account_id, now_ms).await?;
    // A frozen account that is closed is no longer a switch in force.
    sqlx::query("DELETE FROM containment_switches WHERE kind = 'account-frozen' AND subject = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    Ok((sessions_ended, keys_revoked))
}

impl Store {
    /// Closes a staff account (see the module documentation): status `closed`, sessions and
    /// sign-ins under way ended, step-ups dropped, SM2 keys and certificates revoked; the row,
    /// its grants and its history stay. Refuses an unknown id or a customer account
    /// ([`StoreError::NotFound`]), an account already closed, and the last active holder of
    /// a [`ROLES_KEPT_STAFFED`] role ([`StoreError::Conflict`]). Audited as `account.close`,
    /// refusals included, with the reason.
    pub async fn staff_account_close(
        &self,
        account_id: &str,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<StaffClosed, StoreError> {
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        lock_holders(&mut tx, account_id).await?;
        let reason_text = AuditValue::Text(reason.as_str().to_string());
        if let Some(refusal) = refusal(&mut tx, account_id).await? {
            // An id that names no staff account is not repeated in the log: it is caller input.
            let object = if refusal == Refusal::Unknown {
                "account:unknown"
            } else {
                object.as_str()
            };
            let mut details = vec![
                ("population", AuditValue::Word("staff")),
                ("refused", AuditValue::Word(refusal.name())),
                ("reason", reason_text),
            ];
            if let Refusal::LastHolder(role) = refusal {
                details.push(("role", AuditValue::Word(role.name())));
            }
            append(
                &mut tx,
                &AuditEvent {
                    actor: who.actor,
                    action: "account.close",
                    object,
                    outcome: Outcome::Denied,
                    request_id: who.request_id,
                    details: &details,
                },
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Err(refusal.error());
        }
        let (sessions_ended, keys_revoked) = disable(&mut tx, account_id, now_ms).await?;
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "account.close",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    ("population", AuditValue::Word("staff")),
                    ("reason", reason_text),
                    ("sessions_ended", count(sessions_ended)),
                    ("keys_revoked", count(keys_revoked)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(StaffClosed {
            sessions_ended,
            keys_revoked,
        })
    }
}
