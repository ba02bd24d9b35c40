//! The finance officer's desk in the staff console (clause 4-b, issue 5 items 6 and 8): recent
//! claim payouts and premium refunds with where they stand, the reconciliation runs of the
//! last days (what `inspay reconcile` and the daily job record), and a reconciliation of one
//! day against the channel's statement on demand.
//!
//! Accounts and cards appear masked only (first 6, last 4 digits). Every payout and refund is
//! read back with its record MAC checked; one that fails is left out of the list, named by id
//! in `unreadable` and raised as a security alert, never shown as if it were genuine.
//!
//! Permissions, by least privilege (clause 5.3.1.2): the lists need `ledger.read` (reading the
//! money's movements as a whole: the finance officer and the auditor), not an approval
//! permission, since they change nothing; running a reconciliation needs `reconciliation.run`
//! (the finance officer only), as `inspay reconcile` is the finance officer's job.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::payments::reconcile;
use crate::routes::OperationClass;
use crate::routes::console_params::{Limit, one_of};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Extension, Json, Router};
use inspay_core::calendar::{date_at_ms, date_text, parse_date};
use inspay_core::funds::OrderStatus;
use inspay_core::reconcile::{Movement, Reconciliation};
use inspay_identity::authorization::Permission;
use inspay_store::staff_console::{Checked, ReconciliationRow};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};

/// Days of reconciliation runs listed when the caller names none.
const DAYS_DEFAULT: i64 = 30;
/// Most days of reconciliation runs one call lists.
const DAYS_MAX: i64 = 366;
/// Differences of one kind listed in a reconciliation's answer (the counts are always whole).
const DIFFERENCES_LISTED_MAX: usize = 200;

const STATUSES: &[(&str, OrderStatus)] = &[
    ("pending", OrderStatus::Pending),
    ("succeeded", OrderStatus::Succeeded),
    ("failed", OrderStatus::Failed),
];

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/finance/payouts",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "The 100 most recent claim payouts, newest first, with their state and the masked account paid.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Payouts>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/finance/payouts/{status}/{limit}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "The most recent claim payouts in one state (pending, succeeded, failed or all), newest first, at most `limit` (1 to 500).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Payouts>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/finance/refunds",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "The 100 most recent premium refunds, newest first, with their state, reason and the masked card refunded.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Refunds>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/finance/refunds/{status}/{limit}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "The most recent premium refunds in one state (pending, succeeded, failed or all), newest first, at most `limit` (1 to 500).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Refunds>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/finance/reconciliation",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "Reconciliation runs of the last 30 days (China time), newest first, and each day's latest run: matched and differing counts.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Runs>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/finance/reconciliation/{days}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::LedgerRead),
        summary: "Reconciliation runs of the last `days` days (1 to 366), newest first, and each day's latest run.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Runs>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/finance/reconciliation",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::ReconciliationRun),
        summary: "Reconciles one day against the channel's statement fetched now, as `inspay reconcile --from-channel` does; the run is recorded and audited, differences alerted.",
        body: Some(SchemaGenerator::subschema_for::<RunRequest>),
        response: Some(SchemaGenerator::subschema_for::<Report>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/finance/payouts", get(payouts_default))
        .route("/v1/finance/payouts/{status}/{limit}", get(payouts))
        .route("/v1/finance/refunds", get(refunds_default))
        .route("/v1/finance/refunds/{status}/{limit}", get(refunds))
        .route(
            "/v1/finance/reconciliation",
            get(runs_default).post(reconcile_day),
        )
        .route("/v1/finance/reconciliation/{days}", get(runs))
}

/// Logs the rows that failed their integrity check and returns the intact ones and the ids of
/// the others.
fn sorted<T>(rows: Vec<Checked<T>>, what: &'static str) -> (Vec<T>, Vec<String>) {
    let mut intact = Vec::with_capacity(rows.len());
    let mut unreadable = Vec::new();
    for row in rows {
        match row {
            Checked::Intact(row) => intact.push(row),
            Checked::Unreadable { id, error } => {
                tracing::error!(
                    target: "inspay::security_alert",
                    row = %id,
                    error = %error,
                    "a {what} fails its integrity check; it is left out of the staff list"
                );
                unreadable.push(id);
            }
        }
    }
    (intact, unreadable)
}

/// A claim payout.
#[derive(Serialize, JsonSchema)]
struct PayoutView {
    id: String,
    claim_id: String,
    /// The claimant's account.
    account_id: String,
    payout_account_id: String,
    /// First 6 and last 4 digits of the bank account paid.
    account_masked: Option<String>,
    amount_fen: i64,
    /// `pending` (sent to the channel, no answer yet), `succeeded` or `failed` (refused; the
    /// claim is approved again and the payout started once more).
    status: &'static str,
    /// The channel's transaction id.
    channel_ref: Option<String>,
    failure_code: Option<String>,
    created_at_ms: i64,
    /// When its outcome was recorded.
    settled_at_ms: Option<i64>,
}

