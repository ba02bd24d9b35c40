//! The staff console's sections beyond the claims desk (issue 7 item 2): finance (payouts,
//! refunds, reconciliation with its chart), risk (alerts, the review queue, rule packs),
//! security (keys and their states, client applications, audit-chain verification, security
//! events) and administration (staff and roles, the permission review).
//!
//! Each section is one API list shown as a table: a section is offered only to roles whose
//! permissions open its API, and the API decides again on every call (a refused call is the
//! no-permission page), so each role sees only its pages and data. Staff routes are also
//! behind the administration network allow-list, which the API applies to the browser's
//! address.

use crate::state::AppState;
use crate::web::api::{Call, WebApi, WebFault};
use crate::web::home;
use crate::web::i18n::Lang;
use crate::web::page::{
    self, Binding, Chrome, HasCsrf, Note, check_form, csrf_for, redirect, render,
};
use crate::web::sections::{Kind, SECTIONS};
use crate::web::visit::Visit;
use askama::Template;
use axum::extract::rejection::FormRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::{Value, json};

/// The console sections the permissions open: (path, label).
pub fn links(visit: &Visit, permissions: &[String]) -> Vec<(String, &'static str)> {
    let mut links: Vec<(String, &'static str)> = SECTIONS
        .iter()
        .filter(|section| permissions.iter().any(|held| held == section.permission))
        .map(|section| {
            (
                visit.path(&format!("/staff/{}", section.slug)),
                label(visit.lang, section.zh, section.en),
            )
        })
        .collect();
    if permissions.iter().any(|held| held == "audit.verify") {
        links.push((
            visit.path("/staff/audit"),
            label(visit.lang, "审计链校验", "Audit-chain verification"),
        ));
    }
    links
}

fn label(lang: Lang, zh: &'static str, en: &'static str) -> &'static str {
    match lang {
        Lang::Zh => zh,
        Lang::En => en,
    }
}

/// The console section pages.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/web/{lang}/staff/audit", get(audit).post(verify_audit))
        .route(
            "/web/{lang}/staff/hold/{hold_id}/{verdict}",
            post(decide_hold),
        )
        .route(
            "/web/{lang}/staff/reconciliation/run",
            post(run_reconciliation),
        )
        .route("/web/{lang}/staff/roles/{account_id}", get(roles))
        .route(
            "/web/{lang}/staff/roles/{account_id}/{change}",
            post(change_role),
        )
        .route("/web/{lang}/staff/{section}", get(section))
}

/// One cell.
struct Cell {
    text: String,
    tone: &'static str,
}

/// A per-row action: a form posting to `path`.
struct Action {
    path: String,
    label: &'static str,
    secondary: bool,
    /// A link to another page rather than a posted form.
    link: bool,
}

/// One bar of the reconciliation chart (SVG units).
struct Bar {
    x: u32,
    matched_y: u32,
    matched_h: u32,
    problem_y: u32,
    problem_h: u32,
    day: String,
    label_x: u32,
}

#[derive(Template)]
#[template(path = "web/console_table.html")]
struct TablePage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    heading: &'static str,
    headings: Vec<&'static str>,
    rows: Vec<(Vec<Cell>, Vec<Action>)>,
    has_actions: bool,
    chart: Vec<Bar>,
    chart_max: i64,
    empty: &'static str,
    /// The day a reconciliation can be run for, when the roles allow running one.
    run_day: Option<String>,
}

/// Unix milliseconds as China time (UTC+8), to the minute.
pub fn time_text(ms: i64) -> String {
    // China time (UTC+8), to the minute.
    let Ok(at) = time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000) + 8 * 3600) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

fn status_tone(value: &str) -> &'static str {
    match value {
        "active" | "succeeded" | "completed" | "paid" | "allow" | "in-force" | "released" => "ok",
        "failed" | "deny" | "revoked" | "compromised" | "suspended" | "rejected" | "locked"
        | "closed" => "bad",
        "" => "",
        _ => "warn",
    }
}

