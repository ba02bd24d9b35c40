//! The audit events of role and assignment changes, and how a refusal is recorded: in the
//! audit log, committed, before the error goes back to the caller.

use crate::StoreError;
use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;

type Transaction = sqlx::Transaction<'static, sqlx::Any>;

/// A refusal: the word recorded in the audit log and the error given to the caller.
pub(super) type Refusal = (&'static str, StoreError);

/// Records a refusal in the audit log, commits it, and returns the error for the caller.
pub(super) async fn refused(
    mut tx: Transaction,
    event: &AuditEvent<'_>,
    now_ms: i64,
    error: StoreError,
) -> StoreError {
    if let Err(failure) = append(&mut tx, event, now_ms).await {
        return failure;
    }
    match tx.commit().await {
        Ok(()) => error,
        Err(failure) => failure.into(),
    }
}

pub(super) fn role_event<'a>(
    who: Actor<'a>,
    action: &'a str,
    object: &'a str,
    outcome: Outcome,
    details: &'a [(&'static str, AuditValue)],
) -> AuditEvent<'a> {
    AuditEvent {
        actor: who.actor,
        action,
        object,
        outcome,
        request_id: who.request_id,
        details,
    }
}
