//! Assignments that give a data scope (clause 5.6.1-d): customers to agents and claims to
//! adjusters, each with at most one assignee at a time.

use super::account_facts::{grants_in, lock_account};
use super::audit_events::{Refusal, refused, role_event};
use crate::audit::{AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_identity::authorization::{Population, Role};
use sqlx::{AnyConnection, Row};

/// Longest claim id accepted for an assignment.
pub const CLAIM_ID_CHARS_MAX: usize = 64;

/// The two kinds of assignment that give a data scope: customers to agents, claims to
/// adjusters. Each customer or claim has at most one assignee at a time.
#[derive(Debug, Clone, Copy)]
enum Assignment {
    CustomerToAgent,
    ClaimToAdjuster,
}

impl Assignment {
    fn role(self) -> Role {
        match self {
            Assignment::CustomerToAgent => Role::Agent,
            Assignment::ClaimToAdjuster => Role::ClaimsAdjuster,
        }
    }

    fn object(self, key: &str) -> String {
        match self {
            Assignment::CustomerToAgent => format!("account:{key}"),
            Assignment::ClaimToAdjuster => format!("claim:{key}"),
        }
    }

    fn action(self, assign: bool) -> &'static str {
        match (self, assign) {
            (Assignment::CustomerToAgent, true) => "assign.customer",
            (Assignment::CustomerToAgent, false) => "unassign.customer",
            (Assignment::ClaimToAdjuster, true) => "assign.claim",
            (Assignment::ClaimToAdjuster, false) => "unassign.claim",
        }
    }

    fn previous(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "SELECT agent_account_id FROM agent_customers WHERE customer_account_id = $1"
            }
            Assignment::ClaimToAdjuster => {
                "SELECT adjuster_account_id FROM claim_assignments WHERE claim_id = $1"
            }
        }
    }

    fn upsert(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "INSERT INTO agent_customers (customer_account_id, agent_account_id, assigned_by, assigned_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (customer_account_id) DO UPDATE SET agent_account_id = excluded.agent_account_id,
                    assigned_by = excluded.assigned_by, assigned_at_ms = excluded.assigned_at_ms"
            }
            Assignment::ClaimToAdjuster => {
                "INSERT INTO claim_assignments (claim_id, adjuster_account_id, assigned_by, assigned_at_ms)
                 VALUES ($1, $2, $3, $4)
                 ON CONFLICT (claim_id) DO UPDATE SET adjuster_account_id = excluded.adjuster_account_id,
                    assigned_by = excluded.assigned_by, assigned_at_ms = excluded.assigned_at_ms"
            }
        }
    }

    fn delete(self) -> &'static str {
        match self {
            Assignment::CustomerToAgent => {
                "DELETE FROM agent_customers WHERE customer_account_id = $1"
            }
            Assignment::ClaimToAdjuster => "DELETE FROM claim_assignments WHERE claim_id = $1",
        }
    }

    fn not_assignable(self) -> Refusal {
        match self {
            Assignment::CustomerToAgent => (
                "not-an-agent",
                StoreError::Refused("the account to assign to is not an active agent"),
            ),
            Assignment::ClaimToAdjuster => (
                "not-an-adjuster",
                StoreError::Refused("the account to assign to is not an active claims adjuster"),
            ),
        }
    }
}

fn valid_claim_id(claim_id: &str) -> bool {
    (1..=CLAIM_ID_CHARS_MAX).contains(&claim_id.len())
        && claim_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
}

impl Store {
    /// Makes `agent_account` the agent serving `customer_account` (a customer has at most one
    /// agent; assigning another moves the customer). Refused unless the agent account is
    /// active and holds the agent role and the customer account is an open customer account.
    /// Audited, refusals too.
    pub async fn agent_assign_customer(
        &self,
        agent_account: &str,
        customer_account: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let assignment = Assignment::CustomerToAgent;
        self.assign(assignment, agent_account, customer_account, who, now_ms)
            .await
    }

    /// Removes a customer's agent; returns whether it had one. Audited.
    pub async fn agent_unassign_customer(
        &self,
        customer_account: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let assignment = Assignment::CustomerToAgent;
        self.unassign(assignment, customer_account, who, now_ms)
            .await
    }

    /// Assigns a claim to an adjuster (a claim has at most one; assigning another moves it).
    /// Refused unless the adjuster account is active and holds the claims adjuster role; a
    /// claim id is 1 to 64 letters, digits, `-`, `_`, `.` or `:`. Audited, refusals too.
    pub async fn claim_assign(
        &self,
        adjuster_account: &str,
        claim_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        if !valid_claim_id(claim_id) {
            return Err(StoreError::Refused(
                "a claim id is 1 to 64 letters, digits, '-', '_', '.' or ':'",
            ));
        }
        let assignment = Assignment::ClaimToAdjuster;
        self.assign(assignment, adjuster_account, claim_id, who, now_ms)
            .await
    }

    /// Removes a claim's adjuster; returns whether it had one. Audited.
    pub async fn claim_unassign(
        &self,
        claim_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        self.unassign(Assignment::ClaimToAdjuster, claim_id, who, now_ms)
            .await
    }

    async fn assign(
        &self,
        assignment: Assignment,
        assignee: &str,
        key: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = assignment.object(key);
        let action = assignment.action(true);
        let mut tx = self.begin_write().await?;
        // The assignee's row lock orders this against a concurrent revocation of its role.
        lock_account(&mut tx, assignee).await?;
        let grants = grants_in(&mut tx, assignee).await?;
        let customer = match assignment {
            Assignment::CustomerToAgent => Some(lock_account(&mut tx, key).await?),
            Assignment::ClaimToAdjuster => None,
        };
        let mut details = vec![("assignee", AuditValue::Id(format!("account:{assignee}")))];
        let refusal =
            if !grants.roles().contains(&assignment.role()) || !grants.conflicts().is_empty() {
                Some(assignment.not_assignable())
            } else if customer.is_some_and(|c| c.population != Population::Customer || c.closed) {
                Some((
                    "not-a-customer",
                    StoreError::Refused("only open customer accounts are assigned to agents"),
                ))
            } else {
                None
            };
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            let event = role_event(who, action, &object, Outcome::Denied, &details);
            return Err(refused(tx, &event, now_ms, error).await);
        }
        let previous: Option<String> = sqlx::query(assignment.previous())
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        sqlx::query(assignment.upsert())
            .bind(key)
            .bind(assignee)
            .bind(who.actor)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        if let Some(previous) = previous {
            details.push(("previous", AuditValue::Id(format!("account:{previous}"))));
        }
        let event = role_event(who, action, &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn unassign(
        &self,
        assignment: Assignment,
        key: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(assignment.delete())
            .bind(key)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        let object = assignment.object(key);
        let event = role_event(
            who,
            assignment.action(false),
            &object,
            Outcome::Success,
            &[],
        );
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }
}

pub(super) async fn assignment_counts(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<(i64, i64), StoreError> {
    let row = sqlx::query(
        "SELECT (SELECT COUNT(*) FROM agent_customers WHERE agent_account_id = $1),
                (SELECT COUNT(*) FROM claim_assignments WHERE adjuster_account_id = $1)",
    )
    .bind(account_id)
    .fetch_one(connection)
    .await?;
    Ok((row.try_get(0)?, row.try_get(1)?))
}