fn cell(lang: Lang, value: Option<&Value>, kind: Kind) -> Cell {
    let plain = |text: String| Cell { text, tone: "" };
    match (kind, value) {
        (_, None | Some(Value::Null)) => plain(String::new()),
        (Kind::Money, Some(value)) => plain(
            value
                .as_i64()
                .map(|fen| lang.money(fen))
                .unwrap_or_default(),
        ),
        (Kind::Time, Some(value)) => plain(value.as_i64().map(time_text).unwrap_or_default()),
        (Kind::Flag, Some(value)) => {
            let yes = value.as_bool().unwrap_or(false);
            Cell {
                text: label(
                    lang,
                    if yes { "是" } else { "否" },
                    if yes { "yes" } else { "no" },
                )
                .to_string(),
                tone: "",
            }
        }
        (Kind::Status, Some(value)) => {
            let text = value.as_str().unwrap_or_default().to_string();
            Cell {
                tone: status_tone(&text),
                text,
            }
        }
        (Kind::List, Some(Value::Array(items))) => plain(
            items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        (_, Some(Value::String(text))) => plain(text.clone()),
        (_, Some(other)) => plain(other.to_string()),
    }
}

async fn read(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    call: Call,
) -> Result<Value, Box<Response>> {
    if visit.session.is_none() {
        return Err(Box::new(redirect(&visit.path("/staff/sign-in"))));
    }
    page::read(api, state, visit, call).await
}

/// The reconciliation chart: matched (green) and problem (red) entries per day, newest right.
fn chart(body: &Value) -> (Vec<Bar>, i64) {
    let days = body
        .get("days")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    // Oldest on the left.
    let counts: Vec<(String, i64, i64)> = days
        .iter()
        .rev()
        .map(|day| {
            let latest = day.get("latest").cloned().unwrap_or(Value::Null);
            let n = |key: &str| latest.get(key).and_then(Value::as_i64).unwrap_or(0);
            (
                day.get("day")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                n("matched"),
                n("missing_at_channel")
                    + n("missing_in_inspay")
                    + n("mismatched")
                    + n("duplicated"),
            )
        })
        .collect();
    let max = counts
        .iter()
        .map(|(_, m, p)| m + p)
        .max()
        .unwrap_or(0)
        .max(1);
    const HEIGHT: i64 = 160;
    const SLOT: u32 = 40;
    let bars = counts
        .into_iter()
        .enumerate()
        .map(|(i, (day, matched, problems))| {
            let scale = |n: i64| u32::try_from(n * HEIGHT / max).unwrap_or(0);
            let (matched_h, problem_h) = (scale(matched), scale(problems));
            let x = 30 + u32::try_from(i).unwrap_or(0) * SLOT;
            Bar {
                x,
                problem_y: 170 - problem_h,
                problem_h,
                matched_y: 170 - problem_h - matched_h,
                matched_h,
                label_x: x + 12,
                day: day.get(5..).unwrap_or(&day).to_string(),
            }
        })
        .collect();
    (bars, max)
}

async fn section(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, slug)): Path<(String, String)>,
) -> Response {
    show_section(&api, &state, &visit, &slug, None).await
}

