//! Reconciliation (clause 4-b, issue 5 item 8): a channel's statement of one day against the
//! payments, refunds and payouts inspay recorded as settled that day, matched order by order.
//!
//! The operator runs it with `inspay reconcile` (a statement file, or `--from-channel`), and
//! the nodes run it once for every day, fetching the statement from the channel after
//! [`STATEMENT_READY_HOUR`] (China time) of the day after, looking back [`LOOK_BACK_DAYS`]
//! days for any day a pass missed. Every run is recorded (`reconciliations`) and
//! audited; differences raise a security alert and need a person.

use crate::state::AppState;
use inspay_channel::{BusinessDate, HttpChannel, OrderKind, PaymentChannel, Statement};
use inspay_core::calendar::{date_at_ms, date_text, day_start_ms};
use inspay_core::reconcile::{Movement, MovementKind, Reconciliation, reconcile};
use inspay_store::Store;
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::funds::ReconciliationRun;
use time::Date;

/// A day's statement, in ms (statement days are Beijing days).
pub const DAY_MS: i64 = 86_400_000;
/// The hour (China time) after which the channel's statement of the day before is complete.
pub const STATEMENT_READY_HOUR: i64 = 2;

/// The movements a channel statement lists.
pub fn statement_movements(statement: &Statement) -> Vec<Movement> {
    statement
        .lines
        .iter()
        .map(|line| Movement {
            order_id: line.order_id.as_str().to_string(),
            kind: match line.kind {
                OrderKind::Pay => MovementKind::Pay,
                OrderKind::Refund => MovementKind::Refund,
                OrderKind::Payout => MovementKind::Payout,
            },
            amount_fen: line.amount_fen,
        })
        .collect()
}

/// What inspay settled on `day`; with `payouts: false` (a WeChat Pay trade bill lists only
/// payments and refunds) without the payouts.
pub async fn ours(
    store: &Store,
    day: Date,
    payouts: bool,
) -> Result<Vec<Movement>, inspay_store::StoreError> {
    let from_ms = day_start_ms(day);
    let mut movements = store.settled_movements(from_ms, from_ms + DAY_MS).await?;
    if !payouts {
        movements.retain(|movement| movement.kind != MovementKind::Payout);
    }
    Ok(movements)
}

/// Fetches the channel's statement of `day` and reconciles it.
pub async fn with_channel(
    store: &Store,
    channel: &HttpChannel,
    day: Date,
) -> anyhow::Result<Reconciliation> {
    let date = BusinessDate::parse(&date_text(day))
        .map_err(|_| anyhow::anyhow!("the day is not a calendar day"))?;
    let statement = channel.statement(&date).await.map_err(|error| {
        anyhow::anyhow!("the channel's statement could not be fetched: {error}")
    })?;
    let ours = ours(store, day, true).await?;
    Ok(reconcile(&ours, &statement_movements(&statement)))
}

/// Records and audits a run; differences raise a security alert. Returns `false`, doing
/// nothing more, when the daily job's run of the day was already recorded by another node.
pub async fn record(
    store: &Store,
    day: Date,
    source: &'static str,
    result: &Reconciliation,
    who: (&str, &str),
    now_ms: i64,
) -> Result<bool, inspay_store::StoreError> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let (actor, request_id) = who;
    let day_text = date_text(day);
    let recorded = store
        .reconciliation_record(&ReconciliationRun {
            day: day_text.clone(),
            source,
            matched: count(result.matched.len()),
            missing_at_channel: count(result.missing_at_channel.len()),
            missing_in_inspay: count(result.missing_in_inspay.len()),
            mismatched: count(result.mismatched.len()),
            duplicated: count(result.duplicated.len()),
            run_by: actor.to_string(),
            run_at_ms: now_ms,
        })
        .await?;
    if !recorded {
        return Ok(false);
    }
    let object = format!("reconciliation:{day_text}");
    let number = |n: usize| AuditValue::Number(count(n));
    store
        .audit(
            &AuditEvent {
                actor,
                action: "reconciliation.run",
                object: &object,
                outcome: if result.is_clean() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                request_id,
                details: &[
                    ("source", AuditValue::Word(source)),
                    ("matched", number(result.matched.len())),
                    (
                        "missing_at_channel",
                        number(result.missing_at_channel.len()),
                    ),
                    ("missing_in_inspay", number(result.missing_in_inspay.len())),
                    ("mismatched", number(result.mismatched.len())),
                    ("duplicated", number(result.duplicated.len())),
                ],
            },
            now_ms,
        )
        .await?;
    if !result.is_clean() {
        tracing::error!(
            target: "inspay::security_alert",
            day = %day_text,
            missing_at_channel = result.missing_at_channel.len(),
            missing_in_inspay = result.missing_in_inspay.len(),
            mismatched = result.mismatched.len(),
            "reconciliation found differences with the channel; run `inspay reconcile --date {day_text} --from-channel` for the list"
        );
    }
    Ok(true)
}

/// Days the daily job looks back: a day whose statement could not be fetched (the channel
/// down, the job not running) is reconciled on a later pass within this many days.
pub const LOOK_BACK_DAYS: i64 = 7;

/// The daily job: once the channel's statements are complete (after
/// [`STATEMENT_READY_HOUR`], China time), reconcile each of the last [`LOOK_BACK_DAYS`] days
/// the job has not reconciled yet, oldest first (each day once, whichever node gets there
/// first).
pub async fn daily(state: &AppState, now_ms: i64) {
    let china_hour = (now_ms + 8 * 3_600_000).rem_euclid(DAY_MS) / 3_600_000;
    if china_hour < STATEMENT_READY_HOUR {
        return;
    }
    let Some(channel) = state.channel_slot().get() else {
        return;
    };
    let today = date_at_ms(now_ms);
    for back in (1..=LOOK_BACK_DAYS).rev() {
        let Some(day) = today.checked_sub(time::Duration::days(back)) else {
            continue;
        };
        match state.store.reconciled_from_channel(&date_text(day)).await {
            Ok(false) => {}
            Ok(true) => continue,
            Err(error) => {
                tracing::error!(error = %error, "reconciliation: could not read the runs; next pass retries");
                return;
            }
        }
        let result = match with_channel(&state.store, &channel, day).await {
            Ok(result) => result,
            Err(error) => {
                tracing::warn!(error = %error, day = %date_text(day), "reconciliation: the channel's statement is not available; next pass retries");
                return;
            }
        };
        if let Err(error) = record(
            &state.store,
            day,
            "channel",
            &result,
            ("system", "scheduler"),
            now_ms,
        )
        .await
        {
            tracing::error!(error = %error, "reconciliation: the run could not be recorded; next pass retries");
            return;
        }
    }
}
