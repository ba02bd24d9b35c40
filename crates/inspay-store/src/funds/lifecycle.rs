//! Policies that end by themselves (issue 5 item 1): a renewal premium unpaid past its grace
//! period lapses the policy, a policy whose term has ended expires, and an application whose
//! first premium stays unpaid past the grace period after its start is withdrawn. The hourly job runs
//! [`Store::policies_age`]; each policy moves in its own transaction, with its audit entry, and
//! the premiums it no longer owes are voided.

use super::FundsError;
use super::policies::{POLICY_COLUMNS, policy_for_update, policy_from_row, set_policy_status};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::{Store, StoreError};
use inspay_core::calendar::date_text;
use inspay_core::policy::{PolicyEvent, PolicyStatus, grace_expired};
use inspay_kms::Keyring;
use sqlx::Row;
use time::Date;

/// Policies looked at per run at most; the next run takes the rest.
pub const AGEING_POLICIES_PER_RUN_MAX: i64 = 1_000;

/// What one run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Aged {
    /// Policies lapsed for an unpaid renewal.
    pub lapsed: u64,
    /// Policies expired at the end of their term.
    pub expired: u64,
    /// Applications withdrawn because their first premium stayed unpaid past the grace period.
    pub withdrawn: u64,
}

impl Store {
    /// Lapses the active policies with a premium unpaid past its grace period on `today`, and
    /// expires those whose term ended before `today` (China dates).
    pub async fn policies_age(
        &self,
        keyring: &Keyring,
        today: Date,
        at_ms: i64,
    ) -> Result<Aged, FundsError> {
        let today_text = date_text(today);
        // Candidates: active policies past their end, or with a premium due before today. The
        // grace rule, which needs each policy's grace period, is applied below.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {POLICY_COLUMNS} FROM policies p
             WHERE (p.status = 'active' AND (p.end_on <= $1
                    OR EXISTS (SELECT 1 FROM premium_instalments i
                               WHERE i.policy_id = p.id AND i.status = 'due' AND i.due_on < $1)))
                OR (p.status = 'applied' AND p.start_on < $1)
             ORDER BY p.id LIMIT $2"
        )))
        .bind(&today_text)
        .bind(AGEING_POLICIES_PER_RUN_MAX)
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from)?;
        let mut aged = Aged::default();
        for row in &rows {
            let policy = policy_from_row(keyring, row)?;
            let oldest_due = sqlx::query(
                "SELECT MIN(due_on) FROM premium_instalments WHERE policy_id = $1 AND status = 'due'",
            )
            .bind(policy.id.as_str())
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::from)?;
            let oldest_due: Option<String> = oldest_due.try_get(0).map_err(StoreError::from)?;
            let lapses = oldest_due
                .as_deref()
                .and_then(inspay_core::calendar::parse_date)
                .is_some_and(|due| grace_expired(due, policy.terms.grace_days(), today));
            let event = if policy.status == PolicyStatus::Applied {
                // An application whose first premium stays unpaid past the grace period after
                // its start is withdrawn: it never gave cover.
                if !grace_expired(policy.start_on, policy.terms.grace_days(), today) {
                    continue;
                }
                PolicyEvent::Cancelled
            } else if lapses {
                PolicyEvent::GracePeriodEnded
            } else if policy.end_on <= today {
                PolicyEvent::TermEnded
            } else {
                continue;
            };
            if self.age_one(keyring, &policy.id, event, at_ms).await? {
                match event {
                    PolicyEvent::GracePeriodEnded => aged.lapsed += 1,
                    PolicyEvent::Cancelled => aged.withdrawn += 1,
                    _ => aged.expired += 1,
                }
            }
        }
        Ok(aged)
    }

    /// Moves one policy; false if it changed meanwhile (paid, cancelled) and no longer moves.
    async fn age_one(
        &self,
        keyring: &Keyring,
        policy_id: &inspay_core::ids::PolicyId,
        event: PolicyEvent,
        at_ms: i64,
    ) -> Result<bool, FundsError> {
        let mut tx = self.begin_write().await?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, policy_id).await?;
        let Ok(next) = policy.status.on(event) else {
            return Ok(false);
        };
        // A payment still pending decides first: its premium may yet be paid.
        let pending = sqlx::query(
            "SELECT COUNT(*) FROM payments WHERE policy_id = $1 AND status = 'pending'",
        )
        .bind(policy_id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if pending.try_get::<i64, _>(0).map_err(StoreError::from)? > 0 {
            return Ok(false);
        }
        set_policy_status(&mut tx, keyring, &policy, next, at_ms).await?;
        sqlx::query(
            "UPDATE premium_instalments SET status = 'void' WHERE policy_id = $1 AND status = 'due'",
        )
        .bind(policy_id.as_str())
        .execute(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        let object = format!("policy:{policy_id}");
        let action = match next {
            PolicyStatus::Lapsed => "policy.lapse",
            PolicyStatus::Cancelled => "policy.withdraw",
            _ => "policy.expire",
        };
        audit::append(
            &mut tx,
            &AuditEvent {
                actor: "system",
                action,
                object: &object,
                outcome: Outcome::Success,
                request_id: "scheduler",
                details: &[("status", AuditValue::Word(next.as_str()))],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(true)
    }
}
