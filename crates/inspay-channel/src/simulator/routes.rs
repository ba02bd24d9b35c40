//! The simulator's HTTP routes.

use super::bank::{self, MoneyOrder, Refusal};
use super::faults::{Fault, FaultPlan};
use super::state::{Authenticated, Shared, claimed_nonce};
use crate::date::BusinessDate;
use crate::order::{ChannelAnswer, OrderId};
use crate::signing;
use crate::verify::AccountVerdict;
use crate::wire::{self, BodyError};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use std::net::SocketAddr;
use std::sync::Arc;

/// Largest request body accepted, bytes.
pub const REQUEST_BYTES_MAX: usize = 16 * 1024;

type AppState = State<Arc<Shared>>;

/// The simulator's routes.
pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/pay", post(pay))
        .route("/v1/payout", post(payout))
        .route("/v1/refund", post(refund))
        .route("/v1/accounts/verify", post(verify))
        .route("/v1/orders/{id}", get(query))
        .route("/v1/statements/{date}", get(statement))
        .route("/v1/keys", get(keys))
        .route("/control/faults", post(set_faults))
        .route("/control/ledger", get(ledger))
        .layer(DefaultBodyLimit::max(REQUEST_BYTES_MAX))
        .with_state(shared)
}

async fn pay(
    State(shared): AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    money_moving(shared, request, |body| {
        wire::parse_pay(body).map(MoneyOrder::Pay)
    })
    .await
}

async fn payout(
    State(shared): AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    money_moving(shared, request, |body| {
        wire::parse_payout(body).map(MoneyOrder::Payout)
    })
    .await
}

async fn refund(
    State(shared): AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    money_moving(shared, request, |body| {
        wire::parse_refund(body).map(MoneyOrder::Refund)
    })
    .await
}

/// Checks a bank account (银行卡四要素验证) by [`bank::Bank::verdict`]'s rule, under the
/// bank's lock since a verified account gets the card token of its number as its debit
/// token. The pending fault applies as to a money-moving request, but nothing moves and no
/// order is recorded; a fault that gives no verdict issues no token.
async fn verify(
    State(shared): AppState,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body,
    };
    let proof = match request.authenticate(&shared) {
        Ok(proof) => proof,
        Err(refusal) => return request.refuse(&shared, &refusal),
    };
    let check = match wire::parse_verify(&request.body) {
        Ok(check) => check,
        Err(what) => return shared.refuse(proof.nonce(), &Refusal::new(400, "BAD_REQUEST", what)),
    };
    let check_now = || shared.bank().verdict(&check);
    match shared.faults.take() {
        None | Some(Fault::Twice) => verdict(&shared, &proof, check_now(), false),
        Some(Fault::Fail) => verdict(&shared, &proof, Ok(bank::fault_verdict(&check)), false),
        Some(Fault::Drop | Fault::Timeout) => shared.hold().await,
        Some(Fault::Late(delay)) => {
            let outcome = check_now();
            shared.delay(delay).await;
            verdict(&shared, &proof, outcome, false)
        }
        Some(Fault::BadSignature) => verdict(&shared, &proof, check_now(), true),
    }
}

/// A signed verdict, or the signed refusal of a check the bank could not make; with
/// `corrupt`, signed so that it cannot verify.
fn verdict(
    shared: &Shared,
    proof: &Authenticated,
    outcome: Result<AccountVerdict, Refusal>,
    corrupt: bool,
) -> Response {
    match outcome {
        Ok(verdict) => shared.signed(
            StatusCode::OK,
            proof.nonce(),
            wire::verdict_body(&verdict),
            "application/json",
            corrupt,
        ),
        Err(refusal) => shared.refuse(proof.nonce(), &refusal),
    }
}

/// A request as received.
struct Request {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Request {
    /// Checks the request's signature; a refusal is logged by its code.
    fn authenticate(&self, shared: &Shared) -> Result<Authenticated, Refusal> {
        shared
            .authenticate(&self.method, &self.uri, &self.headers, &self.body)
            .inspect_err(|refusal| {
                tracing::info!(code = refusal.code, "channel simulator refused a request");
            })
    }

