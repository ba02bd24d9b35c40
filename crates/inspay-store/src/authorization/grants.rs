//! Granting and revoking roles (clauses 5.3.2.1 and 5.3.2.2), the grants an account holds
//! now, and finding a staff account by its login name to grant to.

use super::account_facts::{grants_in, lock_account, roles_of};
use super::audit_events::{Refusal, refused, role_event};
use crate::audit::{AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_identity::authorization::{Grants, Role, conflict_reason};
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use sqlx::Row;

impl Store {
    /// Grants `role` to an account. Separation-of-duty refusals are [`StoreError::Conflict`]
    /// with the rule as the message: a role that conflicts with one the account holds, or a
    /// grant by the account to itself (`who.actor` is `account:<account_id>`). A role of the
    /// other population, or any role for a closed account, is [`StoreError::Refused`]. Every
    /// refusal is audited. Granting a role already held changes nothing.
    pub async fn role_grant(
        &self,
        account_id: &str,
        role: Role,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        let facts = lock_account(&mut tx, account_id).await?;
        let held = roles_of(&mut tx, account_id).await?;
        if held.contains(&role) {
            return Ok(());
        }
        let conflict = held
            .iter()
            .find_map(|other| conflict_reason(*other, role).map(|reason| (*other, reason)));
        let refusal: Option<Refusal> = if who.actor == object {
            let message = "separation of duties: nobody grants roles to their own account";
            Some(("self-grant", StoreError::Conflict(message)))
        } else if facts.closed {
            let message = "roles are not granted to a closed account";
            Some(("account-closed", StoreError::Refused(message)))
        } else if role.population() != facts.population {
            let message = "the customer role is only for customer accounts and staff roles only for staff accounts";
            Some(("wrong-population", StoreError::Refused(message)))
        } else {
            conflict.map(|(_, reason)| ("separation-of-duties", StoreError::Conflict(reason)))
        };
        let mut details = vec![("role", AuditValue::Word(role.name()))];
        if let Some((reason, error)) = refusal {
            details.push(("reason", AuditValue::Word(reason)));
            if let Some((other, _)) = conflict {
                details.push(("conflicts_with", AuditValue::Word(other.name())));
            }
            let event = role_event(who, "role.grant", &object, Outcome::Denied, &details);
            return Err(refused(tx, &event, now_ms, error).await);
        }
        sqlx::query(
            "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms) VALUES ($1, $2, $3, $4)",
        )
        .bind(account_id)
        .bind(role.name())
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let event = role_event(who, "role.grant", &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Revokes `role` from an account; returns whether it was held. Revoking the agent or
    /// claims adjuster role also removes the customers or claims assigned to the account.
    pub async fn role_revoke(
        &self,
        account_id: &str,
        role: Role,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let object = format!("account:{account_id}");
        let mut tx = self.begin_write().await?;
        lock_account(&mut tx, account_id).await?;
        let deleted = sqlx::query("DELETE FROM account_roles WHERE account_id = $1 AND role = $2")
            .bind(account_id)
            .bind(role.name())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            return Ok(false);
        }
        let unassign = match role {
            Role::Agent => Some("DELETE FROM agent_customers WHERE agent_account_id = $1"),
            Role::ClaimsAdjuster => {
                Some("DELETE FROM claim_assignments WHERE adjuster_account_id = $1")
            }
            _ => None,
        };
        let mut removed = 0;
        if let Some(statement) = unassign {
            removed = sqlx::query(statement)
                .bind(account_id)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        let details = [
            ("role", AuditValue::Word(role.name())),
            (
                "assignments_removed",
                AuditValue::Number(i64::try_from(removed).unwrap_or(i64::MAX)),
            ),
        ];
        let event = role_event(who, "role.revoke", &object, Outcome::Success, &details);
        append(&mut tx, &event, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The roles of an account as they apply now: none while the account is frozen or closed.
    pub async fn grants(&self, account_id: &str) -> Result<Grants, StoreError> {
        let mut connection = self.pool.acquire().await?;
        grants_in(&mut connection, account_id).await
    }

    /// The id of the staff account with this login name, if there is one.
    pub async fn staff_account_id(
        &self,
        keyring: &Keyring,
        name: &LoginName,
    ) -> Result<Option<String>, StoreError> {
        // The same blind index as `accounts`, under every key version still searchable.
        for index in keyring.blind_indexes_for_lookup("login-name", &name.index_form()) {
            let row = sqlx::query(
                "SELECT id FROM accounts WHERE login_name_index = $1 AND population = 'staff'",
            )
            .bind(&index)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(row.try_get(0)?));
            }
        }
        Ok(None)
    }
}
