//! `inspay ledger`: the double-entry books from the operator's console (clauses 4-b, 5.3.1.3
//! and 5.6.1-b).
//!
//! `check` proves the books (Σdebits = Σcredits, every kept balance equal to the sum of its
//! entries and within its bound, every transfer's record MAC intact) and exits with status 1
//! when they are not sound, so cron or a monitoring probe can alert on it. `balances` shows
//! every account with a bar chart of its balance; `statement` lists one account's entries with
//! a running balance that must end at the kept one.

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use inspay_core::ledger::{AccountRef, Discrepancy, LedgerError, Side};
use inspay_store::Store;
use inspay_store::keys::Actor;
use inspay_store::ledger::{LedgerReport, StatementLine};
use sqlx::Row;
use std::path::Path;
use std::time::Duration;

/// The most accounts `balances` lists in one run.
pub const BALANCES_ROWS_MAX: u32 = 100_000;
/// The most entries `statement` lists in one run.
pub const STATEMENT_LINES_MAX: u32 = 100_000;
/// Width of the longest bar in `balances`, in character cells.
const BAR_CELLS: usize = 40;
/// Partial cells, from one eighth to a full block.
const BAR_EIGHTHS: [char; 8] = ['▏', '▎', '▍', '▌', '▋', '▊', '▉', '█'];
/// The cell drawn for a balance below zero (only the clearing account may have one).
const BAR_NEGATIVE: char = '░';
/// How often the spinner of `check` moves.
const SPINNER_TICK: Duration = Duration::from_millis(120);

/// The account names, as `AccountRef::parse` reads them; per-customer accounts take the
/// customer's account id after a colon.
const ACCOUNT_NAMES: [&str; 8] = [
    "channel_clearing",
    "premium_income",
    "claims_expense",
    "outbound_in_flight",
    "channel_fees",
    "customer_funds:<customer>",
    "claims_payable:<customer>",
    "refunds_payable:<customer>",
];

/// Ledger commands.
#[derive(Debug, Subcommand)]
pub enum LedgerCommand {
    /// Prove the books: Σdebits = Σcredits, every kept balance equals the sum of its entries
    /// and keeps its bound, and every transfer's record MAC holds. Exits with status 1 if not.
    #[command(
        after_help = "Examples:\n  inspay ledger check\n  inspay ledger check || alert-oncall \"inspay ledger not sound\"   (cron: exit status 1 means not sound)"
    )]
    Check,
    /// Every account and its kept balance, with a bar chart scaled to the largest one.
    #[command(
        after_help = "Examples:\n  inspay ledger balances\n  inspay ledger balances --limit 50"
    )]
    Balances {
        /// At most this many accounts, in code order.
        #[arg(long, default_value_t = 1_000, value_parser = clap::value_parser!(u32).range(1..=i64::from(BALANCES_ROWS_MAX)))]
        limit: u32,
    },
    /// One account's entries, oldest first, with a running balance.
    #[command(
        after_help = "Examples:\n  inspay ledger statement --account premium_income\n  inspay ledger statement --account customer_funds:01890f2e-7c1a-7b3e-9f00-1c2d3e4f5a6b --limit 500"
    )]
    Statement {
        /// The account code: channel_clearing, premium_income, claims_expense,
        /// outbound_in_flight, channel_fees, or customer_funds, claims_payable or
        /// refunds_payable followed by `:` and the customer's account id.
        #[arg(long, value_name = "CODE", value_parser = parse_account)]
        account: AccountRef,
        /// At most this many entries, oldest first.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=i64::from(STATEMENT_LINES_MAX)))]
        limit: u32,
    },
}

fn parse_account(code: &str) -> Result<AccountRef, String> {
    AccountRef::parse(code).map_err(|error: LedgerError| {
        format!("{error} '{code}'; use one of: {}", ACCOUNT_NAMES.join(", "))
    })
}

/// Runs a ledger command.
pub async fn run(config: Option<&Path>, command: LedgerCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    match command {
        LedgerCommand::Check => {
            let master = inspay_server::master_key::load(&settings)?;
            let operator = super::operator();
            let id = super::command_id();
            let who = Actor {
                actor: &operator,
                request_id: &id,
            };
            // Checks the master key against the stored check value (or initialises a new
            // install): the record MACs are verified with its keys.
            store
                .kms_initialise(
                    &master,
                    &settings.rotation_policy(),
                    who,
                    inspay_store::now_ms(),
                )
                .await?;
            let keyring = store.keyring_load(&master).await?;
            check(&store, &keyring).await
        }
        LedgerCommand::Balances { limit } => balances(&store, limit).await,
        LedgerCommand::Statement { account, limit } => statement(&store, &account, limit).await,
    }
}