/// Recent payouts.
#[derive(Serialize, JsonSchema)]
struct Payouts {
    /// The state asked for, or `all`.
    status: &'static str,
    limit: i64,
    payouts: Vec<PayoutView>,
    /// Ids of payouts that fail their integrity check (changed outside inspay), left out.
    unreadable: Vec<String>,
}

async fn list_payouts(
    state: &AppState,
    status: Option<OrderStatus>,
    limit: Limit,
) -> Result<Json<Payouts>, ApiError> {
    let rows = state
        .store
        .payouts_recent(&state.keyring(), status, limit.rows())
        .await?;
    let (lines, unreadable) = sorted(rows, "payout");
    Ok(Json(Payouts {
        status: status.map_or("all", OrderStatus::as_str),
        limit: limit.rows(),
        payouts: lines
            .into_iter()
            .map(|line| PayoutView {
                id: line.payout.id.to_string(),
                claim_id: line.payout.claim_id.to_string(),
                account_id: line.payout.account_id,
                payout_account_id: line.payout.payout_account_id,
                account_masked: line.account_masked,
                amount_fen: line.payout.amount.fen(),
                status: line.payout.status.as_str(),
                channel_ref: line.payout.channel_ref,
                failure_code: line.payout.failure_code,
                created_at_ms: line.payout.created_at_ms,
                settled_at_ms: line.payout.settled_at_ms,
            })
            .collect(),
        unreadable,
    }))
}

async fn payouts_default(State(state): State<AppState>) -> Result<Json<Payouts>, ApiError> {
    list_payouts(&state, None, Limit::DEFAULT).await
}

async fn payouts(
    State(state): State<AppState>,
    Path((raw_status, raw_limit)): Path<(String, String)>,
) -> Result<Json<Payouts>, ApiError> {
    let status = one_of("status", &raw_status, STATUSES)?;
    list_payouts(&state, status, Limit::parse(&raw_limit)?).await
}

/// A premium refund.
#[derive(Serialize, JsonSchema)]
struct RefundView {
    id: String,
    payment_id: String,
    /// The customer refunded.
    account_id: String,
    /// `cancellation`, `overpayment` or `goodwill`.
    reason: &'static str,
    /// The masked card of the refunded payment, when it was paid by card.
    card_masked: Option<String>,
    amount_fen: i64,
    /// `pending`, `succeeded` or `failed`.
    status: &'static str,
    channel_ref: Option<String>,
    failure_code: Option<String>,
    /// Who asked: `account:<id>` or `system`.
    requested_by: String,
    created_at_ms: i64,
    settled_at_ms: Option<i64>,
}

/// Recent refunds.
#[derive(Serialize, JsonSchema)]
struct Refunds {
    status: &'static str,
    limit: i64,
    refunds: Vec<RefundView>,
    /// Ids of refunds that fail their integrity check, left out.
    unreadable: Vec<String>,
}

async fn list_refunds(
    state: &AppState,
    status: Option<OrderStatus>,
    limit: Limit,
) -> Result<Json<Refunds>, ApiError> {
    let rows = state
        .store
        .refunds_recent(&state.keyring(), status, limit.rows())
        .await?;
    let (lines, unreadable) = sorted(rows, "refund");
    Ok(Json(Refunds {
        status: status.map_or("all", OrderStatus::as_str),
        limit: limit.rows(),
        refunds: lines
            .into_iter()
            .map(|line| RefundView {
                id: line.refund.id.to_string(),
                payment_id: line.refund.payment_id.to_string(),
                account_id: line.refund.account_id,
                reason: line.refund.reason.as_str(),
                card_masked: line.card_masked,
                amount_fen: line.refund.amount.fen(),
                status: line.refund.status.as_str(),
                channel_ref: line.refund.channel_ref,
                failure_code: line.refund.failure_code,
                requested_by: line.refund.requested_by,
                created_at_ms: line.refund.created_at_ms,
                settled_at_ms: line.refund.settled_at_ms,
            })
            .collect(),
        unreadable,
    }))
}

async fn refunds_default(State(state): State<AppState>) -> Result<Json<Refunds>, ApiError> {
    list_refunds(&state, None, Limit::DEFAULT).await
}

async fn refunds(
    State(state): State<AppState>,
    Path((raw_status, raw_limit)): Path<(String, String)>,
) -> Result<Json<Refunds>, ApiError> {
    let status = one_of("status", &raw_status, STATUSES)?;
    list_refunds(&state, status, Limit::parse(&raw_limit)?).await
}

