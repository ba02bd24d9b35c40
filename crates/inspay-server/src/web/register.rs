//! Registration in the browser (clauses 6.1.3, 6.1.4, 5.2.1.1): the privacy notice in plain
//! language with each optional purpose as its own unticked box, the mobile number sealed in the
//! page and a CAPTCHA before any code is sent (nothing is collected before the answer to the
//! notice), then the code, name, ID number and password (sealed) on the second page. The API
//! records the answer with the new account (`/v1/registration/sms`, `/v1/registration`).

use crate::state::AppState;
use crate::web::api::{Call, WebApi};
use crate::web::i18n::Lang;
use crate::web::page::{
    self, Binding, Captcha, Chrome, Note, Posted, Sealing, captcha, captcha_reply, check_form,
    csrf_for, render, sealing, with_cookie,
};
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;
use std::collections::BTreeMap;

/// The registration pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/register", get(notice_page).post(request_code))
        .route("/web/{lang}/register/details", post(register))
}

#[derive(Deserialize)]
struct Notice {
    version: String,
    text: String,
    purposes: Vec<NoticePurpose>,
}

#[derive(Deserialize)]
struct NoticePurpose {
    id: String,
    required: bool,
    description_zh: String,
    description_en: String,
}

/// A purpose as the page shows it.
struct PurposeRow {
    id: String,
    required: bool,
    description: String,
}

#[derive(Template)]
#[template(path = "web/register.html")]
struct NoticePage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
    captcha: Captcha,
    notice_version: String,
    notice_text: String,
    purposes: Vec<PurposeRow>,
}

#[derive(Template)]
#[template(path = "web/register_details.html")]
struct DetailsPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
    registration_id: String,
    notice_version: String,
    choices: Vec<(String, bool)>,
}

async fn notice(api: &WebApi, state: &AppState, visit: &Visit) -> Result<Notice, Box<Response>> {
    let answer = api
        .call(state, visit, Call::get("/v1/privacy-notice"))
        .await
        .map_err(|fault| Box::new(page::fault(state, visit, fault)))?;
    if !answer.ok() {
        return Err(Box::new(page::refused(state, visit, &answer)));
    }
    answer
        .parse()
        .map_err(|fault| Box::new(page::fault(state, visit, fault)))
}

async fn notice_page(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    mut visit: Visit,
) -> Response {
    let cookie = visit::ensure_pre(&mut visit);
    let response = show_notice(&api, &state, &visit, None, StatusCode::OK).await;
    with_cookie(response, cookie)
}

async fn show_notice(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    let notice = match notice(api, state, visit).await {
        Ok(notice) => notice,
        Err(response) => return *response,
    };
    let (s, captcha) = match (
        sealing(api, state, visit).await,
        captcha(api, state, visit).await,
    ) {
        (Ok(s), Ok(captcha)) => (s, captcha),
        (Err(fault), _) | (_, Err(fault)) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &NoticePage {
            c: Chrome::new(state, visit, visit.t().register_title, ""),
            note,
            csrf: csrf_for(state, visit, Binding::PreSession),
            s,
            captcha,
            notice_version: notice.version,
            notice_text: notice.text,
            purposes: notice
                .purposes
                .into_iter()
                .map(|purpose| PurposeRow {
                    description: match visit.lang {
                        Lang::Zh => purpose.description_zh,
                        Lang::En => purpose.description_en,
                    },
                    id: purpose.id,
                    required: purpose.required,
                })
                .collect(),
        },
    )
}

/// The answer to every purpose of the notice: the required ones by the one box, each
/// optional one by its own (unticked unless the person ticked it).
fn choices(notice: &Notice, posted: &Posted, from_boxes: bool) -> BTreeMap<String, bool> {
    notice
        .purposes
        .iter()
        .map(|purpose| {
            let name = format!("purpose_{}", purpose.id);
            let granted = if from_boxes && purpose.required {
                posted.get("agree_required") == "yes"
            } else {
                posted.get(&name) == "yes"
            };
            (purpose.id.clone(), granted)
        })
        .collect()
}

#[derive(Deserialize)]
struct CodeSent {
    id: String,
}

async fn request_code(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let notice = match notice(&api, &state, &visit).await {
        Ok(notice) => notice,
        Err(response) => return *response,
    };
    let choices = choices(&notice, &posted, true);
    let body = json!({
        "mobile": posted.get("mobile"),
        "captcha": captcha_reply(posted.get("captcha_id"), posted.get("captcha_answer")),
        "consent": { "notice_version": posted.get("notice_version"), "choices": choices },
    });
    let answer = match api
        .call(&state, &visit, Call::post("/v1/registration/sms", &body))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        return show_notice(&api, &state, &visit, note, answer.status).await;
    }
    let sent: CodeSent = match answer.parse() {
        Ok(sent) => sent,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    details_page(
        &api,
        &state,
        &visit,
        sent.id,
        posted.get("notice_version").to_string(),
        choices.into_iter().collect(),
        Note::ok(visit.t().code_sent),
        StatusCode::OK,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn details_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    registration_id: String,
    notice_version: String,
    choices: Vec<(String, bool)>,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    let s = match sealing(api, state, visit).await {
        Ok(s) => s,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &DetailsPage {
            c: Chrome::new(state, visit, visit.t().register_details, ""),
            note,
            csrf: csrf_for(state, visit, Binding::PreSession),
            s,
            registration_id,
            notice_version,
            choices,
        },
    )
}

#[derive(Deserialize)]
struct Registered {
    session_token: zeroize::Zeroizing<String>,
}

async fn register(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<Posted>, FormRejection>,
) -> Response {
    let posted = match check_form(&state, &visit, Binding::PreSession, form) {
        Ok(posted) => posted,
        Err(response) => return *response,
    };
    let notice = match notice(&api, &state, &visit).await {
        Ok(notice) => notice,
        Err(response) => return *response,
    };
    let choices = choices(&notice, &posted, false);
    let registration_id = posted.get("registration_id");
    let body = json!({
        "registration_id": registration_id,
        "code": posted.get("code"),
        "mobile": posted.get("mobile"),
        "legal_name": posted.get("legal_name"),
        "id_number": posted.get("id_number"),
        "password": posted.get("password"),
        "consent": { "notice_version": posted.get("notice_version"), "choices": choices },
    });
    let answer = match api
        .call(&state, &visit, Call::post("/v1/registration", &body))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        return details_page(
            &api,
            &state,
            &visit,
            registration_id.to_string(),
            posted.get("notice_version").to_string(),
            choices.into_iter().collect(),
            note,
            answer.status,
        )
        .await;
    }
    let registered: Registered = match answer.parse() {
        Ok(registered) => registered,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    page::session_started(&visit.path("/"), &registered.session_token)
}
