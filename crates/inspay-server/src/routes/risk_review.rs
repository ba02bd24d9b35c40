//! The risk officer's desk (issue 6 items 1 and 6; clause 5.3.3.1): real-time alerts (the
//! decisions that held or denied an operation), the review queue, and the release or
//! rejection of one held operation.
//!
//! Staff see every reason (rule ids, where each came from, the model's scores); customers
//! never do. Releasing or rejecting is once per hold (a second try is 409 `INSPAY-RISK-003`),
//! audited, and never by the person who asked for the operation. A released staff claim
//! decision is applied by the server within a second or two (`risk::holds`); a released
//! customer operation goes through at the customer's next attempt.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_identity::authorization::Permission;
use inspay_store::StoreError;
use inspay_store::keys::Actor;
use inspay_store::risk::{
    HOLD_NOTE_CHARS_MAX, RiskDecisionFilter, RiskDecisionRow, RiskHoldFilter, RiskHoldRow,
    RiskHoldState,
};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// How far back the alert list reaches.
const ALERTS_WINDOW_MS: i64 = 7 * 86_400_000;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/risk/alerts",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::RiskMonitor),
        summary: "Risk decisions of the last 7 days that raised an alert (review or deny), newest first, with every reason.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Alerts>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/risk/holds/{state}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::RiskMonitor),
        summary: "Held operations in one state (held, released, rejected, resumed, failed or consumed), oldest first: the review queue is `held`.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Holds>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/risk/hold/{hold_id}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::RiskMonitor),
        summary: "One held operation with the decision that held it and every reason.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<HoldView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/risk/hold/{hold_id}/release",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::RiskReview),
        summary: "Releases a held operation, once: a staff claim decision is applied by the server; a customer's operation goes through at their next attempt.",
        body: Some(SchemaGenerator::subschema_for::<Verdict>),
        response: Some(SchemaGenerator::subschema_for::<HoldView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/risk/hold/{hold_id}/reject",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::RiskReview),
        summary: "Rejects a held operation, once: it never runs.",
        body: Some(SchemaGenerator::subschema_for::<Verdict>),
        response: Some(SchemaGenerator::subschema_for::<HoldView>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/risk/alerts", get(alerts))
        .route("/v1/risk/holds/{state}", get(holds))
        .route("/v1/risk/hold/{hold_id}", get(one))
        .route("/v1/risk/hold/{hold_id}/release", post(release))
        .route("/v1/risk/hold/{hold_id}/reject", post(reject))
}

/// A recorded decision, for staff.
#[derive(Serialize, JsonSchema)]
struct DecisionView {
    id: String,
    at_ms: i64,
    operation: String,
    account_id: Option<String>,
    reference: Option<String>,
    verdict: String,
    /// Every reason: rule id, source (built-in, pack and version, or model), verdict, score.
    reasons: serde_json::Value,
    model_score: Option<f64>,
}

fn decision_view(row: RiskDecisionRow) -> DecisionView {
    DecisionView {
        reasons: serde_json::from_str(&row.reasons_json).unwrap_or(serde_json::Value::Null),
        id: row.id,
        at_ms: row.at_ms,
        operation: row.operation,
        account_id: row.account_id,
        reference: row.reference,
        verdict: row.verdict,
        model_score: row.model_score,
    }
}

/// Alerts, newest first.
#[derive(Serialize, JsonSchema)]
struct Alerts {
    alerts: Vec<DecisionView>,
}

async fn alerts(State(state): State<AppState>) -> Result<Json<Alerts>, ApiError> {
    let rows = state
        .store
        .risk_decisions(
            &state.keyring(),
            RiskDecisionFilter {
                account_id: None,
                verdict: None,
                alerts_only: true,
                since_ms: state.now_ms() - ALERTS_WINDOW_MS,
                limit: 200,
            },
        )
        .await?;
    Ok(Json(Alerts {
        alerts: rows.into_iter().map(decision_view).collect(),
    }))
}

/// A held operation.
#[derive(Serialize, JsonSchema)]
struct HoldSummary {
    id: String,
    operation: String,
    account_id: String,
    subject: String,
    requested_by: String,
    /// What the hold keeps of the operation (ids, amounts, signatures; no personal data).
    payload: serde_json::Value,
    /// Whether the server applies it on release (else the customer's next attempt does).
    resumed_by_server: bool,
    state: &'static str,
    created_at_ms: i64,
    decided_by: Option<String>,
    decided_at_ms: Option<i64>,
    note: Option<String>,
    outcome: Option<String>,
    finished_at_ms: Option<i64>,
}

fn summary(row: RiskHoldRow) -> HoldSummary {
    HoldSummary {
        payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
        id: row.id,
        operation: row.operation,
        account_id: row.account_id,
        subject: row.subject,
        requested_by: row.requested_by,
        resumed_by_server: row.resumable,
        state: row.state.name(),
        created_at_ms: row.created_at_ms,
        decided_by: row.decided_by,
        decided_at_ms: row.decided_at_ms,
        note: row.note,
        outcome: row.outcome,
        finished_at_ms: row.finished_at_ms,
    }
}

/// Holds in one state.
#[derive(Serialize, JsonSchema)]
struct Holds {
    holds: Vec<HoldSummary>,
}

async fn holds(
    State(state): State<AppState>,
    Path(raw_state): Path<String>,
) -> Result<Json<Holds>, ApiError> {
    let hold_state = RiskHoldState::parse(&raw_state).ok_or_else(|| {
        ApiError::new(ErrorCode::NotFound)
            .detail("a hold state: held, released, rejected, resumed, failed or consumed")
    })?;
    let rows = state
        .store
        .risk_holds(
            &state.keyring(),
            RiskHoldFilter {
                state: Some(hold_state),
                account_id: None,
                limit: 200,
            },
        )
        .await?;
    Ok(Json(Holds {
        holds: rows.into_iter().map(summary).collect(),
    }))
}

/// One hold and the decision that held it.
#[derive(Serialize, JsonSchema)]
struct HoldView {
    hold: HoldSummary,
    decision: Option<DecisionView>,
}

async fn view(state: &AppState, hold: RiskHoldRow) -> Result<HoldView, ApiError> {
    let decision = state
        .store
        .risk_decision(&state.keyring(), &hold.decision_id)
        .await?;
    Ok(HoldView {
        hold: summary(hold),
        decision: decision.map(decision_view),
    })
}

fn hold_id(raw: &str) -> Result<String, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|id| id.to_string())
        .map_err(|_| ApiError::new(ErrorCode::NotFound))
}