/// A recorded reconciliation run.
#[derive(Serialize, JsonSchema, Clone)]
struct RunView {
    id: String,
    /// The statement's day, `YYYY-MM-DD` (China time).
    day: String,
    /// `channel` (fetched from the channel), `file` (its CSV) or `wechat` (a WeChat Pay bill).
    source: String,
    matched: i64,
    /// Settled by inspay, absent from the channel's statement.
    missing_at_channel: i64,
    /// On the channel's statement, not settled by inspay that day.
    missing_in_inspay: i64,
    /// On both sides with a different amount or kind.
    mismatched: i64,
    /// Listed twice on one side.
    duplicated: i64,
    /// Every difference count is zero.
    clean: bool,
    /// `system` (the daily job), `operator:<name>` (the CLI) or `account:<id>` (the API).
    run_by: String,
    run_at_ms: i64,
}

fn run_view(row: ReconciliationRow) -> RunView {
    RunView {
        id: row.id,
        day: row.day,
        source: row.source,
        matched: row.matched,
        missing_at_channel: row.missing_at_channel,
        missing_in_inspay: row.missing_in_inspay,
        mismatched: row.mismatched,
        duplicated: row.duplicated,
        clean: row.clean,
        run_by: row.run_by,
        run_at_ms: row.run_at_ms,
    }
}

/// One day of the window: its latest run, if it was reconciled.
#[derive(Serialize, JsonSchema)]
struct Day {
    day: String,
    latest: Option<RunView>,
}

/// Reconciliation runs of a window of days.
#[derive(Serialize, JsonSchema)]
struct Runs {
    /// The first day of the window (China time).
    from_day: String,
    /// Today (China time).
    to_day: String,
    /// Every day of the window, newest first, with its latest run (for a chart of matched and
    /// differing counts per day).
    days: Vec<Day>,
    /// Every run in the window, newest day first, latest run first (at most 500).
    runs: Vec<RunView>,
}

async fn list_runs(state: &AppState, days: i64) -> Result<Json<Runs>, ApiError> {
    debug_assert!((1..=DAYS_MAX).contains(&days));
    let today = date_at_ms(state.now_ms());
    let first = today
        .checked_sub(time::Duration::days(days - 1))
        .unwrap_or(today);
    let from_day = date_text(first);
    let rows = state
        .store
        .reconciliations_since(&from_day, inspay_store::staff_console::CONSOLE_ROWS_MAX)
        .await?;
    let runs: Vec<RunView> = rows.into_iter().map(run_view).collect();
    let mut window = Vec::new();
    let mut day = today;
    while day >= first {
        let text = date_text(day);
        // Runs come latest first within a day.
        let latest = runs.iter().find(|run| run.day == text).cloned();
        window.push(Day { day: text, latest });
        match day.previous_day() {
            Some(previous) => day = previous,
            None => break,
        }
    }
    Ok(Json(Runs {
        from_day,
        to_day: date_text(today),
        days: window,
        runs,
    }))
}

async fn runs_default(State(state): State<AppState>) -> Result<Json<Runs>, ApiError> {
    list_runs(&state, DAYS_DEFAULT).await
}

async fn runs(
    State(state): State<AppState>,
    Path(raw_days): Path<String>,
) -> Result<Json<Runs>, ApiError> {
    let days = (raw_days.len() <= 3 && raw_days.bytes().all(|b| b.is_ascii_digit()))
        .then(|| raw_days.parse::<i64>().ok())
        .flatten()
        .filter(|days| (1..=DAYS_MAX).contains(days))
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField)
                .detail(format!("days: a whole number from 1 to {DAYS_MAX}"))
        })?;
    list_runs(&state, days).await
}

/// The day to reconcile.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RunRequest {
    /// `YYYY-MM-DD`, China time, today or earlier (today's statement holds only what the
    /// channel settled so far).
    day: String,
}

/// One movement that differs.
#[derive(Serialize, JsonSchema)]
struct MovementView {
    /// The order id (our payment, refund or payout id).
    order_id: String,
    /// `pay`, `refund` or `payout`.
    kind: &'static str,
    amount_fen: i64,
}

fn movement_view(movement: &Movement) -> MovementView {
    MovementView {
        order_id: movement.order_id.clone(),
        kind: movement.kind.as_str(),
        amount_fen: movement.amount_fen,
    }
}

/// A movement on both sides that differs in amount or kind.
#[derive(Serialize, JsonSchema)]
struct MismatchView {
    ours: MovementView,
    theirs: MovementView,
}

