//! `inspay reconcile`: the channel's statement of a day against what inspay recorded as
//! settled that day (clause 4-b, issue 5 item 8). The statement is a file the channel sent
//! (its own CSV, or a WeChat Pay trade bill) or is fetched from the configured channel
//! (`--from-channel`). Every order is matched by its id; what is missing on either side, or
//! differs in amount or kind, is listed and raised as an alert, and the command exits with
//! status 1 so a scheduler can page on it. The run is recorded and audited with its counts
//! (the servers also reconcile the day before from the channel every day).

use anyhow::{Context, bail};
use inspay_channel::{BusinessDate, Statement, parse_wechat_bill};
use inspay_core::reconcile::{Movement, MovementKind, Reconciliation};
use inspay_server::payments::channel::configured_channel;
use inspay_server::payments::reconcile;
use inspay_store::keys::Actor;
use std::path::{Path, PathBuf};

/// `inspay reconcile` options.
#[derive(Debug, clap::Args)]
pub struct ReconcileArgs {
    /// The statement's day, `YYYY-MM-DD` (China time).
    #[arg(long)]
    date: String,
    /// The channel's statement file for that day.
    #[arg(
        long,
        required_unless_present = "from_channel",
        conflicts_with = "from_channel"
    )]
    statement: Option<PathBuf>,
    /// Fetch the statement from the configured channel (`payments.channel.url`) instead.
    #[arg(long)]
    from_channel: bool,
    /// `inspay` (the simulated bank's CSV: `channel_ref,order_id,kind,amount_fen,status,settled_at`)
    /// or `wechat` (a WeChat Pay trade bill, 交易账单).
    #[arg(long, default_value = "inspay", value_parser = ["inspay", "wechat"])]
    format: String,
}

/// The channel's side, from its statement file.
fn theirs(args: &ReconcileArgs, file: &Path, date: &BusinessDate) -> anyhow::Result<Vec<Movement>> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read the statement {}", file.display()))?;
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
    Ok(reconcile::statement_movements(&statement))
}

/// Runs the reconciliation.
pub async fn run(config: Option<&Path>, args: ReconcileArgs) -> anyhow::Result<()> {
    let date = BusinessDate::parse(&args.date)
        .map_err(|_| anyhow::anyhow!("--date is a day as YYYY-MM-DD"))?;
    let day =
        inspay_core::calendar::parse_date(&args.date).context("--date is a day as YYYY-MM-DD")?;
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    let operator = super::operator();
    let request = super::command_id();
    let (result, source) = match &args.statement {
        Some(file) => {
            let theirs = theirs(&args, file, &date)?;
            let wechat = args.format == "wechat";
            // A WeChat Pay trade bill lists payments and refunds only; payouts are reconciled
            // against the bank's own statement.
            let ours = reconcile::ours(&store, day, !wechat).await?;
            let source = if wechat { "wechat" } else { "file" };
            (inspay_core::reconcile::reconcile(&ours, &theirs), source)
        }
        None => {
            let master = inspay_server::master_key::load(&settings)?;
            let who = Actor {
                actor: &operator,
                request_id: &request,
            };
            store
                .kms_initialise(
                    &master,
                    &settings.rotation_policy(),
                    who,
                    inspay_store::now_ms(),
                )
                .await?;
            let keyring = std::sync::Arc::new(store.keyring_load(&master).await?);
            let channel = configured_channel(&settings, keyring)?.context(
                "no payment channel is configured (payments.channel.url and public_key_file); \
                 pass the statement file with --statement instead",
            )?;
            (
                reconcile::with_channel(&store, &channel, day).await?,
                "channel",
            )
        }
    };
    print_report(&args.date, &result);
    reconcile::record(
        &store,
        day,
        source,
        &result,
        (&operator, &request),
        inspay_store::now_ms(),
    )
    .await?;
    if !result.is_clean() {
        eprintln!(
            "ALERT reconciliation of {}: {} missing at the channel, {} missing in inspay, {} differing, {} listed twice",
            args.date,
            result.missing_at_channel.len(),
            result.missing_in_inspay.len(),
            result.mismatched.len(),
            result.duplicated.len()
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
