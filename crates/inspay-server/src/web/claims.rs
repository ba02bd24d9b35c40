//! Claims in the browser (clause 5.6.2-d2): the customer's claims with their payouts, binding a
//! verified payout account (the account number sealed in the page, a step-up first), and
//! filing a claim. A browser holds no key of its own, so the claim document is signed by the
//! web client's application key (the API's `signed_with: application`), over the request's
//! idempotency key, and kept as evidence like every fund request.

use crate::state::AppState;
use crate::web::api::{Call, WebApi, WebFault};
use crate::web::home;
use crate::web::i18n::{Lang, Texts};
use crate::web::page::{
    self, Binding, Chrome, HasCsrf, Note, Sealing, check_form, csrf_for, read, render, sealing,
    with_cookie,
};
use crate::web::step_up;
use crate::web::visit::{self, Visit};
use askama::Template;
use axum::extract::State;
use axum::extract::rejection::FormRejection;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Form, Router};
use base64::Engine;
use inspay_kms::KeyPurpose;
use inspay_protocol::claims::ClaimDocument;
use serde::Deserialize;
use serde_json::json;

/// The step-up operation for a new payout account.
const ACCOUNT_OPERATION: &str = "payout-account-add";

/// The claims pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/claims", get(list))
        .route("/web/{lang}/claims/new", get(new_claim).post(file))
        .route(
            "/web/{lang}/payout-accounts/new",
            get(new_account).post(add_account),
        )
}

#[derive(Deserialize)]
struct Accounts {
    payout_accounts: Vec<AccountView>,
}

#[derive(Deserialize)]
struct AccountView {
    id: String,
    account: String,
}

#[derive(Deserialize)]
struct Claims {
    claims: Vec<ClaimView>,
}

#[derive(Deserialize)]
struct ClaimView {
    id: String,
    policy_id: String,
    claimed_fen: i64,
    incident_on: String,
    status: String,
    approved_fen: Option<i64>,
    payouts: Vec<PayoutView>,
}

#[derive(Deserialize)]
struct PayoutView {
    amount_fen: i64,
    status: String,
}

struct ClaimRow {
    id: String,
    policy_id: String,
    claimed: String,
    incident_on: String,
    approved: String,
    status: &'static str,
    tone: &'static str,
    payouts: Vec<PayoutRow>,
}

struct PayoutRow {
    amount: String,
    status: &'static str,
    tone: &'static str,
}

/// A claim's status in words and its tone.
pub fn claim_status(t: &'static Texts, status: &str) -> (&'static str, &'static str) {
    match status {
        "filed" => (t.claim_filed_status, "warn"),
        "awaiting_second_approval" => (t.claim_second_status, "warn"),
        "approved" => (t.claim_approved_status, "ok"),
        "rejected" => (t.claim_rejected_status, "bad"),
        "payout_pending" => (t.claim_payout_pending_status, "warn"),
        "paid" => (t.claim_paid_status, "ok"),
        _ => (t.status_other, ""),
    }
}

fn claim_row(lang: Lang, claim: ClaimView) -> ClaimRow {
    let t = lang.texts();
    let (status, tone) = claim_status(t, &claim.status);
    ClaimRow {
        id: claim.id,
        policy_id: claim.policy_id,
        claimed: lang.money(claim.claimed_fen),
        incident_on: claim.incident_on,
        approved: claim
            .approved_fen
            .map(|fen| lang.money(fen))
            .unwrap_or_default(),
        status,
        tone,
        payouts: claim
            .payouts
            .into_iter()
            .map(|payout| {
                let (status, tone) = home::status_words(t, &payout.status);
                PayoutRow {
                    amount: lang.money(payout.amount_fen),
                    status,
                    tone,
                }
            })
            .collect(),
    }
}

#[derive(Template)]
#[template(path = "web/claims.html")]
struct ClaimsPage {
    c: Chrome,
    note: Option<Note>,
    claims: Vec<ClaimRow>,
    accounts: Vec<AccountView>,
}

