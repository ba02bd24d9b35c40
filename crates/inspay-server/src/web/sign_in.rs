//! Signing in and out in the browser (clauses 5.2.1.1, 5.2.1.2, 5.2.3, 5.3.1.2): the mobile
//! number and password, sealed in the page; a CAPTCHA after a failure; the text-message code;
//! the ID number when the risk rules ask for it. Each step is the API's
//! (`/v1/sign-in`, `/sms`, `/sms-code`, `/identity`); the flow id travels in the form. A
//! refusal is the API's one vague answer, whatever the reason (wrong password, locked,
//! unknown number).

use crate::state::AppState;
use crate::web::api::{Call, WebApi};
use crate::web::page::{
    self, Binding, Captcha, Chrome, HasCsrf, Note, Sealing, captcha, captcha_reply, check_form,
    csrf_for, redirect, render, sealing, with_cookie,
};
use crate::web::visit::{self, SESSION_COOKIE, Visit};
use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

/// The sign-in pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/sign-in", get(form).post(first_factor))
        .route("/web/{lang}/sign-in/sms", post(send_code))
        .route("/web/{lang}/sign-in/code", post(check_code))
        .route("/web/{lang}/sign-in/identity", post(identity))
        .route("/web/{lang}/sign-out", post(sign_out))
}

#[derive(Template)]
#[template(path = "web/sign_in.html")]
struct SignInPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
    captcha: Option<Captcha>,
}

#[derive(Template)]
#[template(path = "web/sign_in_sms.html")]
struct SmsPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    flow_id: String,
    captcha: Captcha,
}

#[derive(Template)]
#[template(path = "web/sign_in_code.html")]
struct CodePage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    flow_id: String,
    sent_to: String,
}

#[derive(Template)]
#[template(path = "web/sign_in_identity.html")]
struct IdentityPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    flow_id: String,
    s: Sealing,
}

/// The pre-sign-in and device cookies a visitor without them gets, so the next form can be
/// bound and the sign-in carries a device id.
struct NewCookies {
    pre: Option<axum::http::HeaderValue>,
    device: Option<String>,
}

fn ensure_cookies(visit: &mut Visit) -> NewCookies {
    let mut fresh = NewCookies {
        pre: None,
        device: None,
    };
    fresh.pre = visit::ensure_pre(visit);
    if visit.device.is_none()
        && let Ok(value) = visit::random_value()
    {
        visit.device = Some(value.clone());
        fresh.device = Some(value);
    }
    fresh
}

fn set_new_cookies(mut response: Response, fresh: NewCookies) -> Response {
    response = with_cookie(response, fresh.pre);
    if let Some(device) = fresh.device {
        response = with_cookie(response, visit::set_device_cookie(&device));
    }
    response
}

/// The sign-in form (signed-in visitors go to their start page).
async fn form(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    mut visit: Visit,
) -> Response {
    if visit.session.is_some() && crate::web::home::signed_in(&api, &state, &visit).await {
        return redirect(&visit.path("/"));
    }
    let fresh = ensure_cookies(&mut visit);
    let response = sign_in_page(&api, &state, &visit, None, false, StatusCode::OK).await;
    set_new_cookies(response, fresh)
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
            c: Chrome::new(state, visit, visit.t().sign_in_title, ""),
            note,
            csrf: csrf_for(state, visit, Binding::PreSession),
            s,
            captcha,
        },
    )
}

/// The first step's form: envelopes only (the clear inputs have no name).
#[derive(Deserialize)]
struct FirstFactorForm {
    csrf: String,
    login_name: String,
    password: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha_answer: String,
}

impl HasCsrf for FirstFactorForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct FlowStarted {
    flow_id: String,
}

async fn first_factor(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<FirstFactorForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let mut body = json!({
        "login_name": form.login_name,
        "password": form.password,
    });
    if !form.captcha_id.is_empty() {
        body["captcha"] = captcha_reply(&form.captcha_id, &form.captcha_answer);
    }
    if let Some(device) = &visit.device {
        body["device_id"] = json!(device);
    }
    let answer = match api
        .call(&state, &visit, Call::post("/v1/sign-in", &body))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if !answer.ok() {
        // Whatever went wrong, the form comes back with a CAPTCHA: after a failure the API
        // asks for one on the next attempt for this name.
        return sign_in_page(
            &api,
            &state,
            &visit,
            Note::from_answer(visit.lang, &answer),
            true,
            answer.status,
        )
        .await;
    }
    let started: FlowStarted = match answer.parse() {
        Ok(started) => started,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    sms_page(&api, &state, &visit, started.flow_id, None, StatusCode::OK).await
}

async fn sms_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    flow_id: String,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    let captcha = match captcha(api, state, visit).await {
        Ok(captcha) => captcha,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &SmsPage {
            c: Chrome::new(state, visit, visit.t().sms_title, ""),
            note,
            csrf: csrf_for(state, visit, Binding::PreSession),
            flow_id,
            captcha,
        },
    )
}

