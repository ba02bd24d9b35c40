//! The customer's start page: their policies, each with its premium schedule (due and paid)
//! and its payments, cards masked (clause 5.2.2.2: only masked values ever reach the page).

use crate::state::AppState;
use crate::web::api::{Answer, Call, WebApi};
use crate::web::i18n::{Lang, Texts};
use crate::web::page::{self, Chrome, Note, redirect, render, with_cookie};
use crate::web::visit::{self, SESSION_COOKIE, Visit};
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Router};
use serde::Deserialize;

/// The start pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { redirect("/web/zh/") }))
        .route("/web", get(|| async { redirect("/web/zh/") }))
        .route("/web/", get(|| async { redirect("/web/zh/") }))
        .route("/web/{lang}", get(start))
        .route("/web/{lang}/", get(start))
}

/// Whether the visitor's session cookie names a live session.
pub async fn signed_in(api: &WebApi, state: &AppState, visit: &Visit) -> bool {
    let call = Call::get("/v1/session").session_of(visit);
    api.call(state, visit, call)
        .await
        .is_ok_and(|answer| answer.ok())
}

/// What a signed-in page does when the API says the session is gone: forget the cookie and
/// go to the sign-in form. `None` when the answer is not about the session.
pub fn session_gone(visit: &Visit, answer: &Answer) -> Option<Response> {
    match answer.code() {
        Some("INSPAY-AUTH-002") => Some(with_cookie(
            redirect(&visit.path("/sign-in")),
            Some(visit::clear_cookie(SESSION_COOKIE)),
        )),
        Some("INSPAY-AUTH-004") => Some(redirect(&visit.path("/account/password"))),
        _ => None,
    }
}

#[derive(Deserialize)]
struct Profile {
    legal_name: Option<String>,
}

#[derive(Deserialize)]
struct Policies {
    policies: Vec<PolicyView>,
}

#[derive(Deserialize)]
struct PolicyView {
    id: String,
    status: String,
    start_on: String,
    end_on: String,
    cover_fen: i64,
    premium_fen: i64,
    premiums: Vec<InstalmentView>,
    payments: Vec<PaymentView>,
}

#[derive(Deserialize)]
struct InstalmentView {
    number: u32,
    due_on: String,
    amount_fen: i64,
    status: String,
}

#[derive(Deserialize)]
struct PaymentView {
    premium_number: u32,
    amount_fen: i64,
    status: String,
    card: Option<String>,
}

/// A policy as the page shows it.
pub struct PolicyRow {
    /// Its id.
    pub id: String,
    /// Its status, in words.
    pub status: &'static str,
    /// `ok`, `warn` or `bad`.
    pub tone: &'static str,
    /// Period of cover.
    pub period: String,
    /// Cover.
    pub cover: String,
    /// Premium per instalment.
    pub premium: String,
    /// The schedule.
    pub premiums: Vec<InstalmentRow>,
    /// The payments.
    pub payments: Vec<PaymentRow>,
}

/// One premium of the schedule.
pub struct InstalmentRow {
    /// Its number.
    pub number: u32,
    /// Due date.
    pub due_on: String,
    /// Amount.
    pub amount: String,
    /// Status in words.
    pub status: &'static str,
    /// `ok`, `warn` or `bad`.
    pub tone: &'static str,
    /// Where to pay it, when due.
    pub pay_path: Option<String>,
}

/// One payment.
pub struct PaymentRow {
    /// The premium it paid.
    pub number: u32,
    /// Amount.
    pub amount: String,
    /// Status in words.
    pub status: &'static str,
    /// `ok`, `warn` or `bad`.
    pub tone: &'static str,
    /// The card, masked.
    pub card: String,
}

#[derive(Template)]
#[template(path = "web/home.html")]
struct HomePage {
    c: Chrome,
    note: Option<Note>,
    name: String,
    policies: Vec<PolicyRow>,
}

