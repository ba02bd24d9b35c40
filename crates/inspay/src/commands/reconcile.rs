//! `inspay reconcile`: the channel's statement of a day against what inspay recorded as
//! settled that day (clause 4-b, issue 5 item 8). Every order is matched by its id; what is
//! missing on either side, or differs in amount or kind, is listed and raised as an alert, and
//! the command exits with status 1 so a scheduler can page on it. The run is audited with its
//! counts.

use anyhow::{Context, bail};
use inspay_channel::{BusinessDate, OrderKind, Statement, parse_wechat_bill};
use inspay_core::reconcile::{Movement, MovementKind, Reconciliation, reconcile};
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use std::path::{Path, PathBuf};

/// A statement's day, in ms (statement days are Beijing days).
const DAY_MS: i64 = 86_400_000;

/// `inspay reconcile` options.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The statement's day, `YYYY-MM-DD` (China time).
    #[arg(long)]
    date: String,
    /// The channel's statement file for that day.
    #[arg(long)]
    statement: PathBuf,
    /// `inspay` (the simulated bank's CSV: `channel_ref,order_id,kind,amount_fen,status,settled_at`)
    /// or `wechat` (a WeChat Pay trade bill, 交易账单).
    #[arg(long, default_value = "inspay", value_parser = ["inspay", "wechat"])]
    format: String,
}

/// The channel's side, from its statement file.
fn theirs(args: &ReconcileArgs, date: &BusinessDate) -> anyhow::Result<Vec<Movement>> {
    let text = std::fs::read_to_string(&args.statement)
        .with_context(|| format!("cannot read the statement {}", args.statement.display()))?;
    if args.format == "wechat" {
        let rows = parse_wechat_bill(&text)
            .map_err(|error| anyhow::anyhow!("the WeChat bill is malformed: {error}"))?;
        return Ok(rows
            .iter()
            .map(|row| Movement {
                order_id: row.merchant_order_id().to_string(),
                kind: if row.is_refund() {
                    MovementKind::Refund
                } else {
                    MovementKind::Pay
                },
                amount_fen: row.amount_fen(),
            })
            .collect());
    }
    let statement = Statement::parse_csv(date.clone(), &text)
        .map_err(|error| anyhow::anyhow!("the statement is malformed: {error}"))?;
    Ok(statement
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
        .collect())
}

/// Runs the reconciliation.
pub async fn run(config: Option<&Path>, args: ReconcileArgs) -> anyhow::Result<()> {
    let date = BusinessDate::parse(&args.date)
        .map_err(|_| anyhow::anyhow!("--date is a day as YYYY-MM-DD"))?;
    let day =
        inspay_core::calendar::parse_date(&args.date).context("--date is a day as YYYY-MM-DD")?;
    let theirs = theirs(&args, &date)?;
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let from_ms = inspay_core::calendar::day_start_ms(day);
    let ours = store.settled_movements(from_ms, from_ms + DAY_MS).await?;
    let result = reconcile(&ours, &theirs);
    print_report(&args.date, &result);
    let operator = super::operator();
    let request = super::command_id();
    let object = format!("reconciliation:{}", args.date);
    let count = |n: usize| AuditValue::Number(i64::try_from(n).unwrap_or(i64::MAX));
    store
        .audit(
            &AuditEvent {
                actor: &operator,
                action: "reconciliation.run",
                object: &object,
                outcome: if result.is_clean() {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                request_id: &request,
                details: &[
                    ("matched", count(result.matched.len())),
                    ("missing_at_channel", count(result.missing_at_channel.len())),
                    ("missing_in_inspay", count(result.missing_in_inspay.len())),
                    ("mismatched", count(result.mismatched.len())),
                    ("duplicated", count(result.duplicated.len())),
                ],
            },
            inspay_store::now_ms(),
        )
        .await?;
    if !result.is_clean() {
        tracing::error!(
            target: "inspay::security_alert",
            day = %args.date,
            missing_at_channel = result.missing_at_channel.len(),
            missing_in_inspay = result.missing_in_inspay.len(),
            mismatched = result.mismatched.len(),
            "reconciliation found differences with the channel"
        );
        bail!(
            "the channel's statement and inspay's records differ for {}: settle each line above with the channel",
            args.date
        );
    }
    Ok(())
}

fn line(movement: &Movement) -> String {
    format!(
        "{} {} {}.{:02}",
        movement.order_id,
        movement.kind.as_str(),
        movement.amount_fen / 100,
        movement.amount_fen % 100
    )
}

fn print_report(date: &str, result: &Reconciliation) {
    println!("reconciliation of {date}");
    let rows = [
        ("matched", result.matched.len()),
        ("missing at the channel", result.missing_at_channel.len()),
        ("missing in inspay", result.missing_in_inspay.len()),
        ("amount or kind differs", result.mismatched.len()),
        ("listed twice", result.duplicated.len()),
    ];
    let widest = rows.iter().map(|(_, n)| *n).max().unwrap_or(0).max(1);
    for (name, n) in rows {
        let width = (n * 40).div_ceil(widest);
        println!("  {name:<24} {n:>7} {}", "█".repeat(width));
    }
    for movement in &result.missing_at_channel {
        println!("  missing at the channel: {}", line(movement));
    }
    for movement in &result.missing_in_inspay {
        println!("  missing in inspay:      {}", line(movement));
    }
    for (ours, theirs) in &result.mismatched {
        println!("  differs: ours {} / channel {}", line(ours), line(theirs));
    }
    for order_id in &result.duplicated {
        println!("  listed twice: {order_id}");
    }
    println!(
        "{}",
        if result.is_clean() {
            "the channel and inspay agree"
        } else {
            "DIFFERENCES FOUND"
        }
    );
}
