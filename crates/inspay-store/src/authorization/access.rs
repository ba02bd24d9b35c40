//! The data scope check (clause 5.6.1-d): whether an account may use a permission on a
//! customer's data, a claim or the system.

use super::account_facts::{account_facts, grants_in};
use crate::{Store, StoreError};
use inspay_identity::authorization::{DataScope, Permission, Population, Subject};
use sqlx::AnyConnection;

/// What a permission is to be used on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    /// A customer's data (profile, policies, statements, refunds): the customer's account id.
    Customer(&'a str),
    /// A claim, with the account id of its claimant (read from the claim by the caller).
    Claim {
        /// The claim.
        claim_id: &'a str,
        /// The claimant's account id.
        claimant: &'a str,
    },
    /// The system as a whole (keys, users, the audit log, the ledger).
    System,
}

impl Store {
    /// Data scope check (clause 5.6.1-d): may `account_id` use `permission` on `target`? The
    /// permission must be held (by an active account whose roles do not conflict), it must act
    /// on the target's kind of subject, and the target must be in one of its scopes: the
    /// account's own data, a customer assigned to it (or a claim of one), a claim assigned to
    /// it, or anything (scope "all"; a customer target must then be a customer account).
    pub async fn may_access(
        &self,
        account_id: &str,
        permission: Permission,
        target: &Target<'_>,
    ) -> Result<bool, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let grants = grants_in(&mut connection, account_id).await?;
        for scope in grants.scopes_for(permission) {
            let reached = match (permission.subject(), *target) {
                (Subject::System, Target::System) => true,
                (Subject::CustomerData, Target::Customer(customer)) => {
                    customer_in_scope(&mut connection, account_id, scope, customer).await?
                }
                (Subject::Claim, Target::Claim { claim_id, claimant }) => {
                    claim_in_scope(&mut connection, account_id, scope, claim_id, claimant).await?
                }
                _ => false,
            };
            if reached {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

async fn customer_in_scope(
    connection: &mut AnyConnection,
    account_id: &str,
    scope: DataScope,
    customer: &str,
) -> Result<bool, StoreError> {
    Ok(match scope {
        DataScope::Own => customer == account_id,
        DataScope::AssignedCustomers => agent_serves(connection, account_id, customer).await?,
        DataScope::AssignedClaims => false,
        DataScope::All => account_facts(connection, customer)
            .await?
            .is_some_and(|facts| facts.population == Population::Customer),
    })
}

async fn claim_in_scope(
    connection: &mut AnyConnection,
    account_id: &str,
    scope: DataScope,
    claim_id: &str,
    claimant: &str,
) -> Result<bool, StoreError> {
    Ok(match scope {
        DataScope::Own => claimant == account_id,
        DataScope::AssignedCustomers => agent_serves(connection, account_id, claimant).await?,
        DataScope::AssignedClaims => sqlx::query(
            "SELECT 1 FROM claim_assignments WHERE claim_id = $1 AND adjuster_account_id = $2",
        )
        .bind(claim_id)
        .bind(account_id)
        .fetch_optional(connection)
        .await?
        .is_some(),
        DataScope::All => true,
    })
}

async fn agent_serves(
    connection: &mut AnyConnection,
    agent: &str,
    customer: &str,
) -> Result<bool, StoreError> {
    Ok(sqlx::query(
        "SELECT 1 FROM agent_customers WHERE customer_account_id = $1 AND agent_account_id = $2",
    )
    .bind(customer)
    .bind(agent)
    .fetch_optional(connection)
    .await?
    .is_some())
}