async fn show_section(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    slug: &str,
    note: Option<Note>,
) -> Response {
    let Some(section) = SECTIONS.iter().find(|section| section.slug == slug) else {
        return page::not_found(state, visit);
    };
    let body = match read(api, state, visit, Call::get(section.api)).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let lang = visit.lang;
    let items = body
        .get(section.list)
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let rows: Vec<(Vec<Cell>, Vec<Action>)> = items
        .iter()
        .map(|item| {
            let cells = section
                .columns
                .iter()
                .map(|column| cell(lang, item.get(column.key), column.kind))
                .collect();
            let actions = match (section.slug, item.get("id").and_then(Value::as_str)) {
                ("staff", _) => match item.get("account_id").and_then(Value::as_str) {
                    Some(id) if uuid::Uuid::parse_str(id).is_ok() => vec![Action {
                        path: visit.path(&format!("/staff/roles/{id}")),
                        label: label(lang, "管理角色", "Roles"),
                        secondary: true,
                        link: true,
                    }],
                    _ => vec![],
                },
                ("holds", Some(id)) if uuid::Uuid::parse_str(id).is_ok() => vec![
                    Action {
                        path: visit.path(&format!("/staff/hold/{id}/release")),
                        label: label(lang, "放行", "Release"),
                        secondary: false,
                        link: false,
                    },
                    Action {
                        path: visit.path(&format!("/staff/hold/{id}/reject")),
                        label: label(lang, "拒绝", "Reject"),
                        secondary: true,
                        link: false,
                    },
                ],
                _ => vec![],
            };
            (cells, actions)
        })
        .collect();
    let (chart, chart_max) = if section.slug == "reconciliation" {
        chart(&body)
    } else {
        (vec![], 0)
    };
    let heading = label(lang, section.zh, section.en);
    let run_day = if section.slug == "reconciliation" {
        match read(api, state, visit, Call::get("/v1/me")).await {
            Ok(me) => me
                .get("permissions")
                .and_then(Value::as_array)
                .is_some_and(|held| held.iter().any(|p| p == "reconciliation.run"))
                .then(|| {
                    inspay_core::calendar::date_text(inspay_core::calendar::date_at_ms(
                        state.now_ms(),
                    ))
                }),
            Err(response) => return *response,
        }
    } else {
        None
    };
    render(
        StatusCode::OK,
        &TablePage {
            run_day,
            c: Chrome::new(state, visit, heading, "staff"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            heading,
            headings: section
                .columns
                .iter()
                .map(|column| label(lang, column.zh, column.en))
                .collect(),
            has_actions: rows.iter().any(|(_, actions)| !actions.is_empty()),
            rows,
            chart,
            chart_max,
            empty: label(lang, "没有记录。", "Nothing to show."),
        },
    )
}

#[derive(Deserialize)]
struct TokenForm {
    csrf: String,
}

impl HasCsrf for TokenForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Releases or rejects a held operation (never one the officer asked for: the API refuses).
async fn decide_hold(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, hold_id, verdict)): Path<(String, String, String)>,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    if let Err(response) = check_form(&state, &visit, Binding::Session, form) {
        return *response;
    }
    let Ok(hold_id) = uuid::Uuid::parse_str(&hold_id) else {
        return page::not_found(&state, &visit);
    };
    if verdict != "release" && verdict != "reject" {
        return page::not_found(&state, &visit);
    }
    let key = match crate::web::visit::random_value() {
        Ok(key) => key,
        Err(error) => return page::fault(&state, &visit, WebFault(error.to_string())),
    };
    let call = Call::post(
        format!("/v1/risk/hold/{}/{verdict}", hold_id.hyphenated()),
        &json!({ "note": "decided in the web console" }),
    )
    .idempotency_key(&key);
    let note = match read(&api, &state, &visit, call).await {
        Ok(_) => Note::ok(label(visit.lang, "已记录。", "Recorded.")),
        Err(response) => return *response,
    };
    show_section(&api, &state, &visit, "holds", note).await
}

#[derive(Deserialize)]
struct RunForm {
    csrf: String,
    day: String,
}

impl HasCsrf for RunForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Runs the reconciliation of one day against the channel's statement and shows the report.
async fn run_reconciliation(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<RunForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let key = match crate::web::visit::random_value() {
        Ok(key) => key,
        Err(error) => return page::fault(&state, &visit, WebFault(error.to_string())),
    };
    let call =
        Call::post("/v1/finance/reconciliation", &json!({ "day": form.day })).idempotency_key(&key);
    let lang = visit.lang;
    let note = match read(&api, &state, &visit, call).await {
        Ok(report) => {
            let n = |key: &str| report.get(key).and_then(Value::as_i64).unwrap_or(0);
            let clean = report
                .get("clean")
                .and_then(Value::as_bool)
                .unwrap_or(false);
            let text = match lang {
                Lang::Zh => format!(
                    "{} 对账完成：匹配 {} 笔，渠道缺失 {}，我方缺失 {}，金额不符 {}，重复 {}。",
                    form.day,
                    n("matched"),
                    n("missing_at_channel"),
                    n("missing_in_inspay"),
                    n("mismatched"),
                    n("duplicated")
                ),
                Lang::En => format!(
                    "{} reconciled: {} matched, {} missing at the channel, {} missing at inspay, {} amounts differ, {} duplicated.",
                    form.day,
                    n("matched"),
                    n("missing_at_channel"),
                    n("missing_in_inspay"),
                    n("mismatched"),
                    n("duplicated")
                ),
            };
            if clean {
                Note::ok(&text)
            } else {
                Note::bad(&text)
            }
        }
        Err(response) => return *response,
    };
    show_section(&api, &state, &visit, "reconciliation", note).await
}