async fn check(store: &Store, keyring: &inspay_kms::Keyring) -> anyhow::Result<()> {
    let spinner = ProgressBar::new_spinner()
        .with_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        )
        .with_message("checking the ledger: balances, Σdebits = Σcredits, record MACs");
    spinner.enable_steady_tick(SPINNER_TICK);
    let report = store.ledger_check(keyring).await;
    spinner.finish_and_clear();
    let report = report.context("cannot read the ledger")?;
    for line in report_lines(&report) {
        println!("{line}");
    }
    if !report.is_sound() {
        bail!(
            "the ledger is NOT sound: {} discrepancy(ies), {} tampered transfer(s); preserve the database as \
             evidence (copy it before anything else writes to it), then trace each account with \
             `inspay ledger statement --account CODE` (clauses 4-b, 5.6.1-b)",
            report.discrepancies.len(),
            report.tampered_transfers.len()
        );
    }
    println!(
        "the ledger is sound: Σdebits = Σcredits, every balance equals its entries, every record MAC holds"
    );
    Ok(())
}

/// The report as printed: totals, then every problem found.
fn report_lines(report: &LedgerReport) -> Vec<String> {
    let mut lines = vec![
        format!("accounts:   {}", report.accounts),
        format!("transfers:  {} (record MACs checked)", report.transfers),
        format!("Σ debits:   {} CNY", yuan(i128::from(report.debits_fen))),
        format!("Σ credits:  {} CNY", yuan(i128::from(report.credits_fen))),
    ];
    if !report.discrepancies.is_empty() {
        lines.push(format!("discrepancies ({}):", report.discrepancies.len()));
        lines.extend(
            report
                .discrepancies
                .iter()
                .map(|found| format!("  {}", discrepancy(found))),
        );
    }
    if !report.tampered_transfers.is_empty() {
        lines.push(format!(
            "tampered transfers ({}):",
            report.tampered_transfers.len()
        ));
        lines.extend(report.tampered_transfers.iter().map(|id| {
            format!("  transfer {id}: its record MAC does not match; it was changed outside inspay")
        }));
    }
    lines
}

fn discrepancy(found: &Discrepancy) -> String {
    match found {
        Discrepancy::Unbalanced {
            debits_fen,
            credits_fen,
        } => format!(
            "the books do not balance: Σdebits {} CNY ≠ Σcredits {} CNY",
            yuan(i128::from(*debits_fen)),
            yuan(i128::from(*credits_fen))
        ),
        Discrepancy::BalanceMismatch {
            code,
            entries_fen,
            balance_fen,
        } => format!(
            "account {code}: kept balance {} CNY, but its entries add up to {} CNY",
            yuan(i128::from(*balance_fen)),
            yuan(i128::from(*entries_fen))
        ),
        Discrepancy::BelowBound { code } => {
            format!("account {code}: its balance is below zero, which this account may not be")
        }
        Discrepancy::UnknownAccount { code } => {
            format!("account {code}: not an account the ledger knows")
        }
    }
}

/// Every ledger account and its kept balance in fen, in code order, at most `limit` rows.
///
/// The store has no such query yet; this reads the table through the store's pool, in the SQL
/// both backends accept, until `Store::ledger_accounts` exists.
async fn ledger_accounts(store: &Store, limit: i64) -> anyhow::Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT code, balance_fen FROM ledger_accounts ORDER BY code LIMIT $1")
        .bind(limit)
        .fetch_all(store.pool())
        .await
        .context("cannot read the ledger accounts")?;
    rows.iter()
        .map(|row| Ok((row.try_get::<String, _>(0)?, row.try_get::<i64, _>(1)?)))
        .collect::<Result<_, sqlx::Error>>()
        .context("a ledger account row is malformed")
}

async fn balances(store: &Store, limit: u32) -> anyhow::Result<()> {
    // One row more than shown tells whether there are more.
    let mut accounts = ledger_accounts(store, i64::from(limit) + 1).await?;
    let more = accounts.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    accounts.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    if accounts.is_empty() {
        println!("no ledger accounts yet: nothing has been posted");
        return Ok(());
    }
    for line in chart_lines(&accounts) {
        println!("{line}");
    }
    if more {
        println!("showing the first {limit} accounts in code order; raise --limit to see more");
    }
    println!(
        "{} account(s); these are the kept balances: `inspay ledger check` proves them against the entries",
        accounts.len()
    );
    Ok(())
}

