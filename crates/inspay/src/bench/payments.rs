//! `inspay bench payments`: premium payments end to end, as customers make them: signed
//! requests through the SDK over TLS on loopback to a server in this process, which pays each
//! premium through the simulated bank (also in this process, its own signed protocol), posts the
//! ledger and answers. Renewals paid with a saved card (no step-up: basic level), for
//! `--seconds` with `--concurrency` customers paying at once, each paying its own policy's
//! premiums one after another.
//!
//! Beside the rate, the bound signatures alone would set: each payment costs four SM2
//! signatures and four verifications (the customer's request and the server's answer; the
//! server's request to the bank and the bank's answer), so the machine could pay at most
//! `cores / (4 sign + 4 verify)` premiums a second if signatures were the only work.
//!
//! Then the two fund-safety checks of issue 5, reported as counts: 100 concurrent identical
//! payment requests with one idempotency key (exactly one payment, one bank order), and 100
//! concurrent refunds of 1.50 against one 100.00 payment (exactly 66 accepted, 99.00 refunded at
//! the bank once the outbox has sent them).

use super::api::{Outcome, collect, median, process_cpu_s, sm2_costs};
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_core::calendar::date_at_ms;
use inspay_core::funds::{ChannelOutcome, OrderStatus};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_server::state::AppState;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::funds::{
    BeginPayment, NewProduct, NewRefund, PaymentMethod, RefundReason, SettleOrder,
};
use inspay_store::keys::Actor;
use std::time::{Duration, Instant};

/// `inspay bench payments` options.
#[derive(Debug, clap::Args)]
pub struct PaymentsArgs {
    /// Seconds of paying.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// Customers paying at once (one request in flight each).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Database for the benchmark server (default: SQLite in a temporary directory), e.g.
    /// postgres://postgres@127.0.0.1/bench (the database must exist and be empty).
    #[arg(long)]
    pub database_url: Option<String>,
}

const WHO: Actor<'static> = Actor {
    actor: "operator:bench",
    request_id: "bench-payments",
};
/// The test card the simulated bank accepts.
const CARD: &str = "6222021234567890128";
/// One premium: 100.00 CNY a month, a small renewal.
const PREMIUM_FEN: i64 = 10_000;

/// Runs the benchmark.
pub fn run(args: &PaymentsArgs) -> Result<()> {
    if !(1..=512).contains(&args.concurrency) || args.seconds == 0 {
        bail!("--concurrency must be 1 to 512 and --seconds at least 1");
    }
    crate::commands::runtime()?.block_on(measure(args))
}

/// A customer ready to pay: a client, a session, a policy and a saved card.
struct Payer {
    session: String,
    policy_id: String,
    method_id: String,
}

