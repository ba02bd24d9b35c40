//! The staff console's entrance and claims desk (clauses 5.3.2.1, 5.3.2.2, 5.6.2-d2, 5.2.1.2):
//! staff sign in with their login, password and their registered SM2 key, and the adjuster's
//! decision and the second approver's approval are signed with that key in the page.
//!
//! Signing in the page: the server builds the exact bytes to sign (the sign-in challenge, the
//! decision or approval document), shows them as text and hands them to the page script, which
//! signs them with the private key read from the file the person chooses (a software token,
//! unencrypted PKCS#8 PEM) and posts only the signature. The key never reaches the server.
//! Which key signed is the key id given at sign-in, kept in an HttpOnly cookie.
//!
//! Every page shows only what the API lets the person's roles read: a page whose API call is
//! refused for permission says so, and the console lists only the pages the roles open.

use crate::state::AppState;
use crate::web::api::{Answer, Call, WebApi};
use crate::web::claims::{claim_status, yuan_to_fen};
use crate::web::home;
use crate::web::page::{
    self, Binding, Captcha, Chrome, HasCsrf, Note, Posted, Sealing, captcha_reply, check_form,
    csrf_for, redirect, render, with_cookie,
};
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use inspay_protocol::claims::{ClaimVerdict, approval_document, decision_document_from_digest};
use serde::Deserialize;
use serde_json::json;

/// The cookie holding the id of the key the staff member signed in with (not a secret).
pub const STAFF_KEY_COOKIE: &str = "__Host-inspay_staffkey";

/// The staff pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/staff/sign-in", get(sign_in_form).post(sign_in))
        .route("/web/{lang}/staff/sign-in/key", post(sign_in_key))
        .route("/web/{lang}/staff", get(console))
        .route("/web/{lang}/staff/claims/{queue}", get(queue))
        .route("/web/{lang}/staff/claim/{claim_id}", get(claim))
        .route(
            "/web/{lang}/staff/claim/{claim_id}/decision/prepare",
            post(prepare_decision),
        )
        .route("/web/{lang}/staff/claim/{claim_id}/decision", post(decide))
        .route(
            "/web/{lang}/staff/claim/{claim_id}/approval/prepare",
            post(prepare_approval),
        )
        .route("/web/{lang}/staff/claim/{claim_id}/approval", post(approve))
}

#[derive(Template)]
#[template(path = "web/staff_sign_in.html")]
struct SignInPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
    key_id: String,
    captcha: Option<Captcha>,
}

#[derive(Template)]
#[template(path = "web/sign_document.html")]
struct SignPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    action: String,
    document_text: String,
    document_base64: String,
    fields: Vec<(String, String)>,
}

/// A key id: 1 to 64 of `A-Z a-z 0-9 - _ :`.
fn key_id_ok(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':'))
}

fn staff_key(visit: &Visit) -> String {
    visit.staff_key.clone().unwrap_or_default()
}

async fn sign_in_form(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    mut visit: Visit,
) -> Response {
    let cookie = visit::ensure_pre(&mut visit);
    let response = sign_in_page(&api, &state, &visit, None, false, StatusCode::OK).await;
    with_cookie(response, cookie)
}

async fn sign_in_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    with_captcha: bool,
    status: StatusCode,
) -> Response {
    let (s, captcha) = match page::sealing_with_captcha(api, state, visit, with_captcha).await {
        Ok(both) => both,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &SignInPage {
            c: Chrome::new(state, visit, visit.t().staff_sign_in_title, "staff"),
            note,
            csrf: csrf_for(state, visit, Binding::PreSession),
            s,
            key_id: staff_key(visit),
            captcha,
        },
    )
}

#[derive(Deserialize)]
struct SignInForm {
    csrf: String,
    login_name: String,
    password: String,
    key_id: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha_answer: String,
}

impl HasCsrf for SignInForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct FlowStarted {
    flow_id: String,
}

