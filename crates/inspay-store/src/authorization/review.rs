//! The permission review report (clauses 5.3.2.2 and 5.6.1-d): every staff account with its
//! roles, effective permissions, scopes, last sign-in and findings.

use super::account_facts::roles_of;
use super::assignments::assignment_counts;
use crate::{Store, StoreError};
use inspay_identity::authorization::{
    DataScope, Grants, Permission, Population, Role, conflict_reason, conflicting_roles,
};
use serde::Serializer;
use sqlx::Row;

/// Days without a sign-in after which an account counts as dormant (clause 5.3.3.3-c).
pub const DORMANT_DAYS: i64 = 180;
/// Most accounts one permission review reads.
pub const REVIEW_ACCOUNTS_MAX: i64 = 10_000;
const DAY_MS: i64 = 86_400_000;

/// One staff account in the permission review report (clauses 5.3.2.2 and 5.6.1-d).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewRow {
    /// The account id.
    pub account_id: String,
    /// The staff user name.
    pub login_name: String,
    /// `active`, `frozen` or `closed`.
    pub status: String,
    /// The roles held.
    #[serde(serialize_with = "role_names")]
    pub roles: Vec<Role>,
    /// The permissions the account may use now (none when frozen, closed or conflicting).
    #[serde(serialize_with = "permission_names")]
    pub permissions: Vec<Permission>,
    /// The data scopes of its roles.
    #[serde(serialize_with = "scope_names")]
    pub data_scopes: Vec<DataScope>,
    /// Customers assigned to it (as an agent).
    pub assigned_customers: i64,
    /// Claims assigned to it (as an adjuster).
    pub assigned_claims: i64,
    /// Created (unix ms).
    pub created_at_ms: i64,
    /// Last successful sign-in, if any.
    pub last_sign_in_ms: Option<i64>,
    /// Whole days since the last sign-in (or since creation, if it never signed in).
    pub days_since_sign_in: i64,
    /// Never signed in, or not for [`DORMANT_DAYS`] days or more.
    pub dormant: bool,
    /// Role pairs that break separation of duties.
    #[serde(serialize_with = "conflict_list")]
    pub conflicts: Vec<(Role, Role)>,
    /// Roles that do not belong to the account's population.
    #[serde(serialize_with = "role_names")]
    pub wrong_population: Vec<Role>,
    /// It still has an initial password (clause 5.2.4.2-a).
    pub initial_password: bool,
}

impl ReviewRow {
    /// Whether the row needs action: conflicting or misplaced roles.
    pub fn has_conflicts(&self) -> bool {
        !self.conflicts.is_empty() || !self.wrong_population.is_empty()
    }
}

fn role_names<S: Serializer>(roles: &[Role], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(roles.iter().map(|role| role.name()))
}

fn permission_names<S: Serializer>(
    permissions: &[Permission],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(permissions.iter().map(|permission| permission.name()))
}

fn scope_names<S: Serializer>(scopes: &[DataScope], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(scopes.iter().map(|scope| scope.name()))
}

fn conflict_list<S: Serializer>(pairs: &[(Role, Role)], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(pairs.iter().map(|(first, second)| {
        serde_json::json!({
            "roles": [first.name(), second.name()],
            "reason": conflict_reason(*first, *second),
        })
    }))
}

impl Store {
    /// The permission review report (clauses 5.3.2.2 and 5.6.1-d): every staff account, and
    /// every other account holding a staff role, with its roles, effective permissions, data
    /// scopes, assignments, status, last sign-in, days since, dormant flag (never signed in,
    /// or not for [`DORMANT_DAYS`] days), separation-of-duty conflicts, roles that do not fit
    /// its population, and whether it still has an initial password. Accounts with conflicts
    /// come first, then dormant ones, each group by login name.
    pub async fn permission_review(&self, now_ms: i64) -> Result<Vec<ReviewRow>, StoreError> {
        let accounts = sqlx::query(
            "SELECT a.id, a.login_name_display, a.status, a.must_change_password, a.created_at_ms,
                    a.last_login_at_ms, a.population
             FROM accounts a
             WHERE a.population = 'staff' OR EXISTS (
                SELECT 1 FROM account_roles r WHERE r.account_id = a.id AND r.role <> 'customer')
             ORDER BY a.login_name_display, a.id LIMIT $1",
        )
        .bind(REVIEW_ACCOUNTS_MAX)
        .fetch_all(&self.pool)
        .await?;
        let mut connection = self.pool.acquire().await?;
        let mut rows = Vec::with_capacity(accounts.len());
        for account in &accounts {
            let account_id: String = account.try_get(0)?;
            let roles = roles_of(&mut connection, &account_id).await?;
            let (assigned_customers, assigned_claims) =
                assignment_counts(&mut connection, &account_id).await?;
            let status: String = account.try_get(2)?;
            let must_change: i64 = account.try_get(3)?;
            let created_at_ms: i64 = account.try_get(4)?;
            let last_sign_in_ms: Option<i64> = account.try_get(5)?;
            let population: String = account.try_get(6)?;
            let population = Population::parse(&population)
                .ok_or(StoreError::Malformed("account population"))?;
            let grants = Grants::new(roles.iter().copied());
            let days_since_sign_in =
                (now_ms - last_sign_in_ms.unwrap_or(created_at_ms)).div_euclid(DAY_MS);
            let mut data_scopes: Vec<DataScope> = roles.iter().map(|r| r.data_scope()).collect();
            data_scopes.sort();
            data_scopes.dedup();
            rows.push(ReviewRow {
                login_name: account.try_get(1)?,
                permissions: if status == "active" {
                    grants.permissions()
                } else {
                    vec![]
                },
                conflicts: conflicting_roles(grants.roles()),
                wrong_population: grants
                    .roles()
                    .iter()
                    .copied()
                    .filter(|role| role.population() != population)
                    .collect(),
                roles: grants.roles().to_vec(),
                data_scopes,
                assigned_customers,
                assigned_claims,
                status,
                created_at_ms,
                last_sign_in_ms,
                days_since_sign_in,
                dormant: last_sign_in_ms.is_none() || days_since_sign_in >= DORMANT_DAYS,
                initial_password: must_change == 1,
                account_id,
            });
        }
        rows.sort_by(|a, b| {
            (!a.has_conflicts(), !a.dormant, &a.login_name).cmp(&(
                !b.has_conflicts(),
                !b.dormant,
                &b.login_name,
            ))
        });
        Ok(rows)
    }
}