async fn measure(args: &PaymentsArgs) -> Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let bar = ProgressBar::new(6).with_style(
        ProgressStyle::with_template("{msg:34} {bar:40} {pos}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message("SM2 sign and verify");
    let (sign_before, verify_before) = tokio::task::spawn_blocking(sm2_costs)
        .await
        .context("the SM2 measurement stopped")??;
    bar.inc(1);

    bar.set_message("starting the server and the bank");
    let server =
        super::server::BenchServer::start("payments", args.database_url.as_deref(), |settings| {
            settings.protection.account_per_minute = 1_000_000_000;
            settings.payments.premium_payments_per_day_max = 1_000;
            settings.payments.premium_per_day_fen_max = inspay_core::money::MONEY_FEN_MAX;
            // Each benchmark customer pays hundreds of premiums a minute, which the risk
            // engine's velocity rules would rightly hold for review: raised here, so the run
            // measures payments. The engine still decides (and records) every one.
            settings.risk.velocity_count_1h_max = i64::MAX / 4;
            settings.risk.velocity_sum_24h_fen_max = i64::MAX / 4;
        })
        .await?;
    let state = server.state.clone();
    let client = server.client.clone();
    bar.inc(1);

    bar.set_message("customers, policies, saved cards");
    let product_id = monthly_product(&state).await?;
    let payers = prepare(&state, &client, &product_id, 0, args.concurrency).await?;
    bar.inc(1);

    bar.set_message("paying renewals with saved cards");
    let outcome = pay_renewals(&client, payers, Duration::from_secs(args.seconds)).await?;
    bar.inc(1);

    bar.set_message("one idempotency key, 100 requests");
    let idempotent = one_key_many_requests(&state, &client, &product_id, args.concurrency).await?;
    bar.set_message("100 concurrent refunds");
    let refunds = concurrent_refunds(&state).await?;
    bar.inc(1);

    bar.set_message("SM2 sign and verify, again");
    let (sign_after, verify_after) = tokio::task::spawn_blocking(sm2_costs)
        .await
        .context("the SM2 measurement stopped")??;
    let sign_s = median([sign_before, sign_after].concat());
    let verify_s = median([verify_before, verify_after].concat());
    let bound = cores as f64 / (4.0 * sign_s + 4.0 * verify_s);
    let ledger = state.store.ledger_check(&state.keyring()).await?;
    bar.inc(1);
    bar.finish_and_clear();
    server.stop().await;

    report(args, cores, sign_s, verify_s, bound, &outcome);
    println!();
    println!(
        "one idempotency key, 100 concurrent identical requests: {} answered 201, {} answered 409 (still in progress), {} other; payments created: {}; bank orders: {}",
        idempotent.created,
        idempotent.in_progress,
        idempotent.other,
        idempotent.payments,
        idempotent.bank_orders
    );
    println!(
        "100 concurrent refunds of 1.50 against one 100.00 payment: {} accepted, {} refused; refunded in the ledger {} fen, confirmed by the bank's signed answers {} fen (allowed: 9900)",
        refunds.accepted, refunds.refused, refunds.recorded_fen, refunds.bank_fen
    );
    println!(
        "ledger after the run: {} accounts, {} transfers, debits {} = credits {}: {}",
        ledger.accounts,
        ledger.transfers,
        ledger.debits_fen,
        ledger.credits_fen,
        if ledger.is_sound() {
            "sound"
        } else {
            "NOT SOUND"
        }
    );
    if outcome.errors > 0 {
        bail!(
            "{} payments failed; the figures count only the successful ones",
            outcome.errors
        );
    }
    if idempotent.payments != 1 || idempotent.bank_orders != 1 {
        bail!("one idempotency key made {} payments", idempotent.payments);
    }
    if refunds.accepted != 66 || refunds.recorded_fen != 9_900 || refunds.bank_fen != 9_900 {
        bail!("the concurrent refunds did not add up to exactly the allowed amount");
    }
    if !ledger.is_sound() {
        bail!("the ledger check failed after the run");
    }
    Ok(())
}

fn report(
    args: &PaymentsArgs,
    cores: usize,
    sign_s: f64,
    verify_s: f64,
    bound: f64,
    outcome: &Outcome,
) {
    println!(
        "inspay bench payments: {} s, {} customers paying at once, {} cores, database {}",
        args.seconds,
        args.concurrency,
        cores,
        if args.database_url.is_some() {
            "PostgreSQL"
        } else {
            "SQLite"
        }
    );
    println!(
        "SM2 on this machine, one core: sign {:.1} µs, verify {:.1} µs; bound = {cores} / (4 sign + 4 verify) = {bound:.0} payments/s",
        sign_s * 1e6,
        verify_s * 1e6
    );
    let (per_payment, busy) = match outcome.cpu_s {
        Some(cpu_s) => (
            format!("{:.0}", cpu_s / outcome.requests.max(1) as f64 * 1e6),
            format!(
                "{:.0}%",
                cpu_s / (cores as f64 * outcome.elapsed.as_secs_f64()) * 100.0
            ),
        ),
        None => ("-".into(), "-".into()),
    };
    println!();
    println!(
        "{:<28} {:>10} {:>7} {:>9} {:>9} {:>9} {:>12} {:>8}",
        "scenario", "payments/s", "errors", "p50 ms", "p99 ms", "of bound", "CPU µs/pay", "busy"
    );
    println!(
        "{:<28} {:>10.0} {:>7} {:>9.2} {:>9.2} {:>8.0}% {:>12} {:>8}",
        outcome.name,
        outcome.rate(),
        outcome.errors,
        outcome.percentile_ms(0.5),
        outcome.percentile_ms(0.99),
        outcome.rate() / bound * 100.0,
        per_payment,
        busy
    );
    println!();
    let widest = bound.max(outcome.rate());
    for (name, value) in [("signature bound", bound), (outcome.name, outcome.rate())] {
        let width = ((value / widest) * 50.0).round() as usize;
        println!("{name:<28} {} {value:.0}/s", "█".repeat(width.max(1)));
    }
}

/// A monthly product of 50 years (600 premiums per policy), and per customer: an account, a
/// session, a policy whose first premium is recorded paid, and a first renewal paid by card
/// through the API, which saves the card for the rest.
async fn monthly_product(state: &AppState) -> Result<inspay_core::ids::ProductId> {
    let terms = ProductTerms::new(
        Amount::from_fen(100_000_000)?,
        Amount::from_fen(PREMIUM_FEN)?,
        PaymentFrequency::Monthly,
        600,
        30,
    )?;
    product(state, "BENCH-M", terms).await
}

async fn prepare(
    state: &AppState,
    client: &inspay_sdk::Client,
    product_id: &inspay_core::ids::ProductId,
    first: usize,
    customers: usize,
) -> Result<Vec<Payer>> {
    let keyring = state.keyring();
    let mut payers = Vec::with_capacity(customers);
    for index in first..first + customers {
        let now = state.now_ms();
        let (account, policy_id, first) =
            customer_with_first_payment(state, product_id, &format!("139{index:08}")).await?;
        let (session, _) = state
            .store
            .session_start(
                &account,
                "two-factor",
                &state.session_policy(),
                "bench",
                now,
            )
            .await?;
        let settle = SettleOrder {
            outcome: ChannelOutcome::Succeeded,
            channel_ref: None,
            failure_code: None,
            evidence: None,
        };
        state
            .store
            .payment_settle(&keyring, &first.id, &settle, None, "bench", now)
            .await?;
        let session = session.expose().to_string();
        let paid = client
            .post(format!("/v1/policies/{policy_id}/premiums/2/pay"))
            .session(&session)
            .idempotent()
            .json(&serde_json::json!({ "card_number": CARD, "expiry": "12/30", "cvv": "123" }))?
            .send()
            .await?;
        if paid.status() != 201 {
            bail!("the first renewal by card answered {}", paid.status());
        }
        let methods: serde_json::Value = client
            .get("/v1/me/payment-methods")
            .session(&session)
            .send()
            .await?
            .json()?;
        let method_id = methods["payment_methods"][0]["id"]
            .as_str()
            .context("no saved card after a card payment")?
            .to_string();
        payers.push(Payer {
            session,
            policy_id: policy_id.to_string(),
            method_id,
        });
    }
    Ok(payers)
}

async fn pay_renewals(
    client: &inspay_sdk::Client,
    payers: Vec<Payer>,
    duration: Duration,
) -> Result<Outcome> {
    let deadline = Instant::now() + duration;
    let cpu_before = process_cpu_s();
    let started = Instant::now();
    let mut tasks = vec![];
    for payer in payers {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = vec![];
            let mut errors = 0usize;
            let mut number = 3u32;
            while Instant::now() < deadline && number <= 600 {
                let sent = Instant::now();
                let answer = client
                    .post(format!(
                        "/v1/policies/{}/premiums/{number}/pay",
                        payer.policy_id
                    ))
                    .session(&payer.session)
                    .idempotent()
                    .json(&serde_json::json!({ "payment_method_id": payer.method_id }));
                let ok = match answer {
                    Ok(request) => {
                        matches!(request.send().await, Ok(answer) if answer.status() == 201)
                    }
                    Err(_) => false,
                };
                if ok {
                    latencies.push(sent.elapsed());
                } else {
                    errors += 1;
                }
                number += 1;
            }
            (latencies, errors)
        }));
    }
    collect("renewal, saved card", tasks, started, cpu_before).await
}

