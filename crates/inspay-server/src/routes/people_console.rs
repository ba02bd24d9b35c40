//! The administrator's desk in the staff console (clauses 5.3.2.1, 5.3.2.2, 5.6.1-d): staff
//! accounts with their roles, the permission review report (`inspay users review`), and the
//! grant and revocation of a staff account's roles (`inspay users grant` and `revoke`).
//!
//! Grants and revocations go through the same store calls as the CLI, so the same rules hold:
//! a conflicting pair of roles is refused (separation of duties), a role goes only on an
//! account of its population and never on a closed one, nobody grants a role to their own
//! account, revoking the agent or adjuster role removes its assignments, and every change and
//! every refusal is audited in the same transaction, here with the administrator's account as
//! the actor. Like the CLI, these routes reach staff accounts only: a customer account is "not
//! found". Role changes need no approval in inspay (the CLI asks for none either).

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::console_params::{Limit, one_of};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use inspay_identity::authorization::{Permission, Role, conflict_reason};
use inspay_store::authorization::{DORMANT_DAYS, ReviewRow};
use inspay_store::keys::Actor;
use inspay_store::staff_console::StaffAccount;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

const DAY_MS: i64 = 86_400_000;

const STATUSES: &[(&str, &str)] = &[
    ("active", "active"),
    ("frozen", "frozen"),
    ("closed", "closed"),
];

/// Route declarations.
///
/// The role changes are declared fund-transaction class: who holds a role decides who may
/// approve payouts and refunds, so a change is as sensitive as moving money. Only an
/// application registered for that class may call them, and they need an `Idempotency-Key`
/// (a retried grant answers the first outcome).
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/admin/staff",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::UsersManage),
        summary: "The 100 most recently created staff accounts, newest first, with their roles, status and last sign-in.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Staff>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/admin/staff/{status}/{limit}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::UsersManage),
        summary: "Staff accounts in one status (active, frozen, closed or all), newest first, at most `limit` (1 to 500).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Staff>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/admin/permission-review",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PermissionReview),
        summary: "The permission review report of `inspay users review`: every staff account's roles, permissions, scopes, last sign-in and findings, conflicts and dormant accounts first.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Review>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/staff-roles/{account_id}",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::RolesGrant),
        summary: "Grants a role to a staff account, with the CLI's rules: conflicting roles, a closed account or one's own account are refused; audited.",
        body: Some(SchemaGenerator::subschema_for::<GrantRequest>),
        response: Some(SchemaGenerator::subschema_for::<StaffView>),
        success: &[200],
    },
    RouteSpec {
        method: "DELETE",
        path: "/v1/admin/staff-roles/{account_id}/{role}",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::RolesGrant),
        summary: "Revokes a role from a staff account (an agent's customers or an adjuster's claims go with it); audited. 404 if it was not held.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<StaffView>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/staff", get(staff_default))
        .route("/v1/admin/staff/{status}/{limit}", get(staff))
        .route("/v1/admin/permission-review", get(review))
        .route("/v1/admin/staff-roles/{account_id}", post(grant))
        .route("/v1/admin/staff-roles/{account_id}/{role}", delete(revoke))
}

/// A staff account.
#[derive(Serialize, JsonSchema)]
struct StaffView {
    account_id: String,
    /// The staff user name.
    login_name: String,
    /// `active`, `frozen` or `closed`.
    status: String,
    roles: Vec<&'static str>,
    /// Still on an initial password (it must be changed at the first sign-in).
    initial_password: bool,
    created_at_ms: i64,
    last_sign_in_ms: Option<i64>,
    /// Never signed in, or not for 180 days or more.
    dormant: bool,
}

fn staff_view(account: StaffAccount, now_ms: i64) -> StaffView {
    let since = account.last_sign_in_ms.unwrap_or(account.created_at_ms);
    StaffView {
        dormant: account.last_sign_in_ms.is_none()
            || (now_ms - since).div_euclid(DAY_MS) >= DORMANT_DAYS,
        roles: account.roles.iter().map(|role| role.name()).collect(),
        account_id: account.account_id,
        login_name: account.login_name,
        status: account.status,
        initial_password: account.initial_password,
        created_at_ms: account.created_at_ms,
        last_sign_in_ms: account.last_sign_in_ms,
    }
}

/// Staff accounts, newest first.
#[derive(Serialize, JsonSchema)]
struct Staff {
    /// The status asked for, or `all`.
    status: &'static str,
    limit: i64,
    accounts: Vec<StaffView>,
}

async fn list_staff(
    state: &AppState,
    status: Option<&'static str>,
    limit: Limit,
) -> Result<Json<Staff>, ApiError> {
    let now = state.now_ms();
    let rows = state.store.staff_accounts(status, limit.rows()).await?;
    Ok(Json(Staff {
        status: status.unwrap_or("all"),
        limit: limit.rows(),
        accounts: rows.into_iter().map(|row| staff_view(row, now)).collect(),
    }))
}

async fn staff_default(State(state): State<AppState>) -> Result<Json<Staff>, ApiError> {
    list_staff(&state, None, Limit::DEFAULT).await
}

async fn staff(
    State(state): State<AppState>,
    Path((raw_status, raw_limit)): Path<(String, String)>,
) -> Result<Json<Staff>, ApiError> {
    let status = one_of("status", &raw_status, STATUSES)?;
    list_staff(&state, status, Limit::parse(&raw_limit)?).await
}