async fn one(
    State(state): State<AppState>,
    Path(raw_id): Path<String>,
) -> Result<Json<HoldView>, ApiError> {
    let id = hold_id(&raw_id)?;
    let hold = state
        .store
        .risk_hold(&state.keyring(), &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    Ok(Json(view(&state, hold).await?))
}

/// The officer's note (optional, at most 500 characters; kept with the hold and audited).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct Verdict {
    note: Option<String>,
}

async fn release(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<Verdict>,
) -> Result<Json<HoldView>, ApiError> {
    decide(&state, &caller, &raw_id, true, request).await
}

async fn reject(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<Verdict>,
) -> Result<Json<HoldView>, ApiError> {
    decide(&state, &caller, &raw_id, false, request).await
}

async fn decide(
    state: &AppState,
    caller: &Caller,
    raw_id: &str,
    release: bool,
    request: Verdict,
) -> Result<Json<HoldView>, ApiError> {
    let id = hold_id(raw_id)?;
    if let Some(note) = &request.note
        && note.chars().count() > HOLD_NOTE_CHARS_MAX
    {
        return Err(ApiError::new(ErrorCode::InvalidField).detail("note: at most 500 characters"));
    }
    let keyring = state.keyring();
    let hold = state
        .store
        .risk_hold(&keyring, &id)
        .await?
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    if hold.requested_by == caller.account_id || hold.account_id == caller.account_id {
        return Err(ApiError::new(ErrorCode::PermissionDenied)
            .detail("a held operation is decided by someone other than who asked for it"));
    }
    let actor = format!("account:{}", caller.account_id);
    let decided = state
        .store
        .risk_hold_decide(
            &keyring,
            &id,
            release,
            request.note.as_deref(),
            Actor {
                actor: &actor,
                request_id: &caller.request_id,
            },
            state.now_ms(),
        )
        .await
        .map_err(|error| match error {
            StoreError::Conflict(_) => ApiError::new(ErrorCode::RiskHoldDecided),
            other => ApiError::from(other),
        })?;
    tracing::info!(
        target: "inspay::risk",
        hold = %decided.id,
        operation = %decided.operation,
        released = release,
        "held operation decided by a risk officer"
    );
    Ok(Json(view(state, decided).await?))
}