async fn list(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    claims_page(&api, &state, &visit, None).await
}

async fn claims_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
) -> Response {
    if visit.session.is_none() {
        return page::redirect(&visit.path("/sign-in"));
    }
    let claims: Claims = match read(api, state, visit, Call::get("/v1/me/claims")).await {
        Ok(claims) => claims,
        Err(response) => return *response,
    };
    let accounts: Accounts =
        match read(api, state, visit, Call::get("/v1/me/payout-accounts")).await {
            Ok(accounts) => accounts,
            Err(response) => return *response,
        };
    render(
        StatusCode::OK,
        &ClaimsPage {
            c: Chrome::new(state, visit, visit.t().claims_title, "claims"),
            note,
            claims: claims
                .claims
                .into_iter()
                .map(|claim| claim_row(visit.lang, claim))
                .collect(),
            accounts: accounts.payout_accounts,
        },
    )
}

#[derive(Template)]
#[template(path = "web/claim_new.html")]
struct NewClaimPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    idempotency_key: String,
    policies: Vec<String>,
    accounts: Vec<AccountView>,
}

#[derive(Deserialize)]
struct Policies {
    policies: Vec<PolicyId>,
}

#[derive(Deserialize)]
struct PolicyId {
    id: String,
    status: String,
}

async fn new_claim(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    new_claim_page(&api, &state, &visit, None, StatusCode::OK).await
}

async fn new_claim_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    if visit.session.is_none() {
        return page::redirect(&visit.path("/sign-in"));
    }
    let policies: Policies = match read(api, state, visit, Call::get("/v1/policies")).await {
        Ok(policies) => policies,
        Err(response) => return *response,
    };
    let accounts: Accounts =
        match read(api, state, visit, Call::get("/v1/me/payout-accounts")).await {
            Ok(accounts) => accounts,
            Err(response) => return *response,
        };
    let key = match visit::random_value() {
        Ok(key) => key,
        Err(error) => return page::fault(state, visit, WebFault(error.to_string())),
    };
    render(
        status,
        &NewClaimPage {
            c: Chrome::new(state, visit, visit.t().file_claim, "claims"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            idempotency_key: key,
            policies: policies
                .policies
                .into_iter()
                .filter(|policy| policy.status == "active")
                .map(|policy| policy.id)
                .collect(),
            accounts: accounts.payout_accounts,
        },
    )
}

#[derive(Deserialize)]
struct ClaimForm {
    csrf: String,
    idempotency_key: String,
    policy_id: String,
    claimed_yuan: String,
    incident_on: String,
    description: String,
    payout_account_id: String,
}