struct Idempotent {
    created: usize,
    in_progress: usize,
    other: usize,
    payments: usize,
    bank_orders: usize,
}

/// 100 identical requests with one idempotency key, all at once, for one premium.
async fn one_key_many_requests(
    state: &AppState,
    client: &inspay_sdk::Client,
    product_id: &inspay_core::ids::ProductId,
    first: usize,
) -> Result<Idempotent> {
    let payer = prepare(state, client, product_id, first, 1)
        .await?
        .pop()
        .context("no payer")?;
    let key = inspay_sdk::new_idempotency_key()?;
    let mut tasks = vec![];
    for _ in 0..100 {
        let client = client.clone();
        let path = format!("/v1/policies/{}/premiums/3/pay", payer.policy_id);
        let session = payer.session.clone();
        let key = key.clone();
        let body = serde_json::json!({ "payment_method_id": payer.method_id });
        tasks.push(tokio::spawn(async move {
            match client
                .post(path)
                .session(&session)
                .idempotency_key(key)
                .json(&body)
            {
                Ok(request) => match request.send().await {
                    Ok(answer) => answer.status(),
                    Err(inspay_sdk::Error::Api { status, .. }) => status,
                    Err(_) => 0,
                },
                Err(_) => 0,
            }
        }));
    }
    let mut statuses = vec![];
    for task in tasks {
        statuses.push(task.await.context("a request task stopped")?);
    }
    let policy_id = inspay_core::ids::PolicyId::parse(&payer.policy_id)?;
    let payments = state
        .store
        .payments_of_policy(&state.keyring(), &policy_id)
        .await?
        .into_iter()
        .filter(|payment| payment.number == 3)
        .collect::<Vec<_>>();
    let mut bank_orders = 0;
    for payment in &payments {
        bank_orders += state
            .store
            .channel_evidence(&state.keyring(), payment.id.as_str())
            .await?
            .len();
    }
    Ok(Idempotent {
        created: statuses.iter().filter(|status| **status == 201).count(),
        in_progress: statuses.iter().filter(|status| **status == 409).count(),
        other: statuses
            .iter()
            .filter(|status| **status != 201 && **status != 409)
            .count(),
        payments: payments.len(),
        bank_orders,
    })
}

