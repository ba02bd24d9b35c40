//! Statements (clause 4-b): a customer reads their own premiums and refunds, each traceable to
//! its policy and its payment or refund id, with totals, as JSON or as CSV; staff read a
//! customer's statement within their data scope (an agent, their assigned customers). Cards
//! are masked; failed attempts, which moved nothing, are left out.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use inspay_core::money::Money;
use inspay_identity::authorization::Permission;
use inspay_store::authorization::Target;
use inspay_store::funds::StatementLine;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/me/statement",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::StatementReadOwn),
        summary: "The caller's premiums and refunds with totals, oldest first, cards masked; also as CSV text.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Statement>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/customers/{account_id}/statement",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PolicyRead),
        summary: "A customer's statement, for staff whose data scope holds the customer.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Statement>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/me/statement", get(own))
        .route("/v1/customers/{account_id}/statement", get(of_customer))
}

/// One line.
#[derive(Serialize, JsonSchema)]
struct Line {
    /// Unix milliseconds.
    at_ms: i64,
    /// `premium`, `refund` or `payout`.
    kind: &'static str,
    policy_id: String,
    /// The payment, refund or payout id.
    reference: String,
    premium_number: Option<u32>,
    paid_fen: i64,
    refunded_fen: i64,
    paid_out_fen: i64,
    /// `pending` or `succeeded`.
    status: String,
    card: Option<String>,
}

/// A statement.
#[derive(Serialize, JsonSchema)]
struct Statement {
    account_id: String,
    lines: Vec<Line>,
    /// Premiums that succeeded, fen.
    paid_fen: i64,
    /// Refunds that succeeded, fen.
    refunded_fen: i64,
    /// Claim payouts that succeeded, fen.
    paid_out_fen: i64,
    /// The same lines as CSV (UTF-8, header row, amounts in yuan), for a spreadsheet.
    csv: String,
}

fn statement(account_id: String, lines: &[StatementLine]) -> Statement {
    let settled = |line: &&StatementLine| line.status == "succeeded";
    Statement {
        paid_fen: lines.iter().filter(settled).map(|line| line.paid_fen).sum(),
        refunded_fen: lines
            .iter()
            .filter(settled)
            .map(|line| line.refunded_fen)
            .sum(),
        paid_out_fen: lines
            .iter()
            .filter(settled)
            .map(|line| line.paid_out_fen)
            .sum(),
        csv: csv(lines),
        lines: lines
            .iter()
            .map(|line| Line {
                at_ms: line.at_ms,
                kind: line.kind,
                policy_id: line.policy_id.clone(),
                reference: line.reference.clone(),
                premium_number: line.premium_number,
                paid_fen: line.paid_fen,
                refunded_fen: line.refunded_fen,
                paid_out_fen: line.paid_out_fen,
                status: line.status.clone(),
                card: line.card.clone(),
            })
            .collect(),
        account_id,
    }
}

/// `time_utc,kind,policy_id,reference,premium_number,paid_yuan,refunded_yuan,paid_out_yuan,status,card`.
/// Every field is made by this code (ids, fixed words, amounts, masked cards), so none needs
/// quoting and none can start a spreadsheet formula.
fn csv(lines: &[StatementLine]) -> String {
    let yuan = |fen: i64| {
        Money::from_fen(fen)
            .map(Money::to_yuan_string)
            .unwrap_or_default()
    };
    let mut out = String::from(
        "time_utc,kind,policy_id,reference,premium_number,paid_yuan,refunded_yuan,paid_out_yuan,status,card\n",
    );
    for line in lines {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{}\n",
            utc(line.at_ms),
            line.kind,
            line.policy_id,
            line.reference,
            line.premium_number
                .map(|n| n.to_string())
                .unwrap_or_default(),
            yuan(line.paid_fen),
            yuan(line.refunded_fen),
            yuan(line.paid_out_fen),
            line.status,
            line.card.as_deref().unwrap_or_default(),
        ));
    }
    out
}

/// `2026-11-26T06:53:37Z`.
fn utc(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .map(|at| {
            format!(
                "{}T{:02}:{:02}:{:02}Z",
                inspay_core::calendar::date_text(at.date()),
                at.hour(),
                at.minute(),
                at.second()
            )
        })
        .unwrap_or_default()
}

async fn own(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<Statement>, ApiError> {
    let lines = state
        .store
        .customer_statement(&caller.account_id, 0, i64::MAX)
        .await?;
    Ok(Json(statement(caller.account_id, &lines)))
}

async fn of_customer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Statement>, ApiError> {
    // Out of scope and unknown are the same refusal, so a stranger learns nothing.
    if uuid::Uuid::parse_str(&account_id).is_err()
        || !state
            .store
            .may_access(
                &caller.account_id,
                Permission::PolicyRead,
                &Target::Customer(&account_id),
            )
            .await?
    {
        return Err(ApiError::new(ErrorCode::PermissionDenied));
    }
    let lines = state
        .store
        .customer_statement(&account_id, 0, i64::MAX)
        .await?;
    Ok(Json(statement(account_id, &lines)))
}