    /// A signed refusal bound to the nonce the request claimed.
    fn refuse(&self, shared: &Shared, refusal: &Refusal) -> Response {
        shared.refuse(claimed_nonce(&self.headers), refusal)
    }
}

/// Authenticates, parses, applies the pending fault, books the order and answers.
async fn money_moving(
    shared: Arc<Shared>,
    request: Request,
    parse: impl FnOnce(&[u8]) -> Result<MoneyOrder, BodyError>,
) -> Response {
    let proof = match request.authenticate(&shared) {
        Ok(proof) => proof,
        Err(refusal) => return request.refuse(&shared, &refusal),
    };
    let order = match parse(&request.body) {
        Ok(order) => order,
        Err(what) => return shared.refuse(proof.nonce(), &Refusal::new(400, "BAD_REQUEST", what)),
    };
    let now_ms = shared.clock.now_ms();
    let apply = || shared.bank().apply(&order, now_ms);
    match shared.faults.take() {
        None => answer(&shared, &proof, apply(), false),
        Some(Fault::Fail) => {
            let outcome = shared.bank().fail(&order);
            answer(&shared, &proof, outcome, false)
        }
        Some(Fault::Drop) => shared.hold().await,
        Some(Fault::Timeout) => {
            let _moved = apply();
            shared.hold().await
        }
        Some(Fault::Late(delay)) => {
            let outcome = apply();
            shared.delay(delay).await;
            answer(&shared, &proof, outcome, false)
        }
        Some(Fault::Twice) => {
            let first = apply();
            let second = apply();
            debug_assert_eq!(first, second, "a duplicated request gets the stored answer");
            if let Ok(answered) = &second {
                notify_twice(&shared, answered, proof.nonce());
            }
            answer(&shared, &proof, second, false)
        }
        Some(Fault::BadSignature) => answer(&shared, &proof, apply(), true),
    }
}

fn answer(
    shared: &Shared,
    proof: &Authenticated,
    outcome: Result<ChannelAnswer, Refusal>,
    corrupt: bool,
) -> Response {
    match outcome {
        Ok(answer) => {
            let body = wire::answer_body(&answer);
            shared.signed(
                StatusCode::OK,
                proof.nonce(),
                body,
                "application/json",
                corrupt,
            )
        }
        Err(refusal) => shared.refuse(proof.nonce(), &refusal),
    }
}

/// POSTs the signed answer to the notify URL two times, in the background.
fn notify_twice(shared: &Arc<Shared>, answer: &ChannelAnswer, request_nonce: &str) {
    let Some(url) = shared.notify_url.clone() else {
        return;
    };
    let body = wire::answer_body(answer);
    let Some(signature) = shared.signature_headers(200, request_nonce, &body, false) else {
        tracing::warn!("channel simulator could not sign a notification");
        return;
    };
    let mut headers = HeaderMap::new();
    signature.write(&mut headers);
    if let Ok(nonce) = HeaderValue::from_str(request_nonce) {
        headers.insert(signing::REQUEST_NONCE_HEADER, nonce);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let client = shared.notifier.clone();
    tokio::spawn(async move {
        for delivery in 1..=2 {
            let sent = client
                .post(&url)
                .headers(headers.clone())
                .body(body.clone())
                .send()
                .await;
            if let Err(error) = sent {
                tracing::warn!(delivery, error = %error.without_url(), "notification not delivered");
            }
        }
    });
}

async fn query(
    State(shared): AppState,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body: Bytes::new(),
    };
    let proof = match request.authenticate(&shared) {
        Ok(proof) => proof,
        Err(refusal) => return request.refuse(&shared, &refusal),
    };
    let Ok(order_id) = OrderId::parse(&id) else {
        let refusal = Refusal::new(400, "BAD_REQUEST", "not an order id");
        return shared.refuse(proof.nonce(), &refusal);
    };
    let found = shared.bank().query(&order_id);
    answer(&shared, &proof, Ok(found), false)
}

async fn statement(
    State(shared): AppState,
    Path(date): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let request = Request {
        method,
        uri,
        headers,
        body: Bytes::new(),
    };
    let proof = match request.authenticate(&shared) {
        Ok(proof) => proof,
        Err(refusal) => return request.refuse(&shared, &refusal),
    };
    let Ok(date) = BusinessDate::parse(&date) else {
        let refusal = Refusal::new(400, "BAD_REQUEST", "the date is not YYYY-MM-DD");
        return shared.refuse(proof.nonce(), &refusal);
    };
    let csv = shared.bank().statement(&date).to_csv();
    shared.signed(
        StatusCode::OK,
        proof.nonce(),
        csv.into_bytes(),
        "text/csv; charset=utf-8",
        false,
    )
}

/// The channel's public key as SPKI PEM; unsigned, as a key cannot vouch for itself.
async fn keys(State(shared): AppState) -> Response {
    let pem = shared.public_key().to_spki_pem();
    ([(header::CONTENT_TYPE, "application/x-pem-file")], pem).into_response()
}

/// A refusal unless the peer is on loopback: the control plane is a test hook with no
/// authentication.
fn not_loopback(peer: SocketAddr) -> Option<Response> {
    let refused = (
        StatusCode::FORBIDDEN,
        "the control plane answers loopback peers only",
    );
    (!peer.ip().is_loopback()).then(|| refused.into_response())
}

async fn set_faults(
    State(shared): AppState,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    body: Bytes,
) -> Response {
    if let Some(refused) = not_loopback(peer) {
        return refused;
    }
    let plan: FaultPlan = match serde_json::from_slice(&body) {
        Ok(plan) => plan,
        Err(_) => return (StatusCode::BAD_REQUEST, "not a fault plan").into_response(),
    };
    match shared.faults.set(&plan) {
        Ok(()) => {
            tracing::info!(?plan, "channel simulator fault set");
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => (StatusCode::BAD_REQUEST, error.to_string()).into_response(),
    }
}

async fn ledger(State(shared): AppState, ConnectInfo(peer): ConnectInfo<SocketAddr>) -> Response {
    if let Some(refused) = not_loopback(peer) {
        return refused;
    }
    let entries = shared.bank().ledger();
    let body = serde_json::to_vec(&entries).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