#[derive(Deserialize)]
struct SendCodeForm {
    csrf: String,
    flow_id: String,
    captcha_id: String,
    captcha_answer: String,
}

impl HasCsrf for SendCodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct SmsSent {
    sent_to: String,
}

/// A flow id is a UUID; anything else never reaches the API's path.
fn flow_path(flow_id: &str, step: &str) -> Option<String> {
    uuid::Uuid::parse_str(flow_id)
        .ok()
        .map(|id| format!("/v1/sign-in/{}/{step}", id.hyphenated()))
}

async fn flow_ended(api: &WebApi, state: &AppState, visit: &Visit) -> Response {
    sign_in_page(
        api,
        state,
        visit,
        Note::bad(visit.t().flow_ended),
        false,
        StatusCode::CONFLICT,
    )
    .await
}

async fn send_code(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<SendCodeForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Some(path) = flow_path(&form.flow_id, "sms") else {
        return flow_ended(&api, &state, &visit).await;
    };
    let body = json!({ "captcha": captcha_reply(&form.captcha_id, &form.captcha_answer) });
    let answer = match api.call(&state, &visit, Call::post(path, &body)).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if answer.code() == Some("INSPAY-AUTH-009") {
        return flow_ended(&api, &state, &visit).await;
    }
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        return sms_page(&api, &state, &visit, form.flow_id, note, answer.status).await;
    }
    let sent: SmsSent = match answer.parse() {
        Ok(sent) => sent,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    render(
        StatusCode::OK,
        &CodePage {
            c: Chrome::new(&state, &visit, visit.t().sms_title, ""),
            note: None,
            csrf: csrf_for(&state, &visit, Binding::PreSession),
            flow_id: form.flow_id,
            sent_to: sent.sent_to,
        },
    )
}

#[derive(Deserialize)]
struct CodeForm {
    csrf: String,
    flow_id: String,
    code: Zeroizing<String>,
}

impl HasCsrf for CodeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct Session {
    session_token: Zeroizing<String>,
    level: String,
}

async fn check_code(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<CodeForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Some(path) = flow_path(&form.flow_id, "sms-code") else {
        return flow_ended(&api, &state, &visit).await;
    };
    let body = json!({ "code": form.code.as_str() });
    let answer = match api.call(&state, &visit, Call::post(path, &body)).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if answer.status == StatusCode::ACCEPTED && answer.code().is_none() {
        // The risk rules want the ID number too.
        let s = match sealing(&api, &state, &visit).await {
            Ok(s) => s,
            Err(fault) => return page::fault(&state, &visit, fault),
        };
        return render(
            StatusCode::OK,
            &IdentityPage {
                c: Chrome::new(&state, &visit, visit.t().identity_title, ""),
                note: None,
                csrf: csrf_for(&state, &visit, Binding::PreSession),
                flow_id: form.flow_id,
                s,
            },
        );
    }
    session_started(&api, &state, &visit, &answer).await
}

#[derive(Deserialize)]
struct IdentityForm {
    csrf: String,
    flow_id: String,
    id_number: String,
}

impl HasCsrf for IdentityForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn identity(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<IdentityForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Some(path) = flow_path(&form.flow_id, "identity") else {
        return flow_ended(&api, &state, &visit).await;
    };
    let body = json!({ "id_number": form.id_number });
    let answer = match api.call(&state, &visit, Call::post(path, &body)).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    session_started(&api, &state, &visit, &answer).await
}

/// After the last step: the session cookie and the start page, or the sign-in form again with
/// the API's answer (a wrong code ends the flow).
async fn session_started(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    answer: &crate::web::api::Answer,
) -> Response {
    if !answer.ok() {
        return sign_in_page(
            api,
            state,
            visit,
            Note::from_answer(visit.lang, answer),
            true,
            answer.status,
        )
        .await;
    }
    let session: Session = match answer.parse() {
        Ok(session) => session,
        Err(fault) => return page::fault(state, visit, fault),
    };
    let next = match session.level.as_str() {
        crate::auth::LEVEL_INITIAL_PASSWORD => visit.path("/account/password"),
        _ => visit.path("/"),
    };
    page::session_started(&next, &session.session_token)
}

#[derive(Deserialize)]
struct SignOutForm {
    csrf: String,
}

impl HasCsrf for SignOutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Ends the session on the server, then forgets the cookie.
async fn sign_out(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<SignOutForm>, FormRejection>,
) -> Response {
    if let Err(response) = check_form(&state, &visit, Binding::Session, form) {
        return *response;
    }
    let call = Call::post_empty("/v1/sign-out").session_of(&visit);
    if let Err(fault) = api.call(&state, &visit, call).await {
        return page::fault(&state, &visit, fault);
    }
    with_cookie(
        redirect(&visit.path("/sign-in")),
        Some(visit::clear_cookie(SESSION_COOKIE)),
    )
}
