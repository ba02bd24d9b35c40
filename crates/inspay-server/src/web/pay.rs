//! Paying a premium in the browser (clauses 5.1-b, 5.3.3.4, 5.2.2.1-c/d): a saved card or a
//! new one (card number, expiry and security code sealed in the page), the API's step-up when
//! the payment needs one, and the outcome on the start page. The form carries its own
//! idempotency key, so the same form sent twice is one payment; a form sealed again (after a
//! Back) is refused by its used nonce.

use crate::state::AppState;
use crate::web::api::{Call, WebApi};
use crate::web::home;
use crate::web::page::{
    self, Binding, Chrome, HasCsrf, Note, Sealing, check_form, csrf_for, render, sealing,
    with_cookie,
};
use crate::web::step_up;
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;

/// The operation name of a premium payment's step-up.
const OPERATION: &str = "premium-payment";

/// The payment page.
pub fn router() -> Router<AppState> {
    Router::new().route(
        "/web/{lang}/policies/{policy_id}/premiums/{number}/pay",
        get(form).post(pay),
    )
}

#[derive(Template)]
#[template(path = "web/pay.html")]
struct PayPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
    action: String,
    idempotency_key: String,
    policy_id: String,
    number: u32,
    amount: String,
    methods: Vec<MethodRow>,
}

struct MethodRow {
    id: String,
    label: String,
}

#[derive(Deserialize)]
struct Methods {
    payment_methods: Vec<Method>,
}

#[derive(Deserialize)]
struct Method {
    id: String,
    card: String,
}

#[derive(Deserialize)]
struct Policy {
    premiums: Vec<Premium>,
}

#[derive(Deserialize)]
struct Premium {
    number: u32,
    amount_fen: i64,
}

/// The policy id and premium number of the path, checked before they go into an API path.
fn target(policy_id: &str, number: &str) -> Option<(String, u32)> {
    let id = uuid::Uuid::parse_str(policy_id).ok()?;
    let number = number
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=1200).contains(n))?;
    Some((id.hyphenated().to_string(), number))
}

async fn form(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, policy_id, number)): Path<(String, String, String)>,
) -> Response {
    let Some((policy_id, number)) = target(&policy_id, &number) else {
        return page::not_found(&state, &visit);
    };
    let note = step_up::ready_note(&visit, OPERATION);
    pay_page(
        &api,
        &state,
        &visit,
        &policy_id,
        number,
        note,
        StatusCode::OK,
    )
    .await
}

async fn pay_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    policy_id: &str,
    number: u32,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    if visit.session.is_none() {
        return page::redirect(&visit.path("/sign-in"));
    }
    let policy = match api
        .call(
            state,
            visit,
            Call::get(format!("/v1/policies/{policy_id}")).session_of(visit),
        )
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(state, visit, fault),
    };
    if let Some(response) = home::session_gone(visit, &policy) {
        return response;
    }
    if !policy.ok() {
        return page::refused(state, visit, &policy);
    }
    let methods = match api
        .call(
            state,
            visit,
            Call::get("/v1/me/payment-methods").session_of(visit),
        )
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(state, visit, fault),
    };
    let (policy, methods): (Policy, Methods) = match (policy.parse(), methods.parse()) {
        (Ok(policy), Ok(methods)) => (policy, methods),
        (Err(fault), _) | (_, Err(fault)) => return page::fault(state, visit, fault),
    };
    let Some(premium) = policy
        .premiums
        .iter()
        .find(|premium| premium.number == number)
    else {
        return page::not_found(state, visit);
    };
    let (s, key) = match (sealing(api, state, visit).await, visit::random_value()) {
        (Ok(s), Ok(key)) => (s, key),
        (Err(fault), _) => return page::fault(state, visit, fault),
        (_, Err(error)) => {
            return page::fault(state, visit, crate::web::api::WebFault(error.to_string()));
        }
    };
    let t = visit.t();
    render(
        status,
        &PayPage {
            c: Chrome::new(state, visit, t.pay_title, "home"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            s,
            action: visit.path(&format!("/policies/{policy_id}/premiums/{number}/pay")),
            idempotency_key: key,
            policy_id: policy_id.to_string(),
            number,
            amount: visit.lang.money(premium.amount_fen),
            methods: methods
                .payment_methods
                .into_iter()
                .map(|method| MethodRow {
                    id: method.id,
                    label: method.card,
                })
                .collect(),
        },
    )
}

#[derive(Deserialize)]
struct PayForm {
    csrf: String,
    idempotency_key: String,
    payment_method_id: String,
    #[serde(default)]
    card_number: String,
    #[serde(default)]
    expiry: String,
    #[serde(default)]
    cvv: String,
}

impl HasCsrf for PayForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

#[derive(Deserialize)]
struct PaymentView {
    status: String,
}

async fn pay(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, policy_id, number)): Path<(String, String, String)>,
    form: Result<Form<PayForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Some((policy_id, number)) = target(&policy_id, &number) else {
        return page::not_found(&state, &visit);
    };
    let body = if form.payment_method_id == "new" {
        json!({ "card_number": form.card_number, "expiry": form.expiry, "cvv": form.cvv })
    } else {
        json!({ "payment_method_id": form.payment_method_id })
    };
    let call = Call::post(
        format!("/v1/policies/{policy_id}/premiums/{number}/pay"),
        &body,
    )
    .idempotency_key(&form.idempotency_key);
    let return_to = visit.path(&format!("/policies/{policy_id}/premiums/{number}/pay"));
    let step_up::Enhanced { answer, spent } =
        match step_up::send_enhanced(&api, &state, &visit, OPERATION, &return_to, call).await {
            Ok(sent) => sent,
            Err(response) => return *response,
        };
    let response = if answer.ok() {
        let note = match answer.parse::<PaymentView>() {
            Ok(payment) if payment.status == "succeeded" => Note::ok(visit.t().paid),
            Ok(payment) if payment.status == "pending" => Note::warn(visit.t().pay_pending),
            Ok(_) => Note::bad(
                crate::web::i18n::error_text(visit.lang, "INSPAY-PAY-004")
                    .unwrap_or(visit.t().error_generic),
            ),
            Err(fault) => return page::fault(&state, &visit, fault),
        };
        home::home(&api, &state, &visit, note).await
    } else {
        let note = Note::from_answer(visit.lang, &answer);
        let status = if answer.status.is_success() {
            StatusCode::ACCEPTED
        } else {
            answer.status
        };
        pay_page(&api, &state, &visit, &policy_id, number, note, status).await
    };
    with_cookie(response, spent)
}