/// Two roles one account may not hold together, and why.
#[derive(Serialize, JsonSchema)]
struct ConflictView {
    roles: [&'static str; 2],
    reason: Option<&'static str>,
}

/// One account in the permission review.
#[derive(Serialize, JsonSchema)]
struct ReviewView {
    account_id: String,
    login_name: String,
    status: String,
    roles: Vec<&'static str>,
    /// The permissions it may use now (none when frozen, closed or conflicting).
    permissions: Vec<&'static str>,
    data_scopes: Vec<&'static str>,
    assigned_customers: i64,
    assigned_claims: i64,
    created_at_ms: i64,
    last_sign_in_ms: Option<i64>,
    days_since_sign_in: i64,
    dormant: bool,
    /// Role pairs that break separation of duties.
    conflicts: Vec<ConflictView>,
    /// Roles that do not belong to the account's population.
    wrong_population: Vec<&'static str>,
    initial_password: bool,
}

fn review_view(row: ReviewRow) -> ReviewView {
    ReviewView {
        roles: row.roles.iter().map(|role| role.name()).collect(),
        permissions: row.permissions.iter().map(|p| p.name()).collect(),
        data_scopes: row.data_scopes.iter().map(|scope| scope.name()).collect(),
        conflicts: row
            .conflicts
            .iter()
            .map(|(first, second)| ConflictView {
                roles: [first.name(), second.name()],
                reason: conflict_reason(*first, *second),
            })
            .collect(),
        wrong_population: row
            .wrong_population
            .iter()
            .map(|role| role.name())
            .collect(),
        account_id: row.account_id,
        login_name: row.login_name,
        status: row.status,
        assigned_customers: row.assigned_customers,
        assigned_claims: row.assigned_claims,
        created_at_ms: row.created_at_ms,
        last_sign_in_ms: row.last_sign_in_ms,
        days_since_sign_in: row.days_since_sign_in,
        dormant: row.dormant,
        initial_password: row.initial_password,
    }
}

/// Counts of the findings.
#[derive(Serialize, JsonSchema)]
struct ReviewSummary {
    accounts: usize,
    with_conflicts: usize,
    dormant: usize,
    with_initial_password: usize,
}

/// The permission review report, as `inspay users review --json` prints it.
#[derive(Serialize, JsonSchema)]
struct Review {
    generated_at_ms: i64,
    dormant_days: i64,
    /// Conflicts first, then dormant accounts, each group by login name (at most 10,000).
    accounts: Vec<ReviewView>,
    summary: ReviewSummary,
}

async fn review(State(state): State<AppState>) -> Result<Json<Review>, ApiError> {
    let now = state.now_ms();
    let rows = state.store.permission_review(now).await?;
    let summary = ReviewSummary {
        accounts: rows.len(),
        with_conflicts: rows.iter().filter(|row| row.has_conflicts()).count(),
        dormant: rows.iter().filter(|row| row.dormant).count(),
        with_initial_password: rows.iter().filter(|row| row.initial_password).count(),
    };
    Ok(Json(Review {
        generated_at_ms: now,
        dormant_days: DORMANT_DAYS,
        accounts: rows.into_iter().map(review_view).collect(),
        summary,
    }))
}

/// The role to grant.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GrantRequest {
    /// A staff role: `agent`, `claims-adjuster`, `finance-officer`, `auditor`,
    /// `security-officer`, `risk-officer` or `administrator`.
    role: String,
}

fn role(raw: &str) -> Result<Role, ApiError> {
    Role::parse(raw).ok_or_else(|| {
        let names: Vec<&str> = Role::ALL.iter().map(|role| role.name()).collect();
        ApiError::new(ErrorCode::InvalidField).detail(format!("role: one of {}", names.join(", ")))
    })
}

/// The id of a staff account; anything else (malformed, unknown, a customer) is "not found".
async fn staff_account(state: &AppState, raw: &str) -> Result<String, ApiError> {
    if uuid::Uuid::parse_str(raw).is_err() {
        return Err(ApiError::new(ErrorCode::NotFound));
    }
    match state.store.staff_account(raw).await? {
        Some(account) => Ok(account.account_id),
        None => Err(ApiError::new(ErrorCode::NotFound)),
    }
}

/// The account as the staff list shows it, after a change.
async fn after_change(state: &AppState, account_id: &str) -> Result<StaffView, ApiError> {
    let account = state
        .store
        .staff_account(account_id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    Ok(staff_view(account, state.now_ms()))
}

async fn grant(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<GrantRequest>,
) -> Result<Json<StaffView>, ApiError> {
    let role = role(&request.role)?;
    let account_id = staff_account(&state, &raw_id).await?;
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    state
        .store
        .role_grant(&account_id, role, who, state.now_ms())
        .await?;
    tracing::info!(account = %account_id, role = role.name(), "role granted through the API");
    Ok(Json(after_change(&state, &account_id).await?))
}

async fn revoke(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((raw_id, raw_role)): Path<(String, String)>,
) -> Result<Json<StaffView>, ApiError> {
    let role = role(&raw_role)?;
    let account_id = staff_account(&state, &raw_id).await?;
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    if !state
        .store
        .role_revoke(&account_id, role, who, state.now_ms())
        .await?
    {
        return Err(
            ApiError::new(ErrorCode::NotFound).detail("the account does not hold this role")
        );
    }
    tracing::info!(account = %account_id, role = role.name(), "role revoked through the API");
    Ok(Json(after_change(&state, &account_id).await?))
}
