//! The administration listener's routes (clause 4-c: the administration interface apart from
//! the business one): `GET /metrics` and `GET /health/live`, nothing else, and only to callers
//! in `protection.admin_networks`. The public listeners do not have these metrics at all.

use crate::defence::{ClientAddr, Network};
use crate::edge::{self, EdgeLimits};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::{Next, from_fn, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;

/// Largest body the admin listener reads: its routes take none.
const ADMIN_BODY_BYTES_MAX: usize = 1024;

/// The allow-list check's state.
#[derive(Clone)]
struct AdminNetworks {
    state: AppState,
    networks: Arc<Vec<Network>>,
}

/// The admin listener's router.
pub fn router(state: AppState) -> Router {
    // Validated at start-up, so every entry parses.
    let networks = AdminNetworks {
        state: state.clone(),
        networks: Arc::new(
            state
                .settings
                .protection
                .admin_networks
                .iter()
                .filter_map(|network| Network::parse(network))
                .collect(),
        ),
    };
    let limits = EdgeLimits {
        body_bytes_max: ADMIN_BODY_BYTES_MAX,
        request_timeout: Duration::from_millis(state.settings.limits.request_timeout_ms),
        headers_count_max: state.settings.limits.headers_count_max,
    };
    Router::new()
        .route("/metrics", get(metrics))
        .route("/health/live", get(live))
        .fallback(edge::not_found)
        .method_not_allowed_fallback(edge::method_not_allowed)
        .layer(DefaultBodyLimit::max(ADMIN_BODY_BYTES_MAX))
        .layer(from_fn_with_state(limits, edge::limits))
        .layer(CatchPanicLayer::custom(edge::panic_response))
        .layer(from_fn_with_state(networks, allow_list))
        .layer(from_fn(edge::request_context))
        .with_state(state)
}

/// Refuses every request from outside the administration networks with 403
/// `INSPAY-AUTH-005`, and records it as an `admin-network-refused` security event.
async fn allow_list(State(admin): State<AdminNetworks>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ClientAddr>().map(|addr| addr.0);
    let allowed =
        client.is_some_and(|ip| admin.networks.iter().any(|network| network.contains(ip)));
    if allowed {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string());
    crate::defence::record(
        &admin.state,
        crate::defence::Seen {
            kind: "admin-network-refused",
            app_id: None,
            account_id: None,
            client,
            route: route.as_deref(),
            detail: "the administration listener was called from outside the allowed networks",
        },
    )
    .await;
    let version = request.version();
    let mut response = ApiError::new(ErrorCode::PermissionDenied)
        .detail("the administration interface is not reachable from this network")
        .into_response();
    if !edge::drain(request.into_body()).await {
        edge::close_after(version, &mut response);
    }
    response
}

/// The metrics in the Prometheus text format.
async fn metrics(State(state): State<AppState>) -> Response {
    (
        [(header::CONTENT_TYPE, super::metrics::CONTENT_TYPE)],
        state.monitor().metrics().render(),
    )
        .into_response()
}

/// The process is up (the admin listener's own liveness probe).
async fn live() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "live" }))
}