/// A reconciliation's outcome.
#[derive(Serialize, JsonSchema)]
struct Report {
    day: String,
    source: &'static str,
    clean: bool,
    matched: usize,
    /// Total of the matched movements, fen.
    matched_fen: i64,
    missing_at_channel: usize,
    missing_at_channel_fen: i64,
    missing_in_inspay: usize,
    missing_in_inspay_fen: i64,
    mismatched: usize,
    duplicated: usize,
    /// The differences (the first 200 of each kind).
    missing_at_channel_orders: Vec<MovementView>,
    missing_in_inspay_orders: Vec<MovementView>,
    mismatched_orders: Vec<MismatchView>,
    duplicated_orders: Vec<String>,
}

fn total_fen(movements: &[Movement]) -> i64 {
    movements.iter().fold(0_i64, |sum, movement| {
        sum.saturating_add(movement.amount_fen)
    })
}

fn report(day: String, result: &Reconciliation) -> Report {
    let listed = |movements: &[Movement]| {
        movements
            .iter()
            .take(DIFFERENCES_LISTED_MAX)
            .map(movement_view)
            .collect()
    };
    Report {
        day,
        source: "channel",
        clean: result.is_clean(),
        matched: result.matched.len(),
        matched_fen: total_fen(&result.matched),
        missing_at_channel: result.missing_at_channel.len(),
        missing_at_channel_fen: total_fen(&result.missing_at_channel),
        missing_in_inspay: result.missing_in_inspay.len(),
        missing_in_inspay_fen: total_fen(&result.missing_in_inspay),
        mismatched: result.mismatched.len(),
        duplicated: result.duplicated.len(),
        missing_at_channel_orders: listed(&result.missing_at_channel),
        missing_in_inspay_orders: listed(&result.missing_in_inspay),
        mismatched_orders: result
            .mismatched
            .iter()
            .take(DIFFERENCES_LISTED_MAX)
            .map(|(ours, theirs)| MismatchView {
                ours: movement_view(ours),
                theirs: movement_view(theirs),
            })
            .collect(),
        duplicated_orders: result
            .duplicated
            .iter()
            .take(DIFFERENCES_LISTED_MAX)
            .cloned()
            .collect(),
    }
}

/// Fetches the channel's statement of the day, reconciles, records and audits the run (with
/// the caller as who ran it) and answers the report. A fund-transaction class operation: it
/// needs an `Idempotency-Key`, so a retried request answers the first run instead of
/// recording a second.
async fn reconcile_day(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<RunRequest>,
) -> Result<Json<Report>, ApiError> {
    let now = state.now_ms();
    let day = parse_date(&request.day)
        .filter(|day| *day <= date_at_ms(now))
        .ok_or_else(|| {
            ApiError::new(ErrorCode::InvalidField)
                .detail("day: a day as YYYY-MM-DD, today or earlier (China time)")
        })?;
    let channel = state.channel_slot().get().ok_or_else(|| {
        ApiError::new(ErrorCode::ChannelUnavailable).cause("no payment channel is configured")
    })?;
    let result = reconcile::with_channel(&state.store, &channel, day)
        .await
        .map_err(|error| ApiError::new(ErrorCode::ChannelUnavailable).cause(error))?;
    let actor = format!("account:{}", caller.account_id);
    reconcile::record(
        &state.store,
        day,
        "channel",
        &result,
        (&actor, &caller.request_id),
        now,
    )
    .await?;
    Ok(Json(report(date_text(day), &result)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use inspay_core::reconcile::{MovementKind, reconcile as compare};

    fn movement(id: &str, kind: MovementKind, fen: i64) -> Movement {
        Movement {
            order_id: id.into(),
            kind,
            amount_fen: fen,
        }
    }

    #[test]
    fn reports_count_and_total_each_side() {
        let ours = [
            movement("a", MovementKind::Pay, 100),
            movement("b", MovementKind::Payout, 250),
            movement("c", MovementKind::Refund, 30),
        ];
        let theirs = [
            movement("a", MovementKind::Pay, 100),
            movement("c", MovementKind::Refund, 31),
            movement("d", MovementKind::Pay, 7),
        ];
        let report = report("2026-01-02".into(), &compare(&ours, &theirs));
        assert!(!report.clean);
        assert_eq!((report.matched, report.matched_fen), (1, 100));
        assert_eq!(
            (report.missing_at_channel, report.missing_at_channel_fen),
            (1, 250)
        );
        assert_eq!(
            (report.missing_in_inspay, report.missing_in_inspay_fen),
            (1, 7)
        );
        assert_eq!(report.mismatched, 1);
        assert_eq!(report.mismatched_orders[0].theirs.amount_fen, 31);
    }
}
