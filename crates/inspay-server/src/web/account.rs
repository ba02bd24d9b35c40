//! Account and security in the browser: personal data masked, in full only after a fresh
//! step-up and only in that one answer (clause 5.2.2.2-c2); the password change (sealed, with
//! its step-up, or straight after signing in with an initial password, clause 5.2.4.2);
//! consents granted or withdrawn (clause 6.1.4); device keys removed; every session ended.

use crate::state::AppState;
use crate::web::api::{Call, WebApi};
use crate::web::home;
use crate::web::i18n::Lang;
use crate::web::page::{
    self, Binding, Chrome, Note, Posted, Sealing, check_form, csrf_for, read, redirect, render,
    sealing, with_cookie,
};
use crate::web::step_up;
use crate::web::visit::{self, SESSION_COOKIE, Visit};
use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;
use zeroize::Zeroizing;

const FULL_DISPLAY: &str = "full-display";
const PASSWORD_CHANGE: &str = "password-change";
const TRANSACTION_PASSWORD: &str = "transaction-password";

/// The account pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/account", get(account))
        .route("/web/{lang}/account/full-display", post(full_display))
        .route("/web/{lang}/account/consents", post(consents))
        .route("/web/{lang}/account/devices/remove", post(remove_device))
        .route("/web/{lang}/account/sign-out-all", post(sign_out_all))
        .route("/web/{lang}/account/sessions/end", post(end_session))
        .route(
            "/web/{lang}/account/password",
            get(password_form).post(change_password),
        )
        .route(
            "/web/{lang}/account/transaction-password",
            get(transaction_password_form).post(set_transaction_password),
        )
}

#[derive(Deserialize)]
struct Profile {
    legal_name: Option<String>,
    mobile: Option<String>,
    id_number: Option<String>,
}

#[derive(Deserialize, Default)]
struct FullValues {
    legal_name: Option<Zeroizing<String>>,
    mobile: Option<Zeroizing<String>>,
    id_number: Option<Zeroizing<String>>,
}

#[derive(Deserialize)]
struct Device {
    key_id: String,
    kind: String,
    label: String,
    live: bool,
}

#[derive(Deserialize)]
struct Consents {
    notice_version: String,
    choices: BTreeMap<String, bool>,
}

#[derive(Deserialize)]
struct Notice {
    purposes: Vec<NoticePurpose>,
}

#[derive(Deserialize)]
struct NoticePurpose {
    id: String,
    required: bool,
    description_zh: String,
    description_en: String,
}

#[derive(Deserialize)]
struct Sessions {
    sessions: Vec<SessionView>,
}

#[derive(Deserialize)]
struct SessionView {
    handle: String,
    created_at_ms: i64,
    last_seen_at_ms: i64,
    current: bool,
}

struct SessionRow {
    handle: String,
    started: String,
    last_used: String,
    current: bool,
}

struct PurposeRow {
    id: String,
    required: bool,
    granted: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "web/account.html")]
struct AccountPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    full: bool,
    legal_name: String,
    mobile: String,
    id_number: String,
    devices: Vec<Device>,
    sessions: Vec<SessionRow>,
    notice_version: String,
    purposes: Vec<PurposeRow>,
}

async fn account(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    account_page(&api, &state, &visit, None, None).await
}

