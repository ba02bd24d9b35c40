//! The step-up in the browser (clause 5.1-b): an operation at the enhanced level asks for a
//! fresh text-message code (after a CAPTCHA). The proof the API returns is kept in a
//! short-lived HttpOnly cookie for that operation only, and the visitor goes back to the page
//! they came from to send the operation again with it.

use crate::state::AppState;
use crate::web::api::{Answer, Call, WebApi};
use crate::web::home;
use crate::web::page::{
    self, Binding, Captcha, Chrome, HasCsrf, Note, captcha, captcha_reply, check_form, csrf_for,
    local_page, redirect, render, with_cookie,
};
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::{HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::post;
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;
use zeroize::Zeroizing;

/// The step-up pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/step-up/send", post(send))
        .route("/web/{lang}/step-up/verify", post(verify))
}

#[derive(Template)]
#[template(path = "web/step_up.html")]
struct StepUpPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    operation: String,
    return_to: String,
    captcha: Option<Captcha>,
    sent_to: String,
}

/// What an enhanced operation's call came to.
pub struct Enhanced {
    /// The API's answer.
    pub answer: Answer,
    /// The `Set-Cookie` that drops the proof, when one was sent (a proof is single-use).
    pub spent: Option<HeaderValue>,
}

/// Sends an operation at the enhanced level with the proof kept for it, if any. When the API
/// asks for a step-up, the step-up page (coming back to `return_to`) is the answer; when the
/// session is gone, the sign-in page; otherwise the API's answer.
pub async fn send_enhanced(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    operation: &str,
    return_to: &str,
    call: Call,
) -> Result<Enhanced, Box<Response>> {
    let proof = visit.step_up_for(operation);
    let answer = api
        .call(state, visit, call.session_of(visit).step_up(proof))
        .await
        .map_err(|fault| Box::new(page::fault(state, visit, fault)))?;
    if let Some(response) = home::session_gone(visit, &answer) {
        return Err(Box::new(response));
    }
    if answer.code() == Some("INSPAY-AUTH-003") {
        return Err(Box::new(
            start(api, state, visit, operation, return_to, None).await,
        ));
    }
    Ok(Enhanced {
        answer,
        spent: proof.map(|_| visit::clear_cookie(visit::STEP_UP_COOKIE)),
    })
}

/// The note of a form whose step-up is done: a proof for its operation is waiting.
pub fn ready_note(visit: &Visit, operation: &str) -> Option<Note> {
    visit
        .step_up_for(operation)
        .and_then(|_| Note::ok(visit.t().step_up_done))
}

/// The operations a page may ask a step-up for.
fn known_operation(name: &str) -> bool {
    crate::auth::Operation::parse(name).is_some()
}

/// The first step-up page: a CAPTCHA, then the code is sent.
pub async fn start(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    operation: &str,
    return_to: &str,
    note: Option<Note>,
) -> Response {
    let captcha = match captcha(api, state, visit).await {
        Ok(captcha) => captcha,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        StatusCode::FORBIDDEN,
        &StepUpPage {
            c: Chrome::new(state, visit, visit.t().step_up_title, ""),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            operation: operation.to_string(),
            return_to: return_to.to_string(),
            captcha: Some(captcha),
            sent_to: String::new(),
        },
    )
}

#[derive(Deserialize)]
struct SendForm {
    csrf: String,
    operation: String,
    return_to: String,
    captcha_id: String,
    captcha_answer: String,
}

impl HasCsrf for SendForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct Sent {
    sent_to: String,
}

async fn send(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<SendForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    if !known_operation(&form.operation) || !local_page(&form.return_to) {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    }
    let body = json!({
        "operation": form.operation,
        "method": "sms-code",
        "captcha": captcha_reply(&form.captcha_id, &form.captcha_answer),
    });
    let answer = match api
        .call(
            &state,
            &visit,
            Call::post("/v1/step-up", &body).session_of(&visit),
        )
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        return start(&api, &state, &visit, &form.operation, &form.return_to, note).await;
    }
    let sent: Sent = match answer.parse() {
        Ok(sent) => sent,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    render(
        StatusCode::OK,
        &StepUpPage {
            c: Chrome::new(&state, &visit, visit.t().step_up_title, ""),
            note: None,
            csrf: csrf_for(&state, &visit, Binding::Session),
            operation: form.operation,
            return_to: form.return_to,
            captcha: None,
            sent_to: sent.sent_to,
        },
    )
}

#[derive(Deserialize)]
struct VerifyForm {
    csrf: String,
    operation: String,
    return_to: String,
    code: Zeroizing<String>,
}

impl HasCsrf for VerifyForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct Proof {
    step_up_token: Zeroizing<String>,
    expires_in_s: i64,
}

async fn verify(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<VerifyForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    if !known_operation(&form.operation) || !local_page(&form.return_to) {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    }
    let body = json!({ "operation": form.operation, "code": form.code.as_str() });
    let answer = match api
        .call(
            &state,
            &visit,
            Call::post("/v1/step-up/verify", &body).session_of(&visit),
        )
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        return start(&api, &state, &visit, &form.operation, &form.return_to, note).await;
    }
    let proof: Proof = match answer.parse() {
        Ok(proof) => proof,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    with_cookie(
        redirect(&form.return_to),
        visit::set_step_up_cookie(&form.operation, &proof.step_up_token, proof.expires_in_s),
    )
}