#[derive(Deserialize)]
struct Challenge {
    challenge_id: String,
    message_base64: String,
}

async fn sign_in(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<SignInForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let mut body = json!({
        "login_name": form.login_name,
        "password": form.password,
        "staff": true,
    });
    if !form.captcha_id.is_empty() {
        body["captcha"] = captcha_reply(&form.captcha_id, &form.captcha_answer);
    }
    let answer = match api
        .call(&state, &visit, Call::post("/v1/sign-in", &body))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    let refused = |answer: &Answer| Note::from_answer(visit.lang, answer);
    if !answer.ok() {
        let note = refused(&answer);
        return sign_in_page(&api, &state, &visit, note, true, answer.status).await;
    }
    let flow: FlowStarted = match answer.parse() {
        Ok(flow) => flow,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    let Ok(flow_id) = uuid::Uuid::parse_str(&flow.flow_id) else {
        return page::fault(
            &state,
            &visit,
            crate::web::api::WebFault("bad flow id".into()),
        );
    };
    if !key_id_ok(&form.key_id) {
        let note = Note::bad(visit.t().sign_in_failed);
        return sign_in_page(
            &api,
            &state,
            &visit,
            note,
            true,
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let path = format!("/v1/sign-in/{}/key-challenge", flow_id.hyphenated());
    let answer = match api
        .call(
            &state,
            &visit,
            Call::post(path, &json!({ "key_id": form.key_id })),
        )
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if !answer.ok() {
        // Which part was wrong is not said: the same vague answer as a wrong password.
        let note = Note::bad(visit.t().sign_in_failed);
        return sign_in_page(&api, &state, &visit, note, true, answer.status).await;
    }
    let challenge: Challenge = match answer.parse() {
        Ok(challenge) => challenge,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    let text = STANDARD
        .decode(&challenge.message_base64)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let response = render(
        StatusCode::OK,
        &SignPage {
            c: Chrome::new(&state, &visit, visit.t().sign_title, "staff"),
            note: None,
            csrf: csrf_for(&state, &visit, Binding::PreSession),
            action: visit.path("/staff/sign-in/key"),
            document_text: text,
            document_base64: challenge.message_base64,
            fields: vec![
                ("flow_id".into(), flow_id.hyphenated().to_string()),
                ("challenge_id".into(), challenge.challenge_id),
            ],
        },
    );
    with_cookie(response, visit::set_cookie(STAFF_KEY_COOKIE, &form.key_id))
}

#[derive(Deserialize)]
struct KeyForm {
    csrf: String,
    flow_id: String,
    challenge_id: String,
    signature: String,
}

impl HasCsrf for KeyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct Session {
    session_token: zeroize::Zeroizing<String>,
    level: String,
}

async fn sign_in_key(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<KeyForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Ok(flow_id) = uuid::Uuid::parse_str(&form.flow_id) else {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    };
    let path = format!("/v1/sign-in/{}/key", flow_id.hyphenated());
    let body = json!({ "challenge_id": form.challenge_id, "signature_base64": form.signature });
    let answer = match api.call(&state, &visit, Call::post(path, &body)).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if !answer.ok() {
        let note = Note::bad(visit.t().sign_in_failed);
        return sign_in_page(&api, &state, &visit, note, true, answer.status).await;
    }
    let session: Session = match answer.parse() {
        Ok(session) => session,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    let next = match session.level.as_str() {
        crate::auth::LEVEL_INITIAL_PASSWORD => visit.path("/account/password"),
        _ => visit.path("/staff"),
    };
    page::session_started(&next, &session.session_token)
}

#[derive(Deserialize)]
struct Me {
    account_id: String,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

async fn me(api: &WebApi, state: &AppState, visit: &Visit) -> Result<Me, Box<Response>> {
    read(api, state, visit, "/v1/me").await
}

async fn read<T: serde::de::DeserializeOwned>(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    path: &str,
) -> Result<T, Box<Response>> {
    if visit.session.is_none() {
        return Err(Box::new(redirect(&visit.path("/staff/sign-in"))));
    }
    page::read(api, state, visit, Call::get(path)).await
}

#[derive(Template)]
#[template(path = "web/staff_home.html")]
struct ConsolePage {
    c: Chrome,
    note: Option<Note>,
    roles: String,
    links: Vec<(String, &'static str)>,
}

/// The console: the pages the roles open.
async fn console(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    let me = match me(&api, &state, &visit).await {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let t = visit.t();
    let has = |permission: &str| me.permissions.iter().any(|held| held == permission);
    let mut links = vec![];
    if has("claim.assess") || has("claim.read") {
        links.push((visit.path("/staff/claims/filed"), t.queue_filed));
    }
    if has("payout.approve") {
        links.push((
            visit.path("/staff/claims/awaiting-second-approval"),
            t.queue_second,
        ));
    }
    for (path, label) in crate::web::console::links(&visit, &me.permissions) {
        links.push((path, label));
    }
    render(
        StatusCode::OK,
        &ConsolePage {
            c: Chrome::new(&state, &visit, t.console_title, "staff"),
            note: None,
            roles: me.roles.join(", "),
            links,
        },
    )
}

#[derive(Deserialize)]
struct Queue {
    claims: Vec<QueueClaim>,
}

#[derive(Deserialize)]
struct QueueClaim {
    id: String,
    claimed_fen: i64,
    incident_on: String,
    status: String,
}

struct QueueRow {
    id: String,
    claimed: String,
    incident_on: String,
    status: &'static str,
    tone: &'static str,
}

#[derive(Template)]
#[template(path = "web/staff_queue.html")]
struct QueuePage {
    c: Chrome,
    note: Option<Note>,
    heading: &'static str,
    claims: Vec<QueueRow>,
}

async fn queue(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, which)): Path<(String, String)>,
) -> Response {
    let t = visit.t();
    let heading = match which.as_str() {
        "filed" => t.queue_filed,
        "awaiting-second-approval" => t.queue_second,
        _ => return page::not_found(&state, &visit),
    };
    let queue: Queue = match read(&api, &state, &visit, &format!("/v1/claim-queue/{which}")).await {
        Ok(queue) => queue,
        Err(response) => return *response,
    };
    render(
        StatusCode::OK,
        &QueuePage {
            c: Chrome::new(&state, &visit, heading, "staff"),
            note: None,
            heading,
            claims: queue
                .claims
                .into_iter()
                .map(|claim| {
                    let (status, tone) = claim_status(t, &claim.status);
                    QueueRow {
                        id: claim.id,
                        claimed: visit.lang.money(claim.claimed_fen),
                        incident_on: claim.incident_on,
                        status,
                        tone,
                    }
                })
                .collect(),
        },
    )
}

#[derive(Deserialize)]
struct StaffClaim {
    claim: ClaimDetail,
    description: String,
    signatures: serde_json::Value,
    keys_registered: bool,
    claim_document_sm3: String,
}

#[derive(Deserialize)]
struct ClaimDetail {
    id: String,
    policy_id: String,
    claimed_fen: i64,
    incident_on: String,
    status: String,
    approved_fen: Option<i64>,
    decided_by: Option<String>,
}

#[derive(Template)]
#[template(path = "web/staff_claim.html")]
struct ClaimPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    id: String,
    policy_id: String,
    incident_on: String,
    claimed: String,
    approved: String,
    status: &'static str,
    tone: &'static str,
    description: String,
    signatures_ok: bool,
    can_decide: bool,
    can_approve: bool,
}

fn claim_path(raw: &str) -> Option<String> {
    uuid::Uuid::parse_str(raw)
        .ok()
        .map(|id| id.hyphenated().to_string())
}

/// Every signature check in the API's answer passed.
fn all_valid(checks: &serde_json::Value) -> bool {
    fn walk(value: &serde_json::Value) -> bool {
        match value {
            serde_json::Value::Bool(ok) => *ok,
            serde_json::Value::Object(map) => map.values().all(walk),
            serde_json::Value::Array(items) => items.iter().all(walk),
            _ => true,
        }
    }
    walk(checks)
}

async fn claim(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, raw_id)): Path<(String, String)>,
) -> Response {
    claim_page(&api, &state, &visit, &raw_id, None).await
}

async fn claim_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    raw_id: &str,
    note: Option<Note>,
) -> Response {
    let Some(id) = claim_path(raw_id) else {
        return page::not_found(state, visit);
    };
    let me = match me(api, state, visit).await {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let view: StaffClaim = match read(api, state, visit, &format!("/v1/claims/{id}")).await {
        Ok(view) => view,
        Err(response) => return *response,
    };
    let t = visit.t();
    let (status, tone) = claim_status(t, &view.claim.status);
    let has = |permission: &str| me.permissions.iter().any(|held| held == permission);
    let decided_by_me = view.claim.decided_by.as_deref() == Some(me.account_id.as_str());
    render(
        StatusCode::OK,
        &ClaimPage {
            c: Chrome::new(state, visit, t.claim, "staff"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            can_decide: view.claim.status == "filed" && has("claim.assess"),
            can_approve: view.claim.status == "awaiting_second_approval"
                && has("payout.approve")
                && !decided_by_me,
            id: view.claim.id,
            policy_id: view.claim.policy_id,
            incident_on: view.claim.incident_on,
            claimed: visit.lang.money(view.claim.claimed_fen),
            approved: view
                .claim
                .approved_fen
                .map(|fen| visit.lang.money(fen))
                .unwrap_or_default(),
            status,
            tone,
            description: view.description,
            signatures_ok: all_valid(&view.signatures) && view.keys_registered,
        },
    )
}

/// The verdict of a decision form: approve with an amount, or reject.
fn verdict_of(decision: &str, approved_fen: &str) -> Option<ClaimVerdict> {
    match decision {
        "approve" => approved_fen.parse::<i64>().ok().map(ClaimVerdict::Approve),
        "reject" => Some(ClaimVerdict::Reject),
        _ => None,
    }
}

/// The decision document, shown and handed to the page to sign with the adjuster's key.
async fn prepare_decision(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, raw_id)): Path<(String, String)>,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let Some(id) = claim_path(&raw_id) else {
        return page::not_found(&state, &visit);
    };
    let approved_fen = match posted.get("decision") {
        "approve" => match yuan_to_fen(posted.get("approved_yuan")) {
            Some(fen) => fen,
            None => {
                let note = Note::bad(
                    crate::web::i18n::error_text(visit.lang, "INSPAY-REQ-003")
                        .unwrap_or(visit.t().error_generic),
                );
                return claim_page(&api, &state, &visit, &id, note).await;
            }
        },
        _ => 0,
    };
    let Some(verdict) = verdict_of(posted.get("decision"), &approved_fen.to_string()) else {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    };
    let me = match me(&api, &state, &visit).await {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let view: StaffClaim = match read(&api, &state, &visit, &format!("/v1/claims/{id}")).await {
        Ok(view) => view,
        Err(response) => return *response,
    };
    let document =
        decision_document_from_digest(&id, &view.claim_document_sm3, verdict, &me.account_id);
    sign_page(
        &state,
        &visit,
        visit.path(&format!("/staff/claim/{id}/decision")),
        &document,
        vec![
            ("decision".into(), verdict.name().into()),
            ("approved_fen".into(), verdict.approved_fen().to_string()),
        ],
    )
}

fn sign_page(
    state: &AppState,
    visit: &Visit,
    action: String,
    document: &[u8],
    fields: Vec<(String, String)>,
) -> Response {
    render(
        StatusCode::OK,
        &SignPage {
            c: Chrome::new(state, visit, visit.t().sign_title, "staff"),
            note: None,
            csrf: csrf_for(state, visit, Binding::Session),
            action,
            document_text: String::from_utf8_lossy(document).into_owned(),
            document_base64: STANDARD.encode(document),
            fields,
        },
    )
}

/// Sends a signed decision or approval and shows the claim with the outcome.
async fn send_signed(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    id: &str,
    path: String,
    body: serde_json::Value,
    done: &'static str,
) -> Response {
    let key = match visit::random_value() {
        Ok(key) => key,
        Err(error) => {
            return page::fault(state, visit, crate::web::api::WebFault(error.to_string()));
        }
    };
    let call = Call::post(path, &body)
        .session_of(visit)
        .idempotency_key(&key);
    let answer = match api.call(state, visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(state, visit, fault),
    };
    if let Some(response) = home::session_gone(visit, &answer) {
        return response;
    }
    let note = if answer.ok() {
        Note::ok(done)
    } else if answer.code() == Some("INSPAY-RISK-002") {
        Note::warn(visit.t().held_for_review)
    } else {
        Note::from_answer(visit.lang, &answer)
    };
    claim_page(api, state, visit, id, note).await
}

async fn decide(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, raw_id)): Path<(String, String)>,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let Some(id) = claim_path(&raw_id) else {
        return page::not_found(&state, &visit);
    };
    let Some(verdict) = verdict_of(posted.get("decision"), posted.get("approved_fen")) else {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    };
    let mut body = json!({
        "decision": verdict.name(),
        "key_id": staff_key(&visit),
        "signature": posted.get("signature"),
    });
    if let ClaimVerdict::Approve(fen) = verdict {
        body["approved_fen"] = json!(fen);
    }
    let path = format!("/v1/claims/{id}/decision");
    let done = visit.t().decision_recorded;
    send_signed(&api, &state, &visit, &id, path, body, done).await
}

/// The approval document over the adjuster's decision, shown and handed to the page to sign.
async fn prepare_approval(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, raw_id)): Path<(String, String)>,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let Some(id) = claim_path(&raw_id) else {
        return page::not_found(&state, &visit);
    };
    let confirm = match posted.get("verdict") {
        "confirm" => true,
        "reject" => false,
        _ => return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST),
    };
    let me = match me(&api, &state, &visit).await {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let view: StaffClaim = match read(&api, &state, &visit, &format!("/v1/claims/{id}")).await {
        Ok(view) => view,
        Err(response) => return *response,
    };
    let (Some(adjuster), Some(fen)) = (view.claim.decided_by.as_deref(), view.claim.approved_fen)
    else {
        return claim_page(&api, &state, &visit, &id, None).await;
    };
    let decision = decision_document_from_digest(
        &id,
        &view.claim_document_sm3,
        ClaimVerdict::Approve(fen),
        adjuster,
    );
    let document = approval_document(&id, &decision, confirm, &me.account_id);
    sign_page(
        &state,
        &visit,
        visit.path(&format!("/staff/claim/{id}/approval")),
        &document,
        vec![(
            "verdict".into(),
            if confirm { "confirm" } else { "reject" }.into(),
        )],
    )
}

async fn approve(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, raw_id)): Path<(String, String)>,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let Some(id) = claim_path(&raw_id) else {
        return page::not_found(&state, &visit);
    };
    let verdict = match posted.get("verdict") {
        "confirm" | "reject" => posted.get("verdict"),
        _ => return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST),
    };
    let body = json!({
        "verdict": verdict,
        "key_id": staff_key(&visit),
        "signature": posted.get("signature"),
    });
    let path = format!("/v1/claims/{id}/approval");
    let done = visit.t().approval_recorded;
    send_signed(&api, &state, &visit, &id, path, body, done).await
}
