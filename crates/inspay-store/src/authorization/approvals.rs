//! Maker-checker approvals (clause 5.3.2.2): a maker files a pending action with the SM3 digest
//! of its payload; another account holding the approve permission decides it, once.

use super::account_facts::grants_in;
use super::audit_events::{Refusal, refused};
use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::{Store, StoreError};
use inspay_identity::authorization::{
    ApprovalKind, PayloadDigest, SeparationError, check_maker_checker,
};
use sqlx::{AnyConnection, Row};

/// Longest object name of an approval.
pub const APPROVAL_OBJECT_CHARS_MAX: usize = 128;

/// Where an approval stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApprovalState {
    /// Waiting for a checker.
    Pending,
    /// Approved by a checker; the fund flow may act on exactly the approved payload.
    Approved,
    /// Rejected by a checker.
    Rejected,
}

impl ApprovalState {
    /// The stable name.
    pub const fn name(self) -> &'static str {
        match self {
            ApprovalState::Pending => "pending",
            ApprovalState::Approved => "approved",
            ApprovalState::Rejected => "rejected",
        }
    }

    fn parse(name: &str) -> Option<ApprovalState> {
        [
            ApprovalState::Pending,
            ApprovalState::Approved,
            ApprovalState::Rejected,
        ]
        .into_iter()
        .find(|state| state.name() == name)
    }
}

/// One approval as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Approval {
    /// Its id.
    pub id: String,
    /// What kind of action.
    pub kind: ApprovalKind,
    /// The object acted on, such as `claim:<id>`.
    pub object: String,
    /// The digest of the payload the maker filed.
    pub payload_digest: PayloadDigest,
    /// The account that asked.
    pub maker: String,
    /// When it asked.
    pub requested_at_ms: i64,
    /// Where it stands.
    pub state: ApprovalState,
    /// The account that decided, once decided.
    pub checker: Option<String>,
    /// When it was decided.
    pub decided_at_ms: Option<i64>,
}

/// A maker-checker refusal: the checker being the maker is a separation-of-duty conflict;
/// the rest are permissions missing.
fn separation_refusal(error: SeparationError) -> Refusal {
    match error {
        SeparationError::CheckerIsMaker => (
            "checker-is-maker",
            StoreError::Conflict(
                "separation of duties: an action is approved by another account than the one that asked for it",
            ),
        ),
        SeparationError::CheckerNotPermitted => (
            "checker-not-permitted",
            StoreError::Refused("the checker does not hold the permission to approve this action"),
        ),
        SeparationError::MakerNotPermitted => (
            "maker-not-permitted",
            StoreError::Refused("the maker does not hold the permission to start this action"),
        ),
        SeparationError::NotAnApproval => (
            "not-an-approval",
            StoreError::Refused("the permission named is not an approval permission"),
        ),
    }
}