/// A status in words and its tone.
pub fn status_words(t: &'static Texts, status: &str) -> (&'static str, &'static str) {
    match status {
        "due" => (t.status_due, "warn"),
        "paid" => (t.status_paid, "ok"),
        "pending" => (t.status_pending, "warn"),
        "succeeded" => (t.status_succeeded, "ok"),
        "failed" => (t.status_failed, "bad"),
        "active" => (t.status_active, "ok"),
        "applied" => (t.status_proposed, "warn"),
        "lapsed" => (t.status_lapsed, "bad"),
        "cancelled" => (t.status_cancelled, ""),
        "expired" => (t.status_expired, ""),
        _ => (t.status_other, ""),
    }
}

fn policy_row(lang: Lang, policy: PolicyView) -> PolicyRow {
    let t = lang.texts();
    let (status, tone) = status_words(t, &policy.status);
    let payable = matches!(policy.status.as_str(), "applied" | "active" | "lapsed");
    let first_due = policy
        .premiums
        .iter()
        .find(|premium| premium.status == "due")
        .map(|premium| premium.number);
    PolicyRow {
        status,
        tone,
        period: format!("{} – {}", policy.start_on, policy.end_on),
        cover: lang.money(policy.cover_fen),
        premium: lang.money(policy.premium_fen),
        premiums: policy
            .premiums
            .into_iter()
            .map(|premium| {
                let (status, tone) = status_words(t, &premium.status);
                InstalmentRow {
                    pay_path: (payable && first_due == Some(premium.number)).then(|| {
                        format!(
                            "/web/{}/policies/{}/premiums/{}/pay",
                            lang.code(),
                            policy.id,
                            premium.number
                        )
                    }),
                    number: premium.number,
                    due_on: premium.due_on,
                    amount: lang.money(premium.amount_fen),
                    status,
                    tone,
                }
            })
            .collect(),
        payments: policy
            .payments
            .into_iter()
            .map(|payment| {
                let (status, tone) = status_words(t, &payment.status);
                PaymentRow {
                    number: payment.premium_number,
                    amount: lang.money(payment.amount_fen),
                    status,
                    tone,
                    card: payment.card.unwrap_or_default(),
                }
            })
            .collect(),
        id: policy.id,
    }
}

/// The start page: the policies when signed in, else the sign-in form.
async fn start(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
) -> Response {
    if Lang::from_path(&format!("{}/", visit.path)).is_none() {
        return redirect("/web/zh/");
    }
    if visit.session.is_none() {
        return redirect(&visit.path("/sign-in"));
    }
    home(&api, &state, &visit, None).await
}

/// The start page with a message at the top (after a payment, say).
pub async fn home(api: &WebApi, state: &AppState, visit: &Visit, note: Option<Note>) -> Response {
    let me = match api
        .call(state, visit, Call::get("/v1/me").session_of(visit))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(state, visit, fault),
    };
    if let Some(response) = session_gone(visit, &me) {
        return response;
    }
    if !me.ok() {
        return page::refused(state, visit, &me);
    }
    let policies = match api
        .call(state, visit, Call::get("/v1/policies").session_of(visit))
        .await
    {
        Ok(answer) => answer,
        Err(fault) => return page::fault(state, visit, fault),
    };
    // Staff have no policies of their own: their start page is the console.
    if policies.code() == Some("INSPAY-AUTH-005") {
        return redirect(&visit.path("/staff"));
    }
    if !policies.ok() {
        return page::refused(state, visit, &policies);
    }
    let (profile, list): (Profile, Policies) = match (me.parse(), policies.parse()) {
        (Ok(profile), Ok(list)) => (profile, list),
        (Err(fault), _) | (_, Err(fault)) => return page::fault(state, visit, fault),
    };
    let t = visit.t();
    render(
        StatusCode::OK,
        &HomePage {
            c: Chrome::new(state, visit, t.home_title, "home"),
            note,
            name: profile.legal_name.unwrap_or_default(),
            policies: list
                .policies
                .into_iter()
                .map(|policy| policy_row(visit.lang, policy))
                .collect(),
        },
    )
}
