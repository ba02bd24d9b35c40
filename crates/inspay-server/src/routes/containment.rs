//! The incident responder's switches in the staff console (clause 6.4.3): freeze and unfreeze an
//! account, pause and resume the payment channel, end every session, and list the switches in
//! force. The same store calls as `inspay contain`, with the signed-in staff member as the
//! audited actor, for holders of `incident.respond` (the security officer).

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_identity::authorization::Permission;
use inspay_store::containment::{ChannelName, Reason, Switch};
use inspay_store::keys::Actor;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// Route declarations: every change needs `incident.respond`, and is a fund-transaction class
/// operation (it stops money moving), so it carries an idempotency key like any other.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/admin/containment",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "The containment switches in force: frozen accounts, paused channels, and when every session was last ended.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Switches>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/containment/accounts/{account_id}/freeze",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "Freezes an account: its sessions end on every node, it cannot sign in, and no fund operation runs for it; audited. One's own account is refused.",
        body: Some(SchemaGenerator::subschema_for::<SwitchRequest>),
        response: Some(SchemaGenerator::subschema_for::<Thrown>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/containment/accounts/{account_id}/unfreeze",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "Unfreezes an account: it may sign in again and its held refunds and payouts go out; audited.",
        body: Some(SchemaGenerator::subschema_for::<SwitchRequest>),
        response: Some(SchemaGenerator::subschema_for::<Thrown>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/containment/channels/{channel}/pause",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "Pauses a payment channel (`default`): new payments are refused and queued work waits; audited.",
        body: Some(SchemaGenerator::subschema_for::<SwitchRequest>),
        response: Some(SchemaGenerator::subschema_for::<Thrown>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/containment/channels/{channel}/resume",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "Resumes a paused channel: payments are taken again and queued work goes out once; audited.",
        body: Some(SchemaGenerator::subschema_for::<SwitchRequest>),
        response: Some(SchemaGenerator::subschema_for::<Thrown>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/containment/sessions/end-all",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::IncidentRespond),
        summary: "Ends every live session, customer and staff (the caller's too) and every sign-in under way; audited.",
        body: Some(SchemaGenerator::subschema_for::<SwitchRequest>),
        response: Some(SchemaGenerator::subschema_for::<Thrown>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/containment", get(status))
        .route(
            "/v1/admin/containment/accounts/{account_id}/freeze",
            post(freeze),
        )
        .route(
            "/v1/admin/containment/accounts/{account_id}/unfreeze",
            post(unfreeze),
        )
        .route(
            "/v1/admin/containment/channels/{channel}/pause",
            post(pause),
        )
        .route(
            "/v1/admin/containment/channels/{channel}/resume",
            post(resume),
        )
        .route("/v1/admin/containment/sessions/end-all", post(end_all))
}

/// Why the switch is thrown.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SwitchRequest {
    /// 1 to 200 characters naming the incident (a ticket), with no run of more than five
    /// digits: no personal data.
    reason: String,
}

/// What a switch did.
#[derive(Serialize, JsonSchema)]
struct Thrown {
    /// `containment.account-frozen`, `containment.account-unfrozen`,
    /// `containment.channel-paused`, `containment.channel-resumed` or
    /// `containment.sessions-ended`: the audit action recorded.
    action: &'static str,
    /// The account id, the channel name, or `all`.
    subject: String,
    /// Sessions ended (freeze and end-all; otherwise 0).
    sessions_ended: u64,
}

/// The switches in force.
#[derive(Serialize, JsonSchema)]
struct Switches {
    switches: Vec<SwitchView>,
}

/// One switch.
#[derive(Serialize, JsonSchema)]
struct SwitchView {
    /// `account-frozen`, `channel-paused` or `sessions-ended`.
    kind: &'static str,
    /// The account id, the channel name, or `all`.
    subject: String,
    reason: String,
    /// Who threw it (`operator:<name>`, `account:<id>`).
    set_by: String,
    set_at_ms: i64,
}

impl From<Switch> for SwitchView {
    fn from(switch: Switch) -> Self {
        SwitchView {
            kind: switch.kind,
            subject: switch.subject,
            reason: switch.reason,
            set_by: switch.set_by,
            set_at_ms: switch.set_at_ms,
        }
    }
}

fn reason(raw: &str) -> Result<Reason, ApiError> {
    Reason::parse(raw).map_err(|why| ApiError::new(ErrorCode::InvalidField).detail(why))
}

fn channel(raw: &str) -> Result<ChannelName, ApiError> {
    ChannelName::parse(raw)
        .ok()
        .filter(|name| name.as_str() == crate::containment::channel_name())
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound).detail("the channel is `default`"))
}

fn account(raw: &str) -> Result<&str, ApiError> {
    uuid::Uuid::parse_str(raw)
        .map(|_| raw)
        .map_err(|_| ApiError::new(ErrorCode::NotFound))
}

async fn status(State(state): State<AppState>) -> Result<Json<Switches>, ApiError> {
    let switches = state.store.containment_switches().await?;
    Ok(Json(Switches {
        switches: switches.into_iter().map(SwitchView::from).collect(),
    }))
}

async fn freeze(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<SwitchRequest>,
) -> Result<Json<Thrown>, ApiError> {
    let account_id = account(&raw_id)?;
    let reason = reason(&request.reason)?;
    if account_id == caller.account_id {
        return Err(ApiError::new(ErrorCode::Conflict)
            .detail("you cannot freeze your own account; ask another incident responder"));
    }
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    let ended = state
        .store
        .containment_freeze_account(account_id, &reason, who, state.now_ms())
        .await?;
    tracing::warn!(account = %account_id, "containment: account frozen through the API");
    Ok(Json(Thrown {
        action: "containment.account-frozen",
        subject: account_id.to_string(),
        sessions_ended: ended,
    }))
}

async fn unfreeze(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<SwitchRequest>,
) -> Result<Json<Thrown>, ApiError> {
    let account_id = account(&raw_id)?;
    let reason = reason(&request.reason)?;
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    state
        .store
        .containment_unfreeze_account(account_id, &reason, who, state.now_ms())
        .await?;
    tracing::warn!(account = %account_id, "containment: account unfrozen through the API");
    Ok(Json(Thrown {
        action: "containment.account-unfrozen",
        subject: account_id.to_string(),
        sessions_ended: 0,
    }))
}

async fn pause(
    state: State<AppState>,
    caller: Extension<Caller>,
    raw_channel: Path<String>,
    request: ApiJson<SwitchRequest>,
) -> Result<Json<Thrown>, ApiError> {
    set_channel(state, caller, raw_channel, request, true).await
}

async fn resume(
    state: State<AppState>,
    caller: Extension<Caller>,
    raw_channel: Path<String>,
    request: ApiJson<SwitchRequest>,
) -> Result<Json<Thrown>, ApiError> {
    set_channel(state, caller, raw_channel, request, false).await
}

/// Pauses (`paused`) or resumes the payment channel.
async fn set_channel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_channel): Path<String>,
    ApiJson(request): ApiJson<SwitchRequest>,
    paused: bool,
) -> Result<Json<Thrown>, ApiError> {
    let channel = channel(&raw_channel)?;
    let reason = reason(&request.reason)?;
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    let now = state.now_ms();
    let action = if paused {
        state
            .store
            .containment_pause_channel(&channel, &reason, who, now)
            .await?;
        "containment.channel-paused"
    } else {
        state
            .store
            .containment_resume_channel(&channel, &reason, who, now)
            .await?;
        "containment.channel-resumed"
    };
    tracing::warn!(
        channel = channel.as_str(),
        action,
        "containment: channel switch thrown through the API"
    );
    Ok(Json(Thrown {
        action,
        subject: channel.as_str().to_string(),
        sessions_ended: 0,
    }))
}

async fn end_all(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<SwitchRequest>,
) -> Result<Json<Thrown>, ApiError> {
    let reason = reason(&request.reason)?;
    let actor = format!("account:{}", caller.account_id);
    let who = Actor {
        actor: &actor,
        request_id: &caller.request_id,
    };
    let ended = state
        .store
        .containment_end_all_sessions(&reason, who, state.now_ms())
        .await?;
    tracing::warn!(
        sessions = ended,
        "containment: every session ended through the API"
    );
    Ok(Json(Thrown {
        action: "containment.sessions-ended",
        subject: "all".to_string(),
        sessions_ended: ended,
    }))
}
