//! `inspay products`: the insurance products policies are written on (issue 5 item 1; clause
//! 5.3.1.3).
//!
//! Amounts are given in yuan text (`1200.00`) and parsed digit by digit into integer fen by
//! [`Amount::parse_yuan`], which refuses zero, negative and malformed sums; the terms are
//! checked by [`ProductTerms::new`]. A refused product names the rule it broke and nothing is
//! written. Every product created is audited by the store with the operator as the actor
//! (`product.create`).

use anyhow::{anyhow, bail};
use clap::Subcommand;
use inspay_core::money::{Amount, MoneyError};
use inspay_core::policy::{PaymentFrequency, ProductTerms, TermsError};
use inspay_store::Store;
use inspay_store::funds::{FundsError, NewProduct, Product};
use inspay_store::keys::Actor;
use std::path::Path;

/// The longest product code; the `products` table checks the same bound.
pub const PRODUCT_CODE_CHARS_MAX: usize = 32;
/// The longest product name; the `products` table checks the same bound.
pub const PRODUCT_NAME_CHARS_MAX: usize = 80;

/// Product commands.
#[derive(Debug, Subcommand)]
pub enum ProductsCommand {
    /// Put a product on sale: its cover, its premium per instalment, how often that is paid,
    /// its term and the grace period after a missed renewal.
    #[command(
        after_help = "Examples:\n  inspay products add --code TERM-LIFE-10 --name \"Term life 10y\" --cover 500000.00 --premium 1200.00 --frequency yearly --term-months 120 --grace-days 30\n  inspay products add --code ACC-1Y --name \"Accident 1y\" --cover 100000 --premium 25.50 --frequency monthly --term-months 12\n\nAmounts are yuan with at most two decimals, greater than zero (clause 5.3.1.3)."
    )]
    Add {
        /// A unique code, 1 to 32 of A-Z a-z 0-9 - _, such as TERM-LIFE-10. Never reused.
        #[arg(long, value_name = "CODE", value_parser = parse_code)]
        code: String,
        /// The display name (1 to 80 characters).
        #[arg(long, value_name = "NAME", value_parser = parse_name)]
        name: String,
        /// The most all claims on one policy may pay, in yuan, such as 500000.00.
        #[arg(long, value_name = "YUAN", value_parser = parse_amount, allow_hyphen_values = true)]
        cover: Amount,
        /// The premium of one instalment, in yuan, such as 1200.00.
        #[arg(long, value_name = "YUAN", value_parser = parse_amount, allow_hyphen_values = true)]
        premium: Amount,
        /// How often the premium is paid: single, monthly or yearly.
        #[arg(long, value_name = "FREQUENCY", value_parser = parse_frequency)]
        frequency: PaymentFrequency,
        /// How long a policy runs, in months (1 to 600; whole years for a yearly product).
        #[arg(long, value_name = "MONTHS")]
        term_months: u32,
        /// Days a renewal premium may stay unpaid before the policy lapses (0 to 90).
        #[arg(long, value_name = "DAYS", default_value_t = 30)]
        grace_days: u32,
    },
    /// List every product, on sale or withdrawn, in code order.
    #[command(after_help = "Example:\n  inspay products list")]
    List,
}

/// Parses a yuan amount for a product: positive, at most two decimals (clause 5.3.1.3).
fn parse_amount(text: &str) -> Result<Amount, String> {
    // `Amount::parse_yuan` reads a sign as malformed; an operator who typed one is better
    // told the rule it breaks.
    let error = if text.trim_start().starts_with('-') {
        MoneyError::Negative
    } else {
        match Amount::parse_yuan(text) {
            Ok(amount) => return Ok(amount),
            Err(error) => error,
        }
    };
    Err(format!(
        "{error} (clause 5.3.1.3: amounts are yuan greater than zero with at most two decimals, such as 1200.00)"
    ))
}