/// The staff roles an administrator can grant (the customer role belongs to customers).
const STAFF_ROLES: &[&str] = &[
    "agent",
    "claims-adjuster",
    "finance-officer",
    "auditor",
    "security-officer",
    "risk-officer",
    "administrator",
];

#[derive(Template)]
#[template(path = "web/staff_roles.html")]
struct RolesPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    heading: &'static str,
    account_id: String,
    login: String,
    roles: Vec<String>,
    grantable: Vec<&'static str>,
}

async fn roles(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, account_id)): Path<(String, String)>,
) -> Response {
    roles_page(&api, &state, &visit, &account_id, None).await
}

async fn roles_page(
    api: &WebApi,
    state: &AppState,
    visit: &Visit,
    account_id: &str,
    note: Option<Note>,
) -> Response {
    let Ok(account_id) = uuid::Uuid::parse_str(account_id) else {
        return page::not_found(state, visit);
    };
    let account_id = account_id.hyphenated().to_string();
    let body = match read(api, state, visit, Call::get("/v1/admin/staff/all/500")).await {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let Some(account) = body
        .get("accounts")
        .and_then(Value::as_array)
        .and_then(|accounts| {
            accounts.iter().find(|account| {
                account.get("account_id").and_then(Value::as_str) == Some(&account_id)
            })
        })
    else {
        return page::not_found(state, visit);
    };
    let roles: Vec<String> = account
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    render(
        StatusCode::OK,
        &RolesPage {
            c: Chrome::new(state, visit, label(visit.lang, "角色", "Roles"), "staff"),
            note,
            csrf: csrf_for(state, visit, Binding::Session),
            heading: label(visit.lang, "角色", "Roles"),
            login: account
                .get("login_name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string(),
            grantable: STAFF_ROLES
                .iter()
                .copied()
                .filter(|role| !roles.iter().any(|held| held == role))
                .collect(),
            roles,
            account_id,
        },
    )
}

#[derive(Deserialize)]
struct RoleForm {
    csrf: String,
    role: String,
}

impl HasCsrf for RoleForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Grants or revokes one role; the API refuses conflicting pairs and one's own account.
async fn change_role(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    Path((_, account_id, change)): Path<(String, String, String)>,
    form: Result<Form<RoleForm>, FormRejection>,
) -> Response {
    let form = match check_form(&state, &visit, Binding::Session, form) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let (Ok(id), true) = (
        uuid::Uuid::parse_str(&account_id),
        STAFF_ROLES.contains(&form.role.as_str()),
    ) else {
        return page::form_refused(&state, &visit, StatusCode::BAD_REQUEST);
    };
    let id = id.hyphenated().to_string();
    let key = match crate::web::visit::random_value() {
        Ok(key) => key,
        Err(error) => return page::fault(&state, &visit, WebFault(error.to_string())),
    };
    let call = match change.as_str() {
        "grant" => Call::post(
            format!("/v1/admin/staff-roles/{id}"),
            &json!({ "role": form.role }),
        ),
        "revoke" => Call::delete(format!("/v1/admin/staff-roles/{id}/{}", form.role)),
        _ => return page::not_found(&state, &visit),
    }
    .idempotency_key(&key)
    .session_of(&visit);
    let answer = match api.call(&state, &visit, call).await {
        Ok(answer) => answer,
        Err(fault) => return page::fault(&state, &visit, fault),
    };
    if let Some(response) = home::session_gone(&visit, &answer) {
        return response;
    }
    let note = if answer.ok() {
        Note::ok(label(visit.lang, "已记录。", "Recorded."))
    } else {
        Note::from_answer(visit.lang, &answer)
    };
    roles_page(&api, &state, &visit, &id, note).await
}

#[derive(Template)]
#[template(path = "web/console_audit.html")]
struct AuditPage {
    c: Chrome,
    note: Option<Note>,
    csrf: String,
    result: Vec<(&'static str, String)>,
}

async fn audit(State(state): State<AppState>, visit: Visit) -> Response {
    if visit.session.is_none() {
        return redirect(&visit.path("/staff/sign-in"));
    }
    let heading = label(visit.lang, "审计链校验", "Audit-chain verification");
    render(
        StatusCode::OK,
        &AuditPage {
            c: Chrome::new(&state, &visit, heading, "staff"),
            note: None,
            csrf: csrf_for(&state, &visit, Binding::Session),
            result: vec![],
        },
    )
}

/// Runs the verification of the audit chain and its signed checkpoints, and shows the result.
async fn verify_audit(
    State(state): State<AppState>,
    Extension(api): Extension<WebApi>,
    visit: Visit,
    form: Result<Form<TokenForm>, FormRejection>,
) -> Response {
    if let Err(response) = check_form(&state, &visit, Binding::Session, form) {
        return *response;
    }
    let body = match read(
        &api,
        &state,
        &visit,
        Call::post("/v1/admin/audit/verify", &json!({})),
    )
    .await
    {
        Ok(body) => body,
        Err(response) => return *response,
    };
    let lang = visit.lang;
    let ok = body.get("ok").and_then(Value::as_bool).unwrap_or(false);
    let number = |key: &str| {
        body.get(key)
            .map(|value| value.to_string())
            .unwrap_or_default()
    };
    let note = if ok {
        Note::ok(label(
            lang,
            "审计链完整，签名检查点全部验证通过。",
            "The audit chain is intact and every signed checkpoint verifies.",
        ))
    } else {
        Note::bad(label(
            lang,
            "审计链校验失败：请立即按事件响应流程处理。",
            "The audit chain does not verify: follow the incident runbook now.",
        ))
    };
    let heading = label(lang, "审计链校验", "Audit-chain verification");
    render(
        if ok {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        },
        &AuditPage {
            c: Chrome::new(&state, &visit, heading, "staff"),
            note,
            csrf: csrf_for(&state, &visit, Binding::Session),
            result: vec![
                (
                    label(lang, "已校验条目", "Entries checked"),
                    number("entries_checked"),
                ),
                (
                    label(lang, "已校验检查点", "Checkpoints checked"),
                    number("checkpoints_checked"),
                ),
                (
                    label(lang, "首个断点", "First break"),
                    number("first_broken_seq"),
                ),
                (label(lang, "问题数", "Problems"), number("problems_total")),
                (
                    label(lang, "耗时（毫秒）", "Took (ms)"),
                    number("elapsed_ms"),
                ),
            ],
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_china_time_to_the_minute() {
        // 2026-11-26 00:30 UTC is 08:30 in Beijing.
        assert_eq!(time_text(1_795_653_000_000), "2026-11-26 08:30");
    }

    #[test]
    fn the_chart_scales_to_the_busiest_day() {
        // Newest first, as the API lists them; the chart puts the oldest on the left.
        let body = json!({ "days": [
            { "day": "2026-11-25", "latest": null },
            { "day": "2026-11-24", "latest": { "matched": 8, "missing_at_channel": 2 } },
        ]});
        let (bars, max) = chart(&body);
        assert_eq!(max, 10);
        assert_eq!(bars[0].matched_h + bars[0].problem_h, 160);
        assert_eq!(bars[0].problem_h, 32);
        assert_eq!(bars[1].matched_h, 0);
        assert_eq!(bars[0].day, "11-24");
    }
}
