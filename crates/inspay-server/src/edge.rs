//! The HTTP edge: request ids, the access log, security headers, body and time limits, and
//! the problem responses for requests that match no route (clauses 5.4.2.2, 5.3.5).

use crate::error::{ApiError, ErrorCode};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::time::{Duration, Instant};
use tracing::Instrument;

/// The request id header, echoed on every response.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-supplied request id kept; longer or odder ones are replaced.
const REQUEST_ID_LEN_MAX: usize = 64;

/// The request id of the current request, for handlers.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Longest run of digits a client-supplied request id may hold: a longer run could be a card,
/// mobile or ID number, and the id is logged and echoed.
const REQUEST_ID_DIGIT_RUN_MAX: usize = 10;

fn acceptable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let longest_digit_run = text
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    let ok = (8..=REQUEST_ID_LEN_MAX).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        && longest_digit_run <= REQUEST_ID_DIGIT_RUN_MAX;
    ok.then(|| text.to_string())
}

/// Assigns the request id, opens the request span, logs one access line, and sets the
/// security headers on every response.
pub async fn request_context(mut request: Request, next: Next) -> Response {
    let request_id = request
        .headers()
        .get(&REQUEST_ID)
        .and_then(acceptable_request_id)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    request
        .extensions_mut()
        .insert(RequestId(request_id.clone()));
    // The matched route template (`/v1/things/{id}`), never the raw path or query, which
    // could carry a card or ID number.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| "<unmatched>".to_string());
    let method = request.method().clone();
    let span =
        tracing::info_span!("request", request_id = %request_id, method = %method, route = %route);
    let started = Instant::now();
    let mut response = next.run(request).instrument(span.clone()).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "request completed"
        );
    });
    set_security_headers(&mut response);
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    response
}

fn set_security_headers(response: &mut Response) {
    let headers = response.headers_mut();
    let fixed: [(HeaderName, &str); 9] = [
        (
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000; includeSubDomains",
        ),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("cross-origin-resource-policy"),
            "same-origin",
        ),
        (
            HeaderName::from_static("permissions-policy"),
            "camera=(), microphone=(), geolocation=()",
        ),
    ];
    for (name, value) in fixed {
        // A web page sets its own policy (scripts and styles from this origin only) and a
        // versioned static asset its own caching; everything else gets the API's.
        let own = name == header::CONTENT_SECURITY_POLICY || name == header::CACHE_CONTROL;
        if own && headers.contains_key(&name) {
            continue;
        }
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// Refuses bodies whose declared length is over the limit before reading them, and bounds
/// the time a request may take.
pub async fn limits(
    axum::extract::State(limits): axum::extract::State<EdgeLimits>,
    request: Request,
    next: Next,
) -> Response {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    // hyper bounds the header count for HTTP/1.1 only; HTTP/2 bounds the total size. Count
    // here too, so both protocols answer the same.
    if request.headers().len() > limits.headers_count_max {
        let mut response = ApiError::new(ErrorCode::HeadersTooLarge)
            .detail(format!("at most {} headers", limits.headers_count_max))
            .into_response();
        close_after(request.version(), &mut response);
        return response;
    }
    if declared.is_some_and(|length| length > limits.body_bytes_max) {
        let mut response = ApiError::new(ErrorCode::BodyTooLarge)
            .detail(format!("at most {} bytes", limits.body_bytes_max))
            .into_response();
        close_after(request.version(), &mut response);
        return response;
    }
    match tokio::time::timeout(limits.request_timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(ErrorCode::Timeout).into_response(),
    }
}

/// The limits the edge applies.
#[derive(Debug, Clone, Copy)]
pub struct EdgeLimits {
    /// Largest body.
    pub body_bytes_max: usize,
    /// Longest request.
    pub request_timeout: Duration,
    /// Most request headers.
    pub headers_count_max: usize,
}

/// Most bytes of an unwanted body read and thrown away so the connection can carry the next
/// request; past it the connection is closed instead.
pub const DRAIN_BYTES_MAX: usize = 1024 * 1024;

/// Reads and discards a request body the server refuses without using, so an HTTP/1.1 client
/// that keeps the connection open gets its answer and can send its next request (hyper closes
/// a connection whose request body was left unread). Returns whether it was read to the end.
pub async fn drain(body: axum::body::Body) -> bool {
    axum::body::to_bytes(body, DRAIN_BYTES_MAX).await.is_ok()
}

/// Marks an HTTP/1.x answer as the connection's last: for refusals that leave the body unread
/// (HTTP/2 streams need no such header, and may not carry it).
pub fn close_after(version: axum::http::Version, response: &mut Response) {
    if version < axum::http::Version::HTTP_2 {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
}

/// The answer for paths that match no route. Each is also a `route-unknown` security event
/// from the client's address: probing for paths is how scanners start, and the risk engine
/// reads these events as `edge.not_found_10m` (clause 5.4.3.2).
pub async fn not_found(
    axum::extract::State(state): axum::extract::State<crate::state::AppState>,
    request: Request,
) -> Response {
    let client = request
        .extensions()
        .get::<crate::defence::ClientAddr>()
        .map(|addr| addr.0);
    crate::defence::record(
        &state,
        crate::defence::Seen {
            kind: "route-unknown",
            app_id: None,
            account_id: None,
            client,
            route: None,
            detail: "request for a path no route has",
        },
    )
    .await;
    refuse_after_drain(request, ErrorCode::NotFound).await
}

/// The answer for a method a route does not have.
pub async fn method_not_allowed(request: Request) -> Response {
    refuse_after_drain(request, ErrorCode::MethodNotAllowed).await
}

async fn refuse_after_drain(request: Request, code: ErrorCode) -> Response {
    let version = request.version();
    let mut response = ApiError::new(code).into_response();
    if !drain(request.into_body()).await {
        close_after(version, &mut response);
    }
    response
}

/// The answer when a handler panics: a 500 problem with a reference. The panic payload is not
/// logged, as it could hold request data; the location is in the panic hook's output.
pub fn panic_response(_payload: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::new(ErrorCode::Internal)
        .cause("handler panicked")
        .into_response()
}