fn parse_frequency(text: &str) -> Result<PaymentFrequency, String> {
    PaymentFrequency::parse(text)
        .ok_or_else(|| format!("unknown frequency '{text}'; use single, monthly or yearly"))
}

fn parse_code(text: &str) -> Result<String, String> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    if text.is_empty()
        || text.chars().count() > PRODUCT_CODE_CHARS_MAX
        || !text.chars().all(allowed)
    {
        return Err(format!(
            "a product code is 1 to {PRODUCT_CODE_CHARS_MAX} of A-Z a-z 0-9 - _, such as TERM-LIFE-10"
        ));
    }
    Ok(text.to_string())
}

fn parse_name(text: &str) -> Result<String, String> {
    let name = text.trim();
    if name.is_empty() || name.chars().count() > PRODUCT_NAME_CHARS_MAX {
        return Err(format!(
            "a product name is 1 to {PRODUCT_NAME_CHARS_MAX} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("a product name may not hold control characters".into());
    }
    Ok(name.to_string())
}

/// What to do about refused terms.
fn terms_refusal(error: TermsError) -> anyhow::Error {
    let next = match error {
        TermsError::Term => "give --term-months between 1 and 600",
        TermsError::YearlyTerm => {
            "give --term-months as a multiple of 12 (120 for ten years), or choose --frequency monthly"
        }
        TermsError::Grace => "give --grace-days between 0 and 90",
        TermsError::TotalTooLarge => "lower the premium or shorten the term",
    };
    anyhow!("the product terms are refused: {error} (clause 5.3.1.3); {next}")
}

/// Runs a products command.
pub async fn run(config: Option<&Path>, command: ProductsCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    // Terms are checked before anything is opened, so a refusal writes nothing.
    let new = match command {
        ProductsCommand::Add {
            code,
            name,
            cover,
            premium,
            frequency,
            term_months,
            grace_days,
        } => Some(NewProduct {
            code,
            name,
            terms: ProductTerms::new(cover, premium, frequency, term_months, grace_days)
                .map_err(terms_refusal)?,
        }),
        ProductsCommand::List => None,
    };
    let store = super::store(&settings).await?;
    let master = inspay_server::master_key::load(&settings)?;
    let operator = super::operator();
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    let now = inspay_store::now_ms();
    // Checks the master key against the stored check value (or initialises a new install).
    store
        .kms_initialise(&master, &settings.rotation_policy(), who, now)
        .await?;
    let keyring = store.keyring_load(&master).await?;
    match new {
        Some(product) => add(&store, &keyring, &product, who, now).await,
        None => list(&store, &keyring).await,
    }
}

async fn add(
    store: &Store,
    keyring: &inspay_kms::Keyring,
    product: &NewProduct,
    who: Actor<'_>,
    now: i64,
) -> anyhow::Result<()> {
    let created = match store
        .product_create(keyring, product, who.actor, who.request_id, now)
        .await
    {
        Ok(created) => created,
        Err(FundsError::ProductCodeTaken) => bail!(
            "a product with code {} exists; codes are never reused, so choose another code (see `inspay products list`)",
            product.code
        ),
        Err(error) => return Err(anyhow::Error::new(error).context("cannot add the product")),
    };
    let terms = &created.terms;
    println!(
        "product {} ({}) is on sale: cover {}, premium {} {}, term {} months, grace {} days",
        created.code,
        created.name,
        terms.cover(),
        terms.premium(),
        terms.frequency().as_str(),
        terms.term_months(),
        terms.grace_days()
    );
    let total = terms
        .total_premium()
        .map(|total| total.to_string())
        .unwrap_or_else(|| "-".into());
    println!(
        "a policy on it pays {} premium(s), {total} in all",
        terms.instalment_count()
    );
    Ok(())
}

async fn list(store: &Store, keyring: &inspay_kms::Keyring) -> anyhow::Result<()> {
    let products = store.products(keyring).await?;
    if products.is_empty() {
        println!(
            "no products yet; add one with `inspay products add` (see `inspay products add --help`)"
        );
        return Ok(());
    }
    println!("{}", table_header());
    for product in &products {
        println!("{}", table_row(product));
    }
    let on_sale = products.iter().filter(|product| product.on_sale).count();
    println!("\n{} product(s), {on_sale} on sale", products.len());
    Ok(())
}

fn table_header() -> String {
    format!(
        "{:<32}  {:<24}  {:>18}  {:>14}  {:<9}  {:>6}  {:>5}  {:<7}",
        "CODE", "NAME", "COVER (CNY)", "PREMIUM (CNY)", "FREQUENCY", "TERM", "GRACE", "ON SALE"
    )
}

fn table_row(product: &Product) -> String {
    let terms = &product.terms;
    format!(
        "{:<32}  {:<24}  {:>18}  {:>14}  {:<9}  {:>6}  {:>5}  {:<7}",
        product.code,
        truncate(&product.name, 24),
        terms.cover().money().to_yuan_string(),
        terms.premium().money().to_yuan_string(),
        terms.frequency().as_str(),
        format!("{}m", terms.term_months()),
        format!("{}d", terms.grace_days()),
        if product.on_sale { "yes" } else { "no" },
    )
}

/// At most `chars_max` characters, the last one an ellipsis when cut.
fn truncate(text: &str, chars_max: usize) -> String {
    if text.chars().count() <= chars_max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(chars_max.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Product amounts refuse zero, negative and malformed yuan, naming the rule.
    /// req: 5.3.1.3
    #[test]
    fn product_amounts_are_positive_yuan() {
        assert_eq!(parse_amount("1200.00").map(Amount::fen), Ok(120_000));
        assert_eq!(parse_amount("0.01").map(Amount::fen), Ok(1));
        for (text, rule) in [
            ("0", "greater than zero"),
            ("0.00", "greater than zero"),
            ("-1", "may not be negative"),
            (" -0.5", "may not be negative"),
            ("12.345", "at most two decimals"),
            ("1e3", "at most two decimals"),
            ("", "at most two decimals"),
        ] {
            let error = parse_amount(text).expect_err(text);
            assert!(error.contains(rule), "{text}: {error}");
            assert!(error.contains("5.3.1.3"), "{text}: {error}");
        }
    }

    /// Codes and names keep to the bounds the products table checks.
    #[test]
    fn codes_and_names_are_bounded() {
        assert!(parse_code("TERM-LIFE-10").is_ok());
        assert!(parse_code(&"A".repeat(PRODUCT_CODE_CHARS_MAX)).is_ok());
        assert!(parse_code(&"A".repeat(PRODUCT_CODE_CHARS_MAX + 1)).is_err());
        assert!(parse_code("").is_err());
        assert!(parse_code("TERM LIFE").is_err());
        assert_eq!(parse_name("  Term life  "), Ok("Term life".to_string()));
        assert!(parse_name(&"名".repeat(PRODUCT_NAME_CHARS_MAX)).is_ok());
        assert!(parse_name(&"名".repeat(PRODUCT_NAME_CHARS_MAX + 1)).is_err());
        assert!(parse_name("   ").is_err());
        assert!(parse_name("a\u{7}b").is_err());
    }

    /// Refused terms name the rule and the next step.
    #[test]
    fn refused_terms_say_what_to_do() {
        let message = terms_refusal(TermsError::YearlyTerm).to_string();
        assert!(message.contains("whole number of years"), "{message}");
        assert!(message.contains("multiple of 12"), "{message}");
    }

    /// Long names are cut with an ellipsis so the table keeps its columns.
    #[test]
    fn long_names_are_cut() {
        assert_eq!(truncate("short", 24), "short");
        let cut = truncate(&"x".repeat(30), 24);
        assert_eq!(cut.chars().count(), 24);
        assert!(cut.ends_with('…'));
    }
}