/// The balances table with a bar per account, scaled to the largest absolute balance.
fn chart_lines(accounts: &[(String, i64)]) -> Vec<String> {
    let code_width = accounts
        .iter()
        .map(|(code, _)| code.chars().count())
        .max()
        .unwrap_or(0)
        .max("ACCOUNT".len());
    let scale_fen = accounts
        .iter()
        .map(|(_, balance_fen)| balance_fen.unsigned_abs())
        .max()
        .unwrap_or(0);
    let mut lines = vec![format!(
        "{:<code_width$}  {:>20}",
        "ACCOUNT", "BALANCE (CNY)"
    )];
    for (code, balance_fen) in accounts {
        lines.push(format!(
            "{code:<code_width$}  {:>20}  {}",
            yuan(i128::from(*balance_fen)),
            bar(*balance_fen, scale_fen, BAR_CELLS)
        ));
    }
    if accounts.iter().any(|(_, balance_fen)| *balance_fen < 0) {
        lines.push(format!(
            "{BAR_NEGATIVE} below zero (only channel_clearing may be: claims paid ahead of premiums collected)"
        ));
    }
    lines
}

/// A bar `cells` wide at `scale_fen`, in eighths of a cell; a non-zero balance gets at least
/// one eighth so it never looks like zero. Balances below zero are drawn in whole shaded cells.
fn bar(balance_fen: i64, scale_fen: u64, cells: usize) -> String {
    debug_assert!(balance_fen.unsigned_abs() <= scale_fen);
    if balance_fen == 0 || scale_fen == 0 || cells == 0 {
        return String::new();
    }
    let eighths_max = u128::try_from(cells).unwrap_or(u128::MAX).saturating_mul(8);
    // Rounded to the nearest eighth; u128 cannot overflow: |balance| < 2⁶³ and cells × 8 is
    // small.
    let eighths = (u128::from(balance_fen.unsigned_abs()) * eighths_max
        + u128::from(scale_fen) / 2)
        / u128::from(scale_fen);
    let eighths = usize::try_from(eighths.clamp(1, eighths_max)).unwrap_or(cells * 8);
    if balance_fen < 0 {
        return BAR_NEGATIVE.to_string().repeat(eighths.div_ceil(8));
    }
    let mut text = BAR_EIGHTHS[7].to_string().repeat(eighths / 8);
    if eighths % 8 > 0 {
        text.push(BAR_EIGHTHS[eighths % 8 - 1]);
    }
    text
}

async fn statement(store: &Store, account: &AccountRef, limit: u32) -> anyhow::Result<()> {
    let code = account.code();
    // One line more than shown tells whether there are more.
    let mut lines = store
        .ledger_statement(account, i64::from(limit) + 1)
        .await
        .with_context(|| format!("cannot read the statement of {code}"))?;
    let more = lines.len() > usize::try_from(limit).unwrap_or(usize::MAX);
    lines.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
    let kept_fen = store.ledger_balance(account).await?;
    let normal = account.kind().normal_side();
    if lines.is_empty() {
        println!(
            "no entries for {code} yet (kept balance {} CNY)",
            yuan(i128::from(kept_fen))
        );
        return Ok(());
    }
    println!(
        "statement of {code} (grows on the {} side), oldest first",
        normal.as_str()
    );
    let (table, running_fen) = statement_lines(&lines, normal);
    for line in table {
        println!("{line}");
    }
    println!("kept balance: {} CNY", yuan(i128::from(kept_fen)));
    if more {
        println!(
            "showing the first {limit} entries; raise --limit (at most {STATEMENT_LINES_MAX}) to see the rest"
        );
        return Ok(());
    }
    if running_fen != i128::from(kept_fen) {
        bail!(
            "the entries of {code} add up to {} CNY but its kept balance is {} CNY; run `inspay ledger check` and investigate (clause 5.6.1-b)",
            yuan(running_fen),
            yuan(i128::from(kept_fen))
        );
    }
    println!("the entries add up to the kept balance");
    Ok(())
}