impl Store {
    /// Files an action for approval: the maker must hold the kind's initiate permission.
    /// Returns the approval id. Audited (also when refused).
    pub async fn approval_request(
        &self,
        maker: &str,
        kind: ApprovalKind,
        object: &str,
        payload_digest: &PayloadDigest,
        request_id: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let well_formed = (1..=APPROVAL_OBJECT_CHARS_MAX).contains(&object.chars().count())
            && !object.chars().any(char::is_control);
        if !well_formed {
            return Err(StoreError::Refused(
                "an approval's object is 1 to 128 characters without control characters",
            ));
        }
        let id = uuid::Uuid::now_v7().to_string();
        let actor = format!("account:{maker}");
        let audit_object = format!("approval:{id}");
        let mut tx = self.begin_write().await?;
        let grants = grants_in(&mut tx, maker).await?;
        let mut details = vec![
            ("kind", AuditValue::Word(kind.name())),
            ("object", AuditValue::Text(object.to_string())),
            (
                "payload_digest",
                AuditValue::Fingerprint(payload_digest.as_str().to_string()),
            ),
        ];
        let event = |outcome, details| AuditEvent {
            actor: &actor,
            action: "approval.request",
            object: &audit_object,
            outcome,
            request_id,
            details,
        };
        if !grants.allows(kind.initiate()) {
            let (reason, error) = separation_refusal(SeparationError::MakerNotPermitted);
            details.push(("reason", AuditValue::Word(reason)));
            return Err(refused(tx, &event(Outcome::Denied, &details), now_ms, error).await);
        }
        sqlx::query(
            "INSERT INTO approvals (id, kind, object, payload_digest, maker_account_id, requested_at_ms, state)
             VALUES ($1, $2, $3, $4, $5, $6, 'pending')",
        )
        .bind(&id)
        .bind(kind.name())
        .bind(object)
        .bind(payload_digest.as_str())
        .bind(maker)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append(&mut tx, &event(Outcome::Success, &details), now_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Decides a pending approval. Refused and audited: a checker that is the maker and an
    /// approval already decided are [`StoreError::Conflict`]; a checker without the kind's
    /// approve permission (or frozen, or with conflicting roles) is [`StoreError::Refused`].
    pub async fn approval_decide(
        &self,
        approval_id: &str,
        checker: &str,
        approve: bool,
        request_id: &str,
        now_ms: i64,
    ) -> Result<ApprovalState, StoreError> {
        let mut tx = self.begin_write().await?;
        let approval = approval_in(&mut tx, approval_id)
            .await?
            .ok_or(StoreError::NotFound("approval"))?;
        let grants = grants_in(&mut tx, checker).await?;
        let state = if approve {
            ApprovalState::Approved
        } else {
            ApprovalState::Rejected
        };
        let actor = format!("account:{checker}");
        let object = format!("approval:{approval_id}");
        let action = format!("approval.{}", if approve { "approve" } else { "reject" });
        let mut details = vec![
            ("kind", AuditValue::Word(approval.kind.name())),
            (
                "maker",
                AuditValue::Id(format!("account:{}", approval.maker)),
            ),
        ];
        let already_decided = || {
            let message = "this approval was already decided";
            ("already-decided", StoreError::Conflict(message))
        };
        let refusal = if approval.state != ApprovalState::Pending {
            Some(already_decided())
        } else if let Err(error) =
            check_maker_checker(&approval.maker, checker, &grants, approval.kind.approve())
        {
            Some(separation_refusal(error))
        } else {
            // Conditional on the state, so of two checkers deciding at once only one succeeds.
            let updated = sqlx::query(
                "UPDATE approvals SET state = $2, checker_account_id = $3, decided_at_ms = $4
                 WHERE id = $1 AND state = 'pending'",
            )
            .bind(approval_id)
            .bind(state.name())
            .bind(checker)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            (updated == 0).then(already_decided)
        };
        let event = |outcome, details| AuditEvent {
            actor: &actor,
            action: &action,
            object: &object,
            outcome,
            request_id,
            details,
        };
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            return Err(refused(tx, &event(Outcome::Denied, &details), now_ms, error).await);
        }
        append(&mut tx, &event(Outcome::Success, &details), now_ms).await?;
        tx.commit().await?;
        Ok(state)
    }

    /// An approval, for the fund flow to check its state and payload digest before it acts.
    pub async fn approval(&self, approval_id: &str) -> Result<Approval, StoreError> {
        let mut connection = self.pool.acquire().await?;
        approval_in(&mut connection, approval_id)
            .await?
            .ok_or(StoreError::NotFound("approval"))
    }
}

async fn approval_in(
    connection: &mut AnyConnection,
    approval_id: &str,
) -> Result<Option<Approval>, StoreError> {
    let row = sqlx::query(
        "SELECT id, kind, object, payload_digest, maker_account_id, requested_at_ms, state,
                checker_account_id, decided_at_ms
         FROM approvals WHERE id = $1",
    )
    .bind(approval_id)
    .fetch_optional(connection)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let kind: String = row.try_get(1)?;
    let digest: String = row.try_get(3)?;
    let state: String = row.try_get(6)?;
    Ok(Some(Approval {
        id: row.try_get(0)?,
        kind: ApprovalKind::parse(&kind).ok_or(StoreError::Malformed("approval kind"))?,
        object: row.try_get(2)?,
        payload_digest: PayloadDigest::parse(&digest)
            .map_err(|_| StoreError::Malformed("approval digest"))?,
        maker: row.try_get(4)?,
        requested_at_ms: row.try_get(5)?,
        state: ApprovalState::parse(&state).ok_or(StoreError::Malformed("approval state"))?,
        checker: row.try_get(7)?,
        decided_at_ms: row.try_get(8)?,
    }))
}