impl HasCsrf for ClaimForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Yuan as typed (`1200`, `1200.5`, `1200.50`) to fen; at most 999,999,999.99.
pub fn yuan_to_fen(text: &str) -> Option<i64> {
    let text = text.trim();
    let (whole, part) = match text.split_once('.') {
        Some((_, "")) => return None,
        Some(split) => split,
        None => (text, ""),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || whole.len() > 9 || part.len() > 2 || (!part.is_empty() && !digits(part)) {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let part: i64 = match part.len() {
        0 => 0,
        1 => part.parse::<i64>().ok()? * 10,
        _ => part.parse().ok()?,
    };
    Some(whole * 100 + part).filter(|fen| *fen > 0)
}

#[derive(Deserialize)]
struct Me {
    account_id: String,
}

async fn file(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<ClaimForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let Some(claimed_fen) = yuan_to_fen(&form.claimed_yuan) else {
        let note = Note::bad(
            crate::web::i18n::error_text(visit.lang, "INSPAY-REQ-003")
                .unwrap_or(visit.t().error_generic),
        );
        return new_claim_page(&api, &state, &visit, note, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let me: Me = match read(&api, &state, &visit, Call::get("/v1/me")).await {
        Ok(me) => me,
        Err(response) => return *response,
    };
    let document = ClaimDocument {
        policy_id: &form.policy_id,
        claimant: &me.account_id,
        claimed_fen,
        incident_on: &form.incident_on,
        description: &form.description,
        payout_account_id: &form.payout_account_id,
        idempotency_key: &form.idempotency_key,
    }
    .to_bytes();
    let signature = match state.keyring().sign(KeyPurpose::WebSigning, &document) {
        Ok(signature) => signature,
        Err(error) => return page::fault(&state, &visit, WebFault(error.to_string())),
    };
    let body = json!({
        "policy_id": form.policy_id,
        "claimed_fen": claimed_fen,
        "incident_on": form.incident_on,
        "description": form.description,
        "payout_account_id": form.payout_account_id,
        "signed_with": "application",
        "signature": base64::engine::general_purpose::STANDARD.encode(&signature.bytes),
    });
    let call = Call::post("/v1/claims", &body)
        .session_of(&visit)
        .idempotency_key(&form.idempotency_key);
    let answer = match api.call(&state, &visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    if !answer.ok() {
        let note = Note::from_answer(visit.lang, &answer);
        let status = if answer.status.is_success() {
            StatusCode::ACCEPTED
        } else {
            answer.status
        };
        return new_claim_page(&api, &state, &visit, note, status).await;
    }
    claims_page(&api, &state, &visit, Note::ok(visit.t().claim_filed)).await
}

#[derive(Template)]
#[template(path = "web/payout_account_new.html")]
struct NewAccountPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    s: Sealing,
}

async fn new_account(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    let note = step_up::ready_note(&visit, ACCOUNT_OPERATION);
    new_account_page(&api, &state, &visit, note, StatusCode::OK).await
}

async fn new_account_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    note: Option<Note>,
    status: StatusCode,
) -> Response {
    if visit.session.is_none() {
        return page::redirect(&visit.path("/sign-in"));
    }
    let s = match sealing(api, state, visit).await {
        Ok(s) => s,
        Err(fault) => return page::fault(state, visit, fault),
    };
    render(
        status,
        &NewAccountPage {
            c: Chrome::new(state, visit, visit.t().add_payout_account, "claims"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            s,
        },
    )
}

#[derive(Deserialize)]
struct AccountForm {
    csrf: String,
    account_number: String,
}

impl HasCsrf for AccountForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

async fn add_account(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<AccountForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let body = json!({ "account_number": form.account_number });
    let call =
        Call::post("/v1/me/payout-accounts", &body).idempotency_key(&match visit::random_value() {
            Ok(key) => key,
            Err(error) => return page::fault(&state, &visit, WebFault(error.to_string())),
        });
    let return_to = visit.path("/payout-accounts/new");
    let step_up::Enhanced { answer, spent } =
        match step_up::send_enhanced(&api, &state, &visit, ACCOUNT_OPERATION, &return_to, call)
            .await
        {
            Ok(sent) => sent,
            Err(response) => return *response,
        };
    let response = if answer.ok() {
        claims_page(&api, &state, &visit, Note::ok(visit.t().account_added)).await
    } else {
        let note = Note::from_answer(visit.lang, &answer);
        new_account_page(&api, &state, &visit, note, answer.status).await
    };
    with_cookie(response, spent)
}

#[cfg(test)]
mod tests {
    use super::yuan_to_fen;

    #[test]
    fn yuan_become_fen_exactly() {
        assert_eq!(yuan_to_fen("1200"), Some(120_000));
        assert_eq!(yuan_to_fen("1200.5"), Some(120_050));
        assert_eq!(yuan_to_fen(" 0.01 "), Some(1));
        assert_eq!(yuan_to_fen("999999999.99"), Some(99_999_999_999));
        for bad in [
            "",
            "0",
            "0.00",
            "1.234",
            "-5",
            "1e3",
            "1,000",
            "1000000000",
            ".5",
            "5.",
        ] {
            assert_eq!(yuan_to_fen(bad), None, "{bad}");
        }
    }
}