/// The statement table and the running balance after its last line.
fn statement_lines(lines: &[StatementLine], normal: Side) -> (Vec<String>, i128) {
    let mut table = vec![format!(
        "{:<16}  {:<26}  {:<48}  {:>18}  {:>18}  {:>20}  TRANSFER",
        "DATE (UTC)", "EVENT", "SUBJECT", "DEBIT", "CREDIT", "BALANCE"
    )];
    let mut running_fen: i128 = 0;
    for line in lines {
        let amount = yuan(i128::from(line.amount_fen));
        let (debit, credit) = match line.side {
            Side::Debit => (amount, String::new()),
            Side::Credit => (String::new(), amount),
        };
        if line.side == normal {
            running_fen += i128::from(line.amount_fen);
        } else {
            running_fen -= i128::from(line.amount_fen);
        }
        table.push(format!(
            "{:<16}  {:<26}  {:<48}  {debit:>18}  {credit:>18}  {:>20}  {}",
            super::utc_date(line.at_ms),
            line.event,
            line.subject,
            yuan(running_fen),
            line.transfer_id
        ));
    }
    (table, running_fen)
}

/// `1234.56` or `-1234.56`: yuan with two decimals from fen of either sign.
fn yuan(fen: i128) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let magnitude = fen.unsigned_abs();
    format!("{sign}{}.{:02}", magnitude / 100, magnitude % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every account name the help and the refusal list parses, so the list stays in step
    /// with the ledger's accounts.
    #[test]
    fn listed_account_names_parse() {
        for name in ACCOUNT_NAMES {
            let code = name.replace("<customer>", "01890f2e-7c1a-7b3e-9f00-1c2d3e4f5a6b");
            assert!(AccountRef::parse(&code).is_ok(), "{code}");
        }
        let error = parse_account("petty_cash").expect_err("unknown account");
        assert!(error.contains("premium_income"), "{error}");
        assert!(parse_account("customer_funds").is_err(), "needs a customer");
    }

    /// Yuan text keeps the sign and two decimals.
    #[test]
    fn yuan_of_fen() {
        assert_eq!(yuan(0), "0.00");
        assert_eq!(yuan(5), "0.05");
        assert_eq!(yuan(120_000), "1200.00");
        assert_eq!(yuan(-120_001), "-1200.01");
        assert_eq!(yuan(i128::from(i64::MIN)), "-92233720368547758.08");
    }

    /// Bars scale to the largest balance, in eighths; a small balance still shows, zero shows
    /// nothing, and a negative balance is shaded.
    #[test]
    fn bars_scale_to_the_largest_balance() {
        assert_eq!(bar(100, 100, 4), "████");
        assert_eq!(bar(50, 100, 4), "██");
        assert_eq!(bar(25, 100, 1), "▎");
        assert_eq!(bar(1, 1_000_000, 4), "▏");
        assert_eq!(bar(0, 100, 4), "");
        assert_eq!(bar(-50, 100, 4), "░░");
        assert_eq!(bar(i64::MIN, i64::MIN.unsigned_abs(), 2), "░░");
        assert_eq!(bar(i64::MAX, i64::MAX.unsigned_abs(), 2), "██");
    }

    /// The chart lists each account once with its balance, and explains shaded bars.
    #[test]
    fn chart_lists_every_account() {
        let accounts = vec![
            ("channel_clearing".to_string(), -5_000),
            ("premium_income".to_string(), 10_000),
            ("claims_expense".to_string(), 0),
        ];
        let lines = chart_lines(&accounts);
        assert_eq!(lines.len(), 5, "{lines:?}");
        assert!(lines[1].contains("-50.00") && lines[1].contains("░"));
        assert!(lines[2].contains("100.00") && lines[2].ends_with(&"█".repeat(BAR_CELLS)));
        assert!(lines[3].trim_end().ends_with("0.00"));
        assert!(lines[4].contains("below zero"));
    }

    /// A statement's running balance grows on the account's normal side.
    /// req: 4-b
    #[test]
    fn statement_runs_the_balance_on_the_normal_side() {
        let line = |side, amount_fen| StatementLine {
            transfer_id: "t".into(),
            event: "premium_received".into(),
            subject: "payment:P-1".into(),
            side,
            amount_fen,
            at_ms: 0,
        };
        let lines = [line(Side::Credit, 1_000), line(Side::Debit, 300)];
        let (table, running_fen) = statement_lines(&lines, Side::Credit);
        assert_eq!(running_fen, 700);
        assert_eq!(table.len(), 3);
        assert!(table[2].contains("7.00"), "{}", table[2]);
        let (_, running_fen) = statement_lines(&lines, Side::Debit);
        assert_eq!(running_fen, -700);
    }
}
