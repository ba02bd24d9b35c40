//! What the store knows about an account when it applies the rules: its population and
//! status, the roles it holds, and the grants those give it now.

use crate::StoreError;
use inspay_identity::authorization::{Grants, Population, Role};
use sqlx::{AnyConnection, Row};

/// An account's population and status.
pub(super) struct AccountFacts {
    pub(super) population: Population,
    pub(super) active: bool,
    pub(super) closed: bool,
}

pub(super) async fn account_facts(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Option<AccountFacts>, StoreError> {
    let row = sqlx::query("SELECT population, status FROM accounts WHERE id = $1")
        .bind(account_id)
        .fetch_optional(connection)
        .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let population: String = row.try_get(0)?;
    let status: String = row.try_get(1)?;
    Ok(Some(AccountFacts {
        population: Population::parse(&population)
            .ok_or(StoreError::Malformed("account population"))?,
        active: status == "active",
        closed: status == "closed",
    }))
}

/// Takes the account's row lock (PostgreSQL; SQLite already holds the write lock) so that two
/// grants to one account are checked one after the other, then reads its facts.
pub(super) async fn lock_account(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<AccountFacts, StoreError> {
    sqlx::query("UPDATE accounts SET status = status WHERE id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    account_facts(connection, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))
}

pub(super) async fn roles_of(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Vec<Role>, StoreError> {
    let rows = sqlx::query("SELECT role FROM account_roles WHERE account_id = $1")
        .bind(account_id)
        .fetch_all(connection)
        .await?;
    rows.iter()
        .map(|row| {
            let name: String = row.try_get(0)?;
            Role::parse(&name).ok_or(StoreError::Malformed("role"))
        })
        .collect()
}

/// The grants of an account as they apply now: none unless the account is active.
pub(super) async fn grants_in(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Grants, StoreError> {
    let facts = account_facts(&mut *connection, account_id)
        .await?
        .ok_or(StoreError::NotFound("account"))?;
    if !facts.active {
        return Ok(Grants::none());
    }
    Ok(Grants::new(roles_of(connection, account_id).await?))
}
