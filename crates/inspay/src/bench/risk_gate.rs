//! Part 3 of `inspay bench risk`: what the risk engine adds to a real fund request, end to end.
//!
//! A fund route's only addition for the engine is one call to `risk::gate::pass`, so this part
//! times that call on a real server state (SQLite in a temporary directory, or the given
//! PostgreSQL database): the facts' database reads, the model's baselines, every pack in force,
//! the decision recorded under its record MAC, the export queued, the baselines learned, a hold
//! opened when the verdict is review. It runs `--gate-operations` premium payments of varied
//! customers and amounts twice: with no rule pack installed, then with a signed pack of
//! `--rules` rules installed through the same path as `inspay risk pack install`.

use super::risk::pack_text;
use super::server::BenchServer;
use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_risk::pack::{OperationKind, SignedPack};
use inspay_server::error::ErrorCode;
use inspay_server::risk::assess::Operation;
use inspay_server::risk::gate::{self, FUND_CHANNEL, Gate, OnStepUp};
use inspay_server::risk::holds::HeldOperation;
use inspay_server::state::AppState;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::keys::Actor;
use std::time::{Duration, Instant};

const WHO: Actor<'static> = Actor {
    actor: "operator:bench",
    request_id: "bench-risk-gate",
};
/// Customers the operations rotate over: few enough operations each that the velocity rules
/// stay quiet, as for ordinary customers.
const CUSTOMERS: usize = 500;

/// The timings of one pass.
pub(super) struct GatePass {
    pub(super) p50: Duration,
    pub(super) p99: Duration,
    pub(super) held_or_denied: usize,
}

/// Runs both passes and prints them; returns (without packs, with the pack).
pub(super) fn run(
    rules: usize,
    operations: usize,
    database_url: Option<&str>,
) -> Result<(GatePass, GatePass)> {
    crate::commands::runtime()?.block_on(async {
        let server = BenchServer::start("risk-gate", database_url, |_| {}).await?;
        let result = measure(&server.state, rules, operations).await;
        server.stop().await;
        result
    })
}

async fn measure(
    state: &AppState,
    rules: usize,
    operations: usize,
) -> Result<(GatePass, GatePass)> {
    let customers = customers(state).await?;
    let bare = pass(state, &customers, operations, "no rule pack").await?;
    install_pack(state, rules).await?;
    let packed = pass(state, &customers, operations, "with the pack").await?;
    let show = |name: &str, pass: &GatePass| {
        println!(
            "  {name}: p50 {:.0} µs, p99 {:.0} µs per fund request ({} of {operations} held or denied)",
            pass.p50.as_secs_f64() * 1e6,
            pass.p99.as_secs_f64() * 1e6,
            pass.held_or_denied
        );
    };
    println!(
        "gate (the whole engine as a fund route calls it, {operations} premium payments each):"
    );
    show("no rule pack", &bare);
    show(&format!("{rules}-rule pack"), &packed);
    println!(
        "  the pack's share: p99 {:+.0} µs",
        (packed.p99.as_secs_f64() - bare.p99.as_secs_f64()) * 1e6
    );
    Ok((bare, packed))
}

async fn customers(state: &AppState) -> Result<Vec<String>> {
    let keyring = state.keyring();
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        b"not used to sign in",
        ITERATIONS_MIN,
    )?;
    let mut ids = Vec::with_capacity(CUSTOMERS);
    for index in 0..CUSTOMERS {
        let mobile = format!("139{:08}", 40_000_000 + index);
        let id = state
            .store
            .account_create(
                &keyring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &LoginName::customer(&mobile)?,
                    person_id: None,
                    password: &hash,
                    must_change_password: false,
                },
                WHO,
                state.now_ms(),
            )
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

async fn install_pack(state: &AppState, rules: usize) -> Result<()> {
    let key = Sm2PrivateKey::generate()?;
    let manifest = pack_text(rules);
    let signature = SignedPack::sign(manifest.as_bytes(), "bench", &key)?;
    let keyring = state.keyring();
    let public = key.public_key();
    state
        .store
        .risk_signer_add(
            &keyring,
            "bench",
            &public.to_spki_pem(),
            &public.fingerprint(),
            WHO,
            state.now_ms(),
        )
        .await?;
    inspay_server::risk::packs::install(
        &state.store,
        &keyring,
        manifest.as_bytes(),
        &signature,
        WHO,
        state.now_ms(),
    )
    .await
    .map_err(|error| anyhow::anyhow!("the benchmark pack was refused: {error}"))?;
    state
        .risk()
        .reload_if_changed(&state.store, &keyring, state.now_ms())
        .await
        .context("the benchmark pack did not load")?;
    Ok(())
}

async fn pass(
    state: &AppState,
    customers: &[String],
    operations: usize,
    label: &'static str,
) -> Result<GatePass> {
    let bar = ProgressBar::new(operations as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg:>14} [{bar:40}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_message(label);
    let mut times = Vec::with_capacity(operations);
    let mut held_or_denied = 0;
    for index in 0..operations {
        let account = &customers[index % customers.len()];
        let policy = format!("bench-{}-{index}", label.replace(' ', "-"));
        // Amounts from 50.00 to 2,049.00 CNY, varied so the model sees spread.
        let amount = 5_000 + i64::try_from(index * 7_919 % 200_000).unwrap_or(0);
        let gate = Gate {
            operation: Operation {
                amount_fen: amount,
                product: "bench-term",
                reference: Some(&policy),
                ..Operation::new(OperationKind::PremiumPayment, account, FUND_CHANNEL)
            },
            requested_by: account,
            held: HeldOperation::PremiumPayment {
                policy_id: policy.clone(),
                number: 1,
            },
            on_step_up: OnStepUp::Ask,
        };
        let started = Instant::now();
        let passed = gate::pass(state, &gate, state.now_ms()).await;
        match passed {
            Ok(passed) => passed.went_ahead(state).await,
            Err(error)
                if matches!(
                    error.code(),
                    ErrorCode::RiskHeld | ErrorCode::RiskDenied | ErrorCode::StepUpRequired
                ) =>
            {
                held_or_denied += 1;
            }
            Err(error) => bail!("the gate failed: {}", error.code().code()),
        }
        times.push(started.elapsed());
        bar.inc(1);
    }
    bar.finish_and_clear();
    times.sort_unstable();
    let at = |share: f64| times[((times.len() - 1) as f64 * share).round() as usize];
    Ok(GatePass {
        p50: at(0.50),
        p99: at(0.99),
        held_or_denied,
    })
}