struct Refunds {
    accepted: usize,
    refused: usize,
    recorded_fen: i64,
    bank_fen: i64,
}

/// 100 refunds of 1.50 at once against one 100.00 payment, then sent to the bank by the outbox.
async fn concurrent_refunds(state: &AppState) -> Result<Refunds> {
    let keyring = state.keyring();
    let terms = ProductTerms::new(
        Amount::from_fen(100_000_000)?,
        Amount::from_fen(10_000)?,
        PaymentFrequency::Single,
        12,
        30,
    )?;
    let product_id = product(state, "BENCH-R", terms).await?;
    let (_, _, payment) = customer_with_first_payment(state, &product_id, "13899999999").await?;
    // The payment goes through the bank, so the bank can refund it.
    let channel = state.channel_slot().get().context("no channel")?;
    let order = inspay_channel::PayOrder::new(
        inspay_channel::OrderId::parse(payment.id.as_str())?,
        payment.amount.fen(),
        inspay_channel::PaySource::Card(inspay_channel::CardDetails {
            number: inspay_core::sensitive::CardNumber::parse(CARD)?,
            expiry: inspay_core::sensitive::CardExpiry::parse("12/30")?,
            cvv: None,
        }),
    )?;
    let answer = inspay_channel::PaymentChannel::pay(&channel, order).await;
    inspay_server::payments::premium::record(state, &payment.id, answer, "bench")
        .await
        .map_err(|error| anyhow::anyhow!("recording the payment: {:?}", error.code()))?;
    let paid = state.store.payment(&keyring, &payment.id, None).await?;
    if paid.status != OrderStatus::Succeeded {
        bail!("the refund benchmark's payment did not succeed");
    }
    let mut tasks = vec![];
    for _ in 0..100 {
        let state = state.clone();
        let payment_id = payment.id.clone();
        tasks.push(tokio::spawn(async move {
            let keyring = state.keyring();
            state
                .store
                .refund_request(
                    &keyring,
                    NewRefund {
                        payment_id: &payment_id,
                        amount: Amount::from_fen(150).expect("positive"),
                        reason: RefundReason::Goodwill,
                        requested_by: "operator:bench",
                    },
                    "bench",
                    state.now_ms(),
                )
                .await
                .is_ok()
        }));
    }
    let mut accepted = 0;
    for task in tasks {
        if task.await.context("a refund task stopped")? {
            accepted += 1;
        }
    }
    // The outbox sends them (this node's worker runs too, so both drive): wait until none is
    // pending, at most 60 s.
    let waited = Instant::now();
    loop {
        inspay_server::payments::worker::drive(state).await;
        let pending = state
            .store
            .refunds_of_payment(&keyring, &payment.id)
            .await?
            .iter()
            .filter(|refund| refund.status == OrderStatus::Pending)
            .count();
        if pending == 0 {
            break;
        }
        if waited.elapsed() > Duration::from_secs(60) {
            bail!("{pending} refunds were still pending after 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refunds = state
        .store
        .refunds_of_payment(&keyring, &payment.id)
        .await?;
    let recorded_fen = refunds
        .iter()
        .filter(|refund| refund.status != OrderStatus::Failed)
        .map(|refund| refund.amount.fen())
        .sum();
    let mut bank_fen = 0;
    for refund in refunds
        .iter()
        .filter(|refund| refund.status == OrderStatus::Succeeded)
    {
        let kept = state
            .store
            .channel_evidence(&keyring, refund.id.as_str())
            .await?;
        if !kept.is_empty() {
            bank_fen += refund.amount.fen();
        }
    }
    Ok(Refunds {
        accepted,
        refused: 100 - accepted,
        recorded_fen,
        bank_fen,
    })
}

/// A product with these terms.
async fn product(
    state: &AppState,
    code: &str,
    terms: ProductTerms,
) -> Result<inspay_core::ids::ProductId> {
    Ok(state
        .store
        .product_create(
            &state.keyring(),
            &NewProduct {
                code: code.into(),
                name: format!("Benchmark {code}"),
                terms,
            },
            WHO.actor,
            WHO.request_id,
            state.now_ms(),
        )
        .await?
        .id)
}

/// A customer account (without a person: it never signs in with a password), a policy on
/// `product_id` starting today, and the payment of its first premium begun (pending).
async fn customer_with_first_payment(
    state: &AppState,
    product_id: &inspay_core::ids::ProductId,
    mobile: &str,
) -> Result<(
    String,
    inspay_core::ids::PolicyId,
    inspay_store::funds::Payment,
)> {
    let keyring = state.keyring();
    let now = state.now_ms();
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        b"not used to sign in",
        ITERATIONS_MIN,
    )?;
    let account = state
        .store
        .account_create(
            &keyring,
            &NewAccount {
                population: Population::Customer,
                login_name: &LoginName::customer(mobile)?,
                person_id: None,
                password: &hash,
                must_change_password: false,
            },
            WHO,
            now,
        )
        .await?;
    let (policy, _) = state
        .store
        .policy_apply(
            &keyring,
            &account,
            product_id,
            date_at_ms(now),
            "bench",
            now,
        )
        .await?;
    let payment = state
        .store
        .payment_begin(
            &keyring,
            BeginPayment {
                policy_id: &policy.id,
                number: 1,
                account_id: &account,
                method: PaymentMethod::Card {
                    masked: "622202*********0128".into(),
                },
                resolve_at_ms: now + 60_000,
            },
            "bench",
            now,
        )
        .await?;
    Ok((account, policy.id, payment))
}