async fn account_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    full: Option<FullValues>,
    note: Option<Note>,
) -> Response {
    if visit.session.is_none() {
        return redirect(&visit.path("/sign-in"));
    }
    let profile: Profile = match read(api, state, visit, Call::get("/v1/me")).await {
        Ok(profile) => profile,
        Err(response) => return *response,
    };
    let devices: Vec<Device> = match read(api, state, visit, Call::get("/v1/me/devices")).await {
        Ok(devices) => devices,
        Err(response) => return *response,
    };
    let sessions: Sessions = match read(api, state, visit, Call::get("/v1/me/sessions")).await {
        Ok(sessions) => sessions,
        Err(response) => return *response,
    };
    let consents: Consents = match read(api, state, visit, Call::get("/v1/me/consents")).await {
        Ok(consents) => consents,
        Err(response) => return *response,
    };
    let notice: Notice = match read(api, state, visit, Call::get("/v1/privacy-notice")).await {
        Ok(notice) => notice,
        Err(response) => return *response,
    };
    let shown = full.is_some();
    let full = full.unwrap_or_default();
    let pick = |full: Option<Zeroizing<String>>, masked: Option<String>| {
        full.map(|value| value.to_string())
            .or(masked)
            .unwrap_or_default()
    };
    render(
        StatusCode::OK,
        &AccountPage {
            c: Chrome::new(state, visit, visit.t().account_title, "account"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            full: shown,
            legal_name: pick(full.legal_name, profile.legal_name),
            mobile: pick(full.mobile, profile.mobile),
            id_number: pick(full.id_number, profile.id_number),
            devices: devices.into_iter().filter(|device| device.live).collect(),
            sessions: sessions
                .sessions
                .into_iter()
                .map(|session| SessionRow {
                    handle: session.handle,
                    started: crate::web::console::time_text(session.created_at_ms),
                    last_used: crate::web::console::time_text(session.last_seen_at_ms),
                    current: session.current,
                })
                .collect(),
            purposes: notice
                .purposes
                .into_iter()
                .map(|purpose| PurposeRow {
                    granted: consents.choices.get(&purpose.id).copied().unwrap_or(false),
                    description: match visit.lang {
                        Lang::Zh => purpose.description_zh,
                        Lang::En => purpose.description_en,
                    },
                    id: purpose.id,
                    required: purpose.required,
                })
                .collect(),
            notice_version: consents.notice_version,
        },
    )
}

/// The personal data in full, once: a step-up first if there is no proof.
async fn full_display(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    if let Err(response) = check_form(&state, &visit, Binding::Session, form) {
        return *response;
    }
    let body = json!({ "fields": ["legal_name", "mobile", "id_number"] });
    let call = Call::post("/v1/me/full-display", &body);
    let return_to = visit.path("/account");
    let step_up::Enhanced { answer, spent } =
        match step_up::send_enhanced(&api, &state, &visit, FULL_DISPLAY, &return_to, call).await {
            Ok(sent) => sent,
            Err(response) => return *response,
        };
    let response = if answer.ok() {
        match answer.parse::<FullValues>() {
            Ok(full) => account_page(&api, &state, &visit, Some(full), None).await,
            Err(fault) => page::fault(&state, &visit, fault),
        }
    } else {
        page::refused(&state, &visit, &answer)
    };
    with_cookie(response, spent)
}

async fn consents(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let notice: Notice = match read(&api, &state, &visit, Call::get("/v1/privacy-notice")).await {
        Ok(notice) => notice,
        Err(response) => return *response,
    };
    let choices: BTreeMap<String, bool> = notice
        .purposes
        .iter()
        .map(|purpose| {
            let name = format!("purpose_{}", purpose.id);
            (purpose.id.clone(), posted.get(&name) == "yes")
        })
        .collect();
    let body = json!({ "notice_version": posted.get("notice_version"), "choices": choices });
    let call = Call::with_json(Method::PUT, "/v1/me/consents", &body).session_of(&visit);
    let answer = match api.call(&state, &visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    let note = if answer.ok() {
        Note::ok(visit.t().consents_saved)
    } else {
        Note::from_answer(visit.lang, &answer)
    };
    account_page(&api, &state, &visit, None, note).await
}

async fn remove_device(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let key_id = posted.get("key_id");
    if key_id.is_empty()
        || key_id.len() > 64
        || !key_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    }
    let call = Call::delete(format!("/v1/me/devices/{key_id}")).session_of(&visit);
    let answer = match api.call(&state, &visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    let note = if answer.status.is_success() {
        Note::ok(visit.t().device_removed)
    } else {
        Note::from_answer(visit.lang, &answer)
    };
    account_page(&api, &state, &visit, None, note).await
}

/// Ends one other session of the account (a device left signed in).
async fn end_session(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let handle = posted.get("handle");
    if handle.len() != 32 || !handle.bytes().all(|b| b.is_ascii_hexdigit()) {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    }
    let call = Call::delete(format!("/v1/me/sessions/{handle}")).session_of(&visit);
    let answer = match api.call(&state, &visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    let note = if answer.status.is_success() {
        Note::ok(visit.t().session_ended)
    } else {
        Note::from_answer(visit.lang, &answer)
    };
    account_page(&api, &state, &visit, None, note).await
}

async fn sign_out_all(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    if let Err(response) = check_form(&state, &visit, Binding::Session, form) {
        return *response;
    }
    let call = Call::post_empty("/v1/sign-out/all").session_of(&visit);
    if let Err(fault) = api.call(&state, &visit, call).await {
        return page::fault(&state, &visit, fault);
    }
    with_cookie(
        redirect(&visit.path("/sign-in")),
        Some(visit::clear_cookie(SESSION_COOKIE)),
    )
}

#[derive(Template)]
#[template(path = "web/password.html")]
struct PasswordPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
}

async fn password_form(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    let note = step_up::ready_note(&visit, PASSWORD_CHANGE);
    password_page(&api, &state, &visit, note, StatusCode::OK).await
}

async fn password_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    if visit.session.is_none() {
        return redirect(&visit.path("/sign-in"));
    }
    let s = match sealing(api, state, visit).await {
        Ok(s) => s,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &PasswordPage {
            c: Chrome::new(state, visit, visit.t().change_password, "account"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            s,
        },
    )
}

async fn change_password(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let body = json!({
        "current_password": posted.get("current_password"),
        "new_password": posted.get("new_password"),
    });
    let call = Call::post("/v1/me/password", &body);
    let return_to = visit.path("/account/password");
    let step_up::Enhanced { answer, spent } =
        match step_up::send_enhanced(&api, &state, &visit, PASSWORD_CHANGE, &return_to, call).await
        {
            Ok(sent) => sent,
            Err(response) => return *response,
        };
    if answer.ok() {
        // Changing the password ends the sessions: sign in again with the new one, on the
        // staff sign-in page for a staff member (who signed in there with a key).
        let sign_in = if visit.staff_key.is_some() {
            "/staff/sign-in"
        } else {
            "/sign-in"
        };
        let response = with_cookie(
            redirect(&visit.path(sign_in)),
            Some(visit::clear_cookie(SESSION_COOKIE)),
        );
        return with_cookie(response, spent);
    }
    let note = Note::from_answer(visit.lang, &answer);
    with_cookie(
        password_page(&api, &state, &visit, note, answer.status).await,
        spent,
    )
}

#[derive(Template)]
#[template(path = "web/transaction_password.html")]
struct TransactionPasswordPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
}

async fn transaction_password_form(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    let note = step_up::ready_note(&visit, TRANSACTION_PASSWORD);
    transaction_password_page(&api, &state, &visit, note, StatusCode::OK).await
}

async fn transaction_password_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    if visit.session.is_none() {
        return redirect(&visit.path("/sign-in"));
    }
    let s = match sealing(api, state, visit).await {
        Ok(s) => s,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &TransactionPasswordPage {
            c: Chrome::new(state, visit, visit.t().transaction_password, "account"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            s,
        },
    )
}

/// Sets (first time: no current one) or changes the transaction password, after a step-up.
async fn set_transaction_password(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::Session, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let mut body = json!({ "new": posted.get("new") });
    if !posted.get("current").is_empty() {
        body["current"] = json!(posted.get("current"));
    }
    let call = Call::with_json(Method::PUT, "/v1/me/transaction-password", &body);
    let return_to = visit.path("/account/transaction-password");
    let step_up::Enhanced { answer, spent } =
        match step_up::send_enhanced(&api, &state, &visit, TRANSACTION_PASSWORD, &return_to, call)
            .await
        {
            Ok(sent) => sent,
            Err(response) => return *response,
        };
    let response = if answer.ok() {
        account_page(
            &api,
            &state,
            &visit,
            None,
            Note::ok(visit.t().transaction_password_saved),
        )
        .await
    } else {
        let note = Note::from_answer(visit.lang, &answer);
        transaction_password_page(&api, &state, &visit, note, answer.status).await
    };
    with_cookie(response, spent)
}
