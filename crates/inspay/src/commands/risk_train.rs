//! `inspay risk train`: rebuilds the behaviour model's baselines from the stored history
//! (clause 5.3.3.2), reading it page by page, and stores one baseline per customer, product and
//! device plus the global one. With `--generate N` it first fills an empty history with a
//! synthetic one (planted anomalies included), keeps the last tenth aside, and after training
//! scores that tenth as the live engine would, reporting precision and recall.

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use inspay_risk::generate::{GeneratorConfig, Labelled, history};
use inspay_risk::model::{Observation, evaluate_live};
use inspay_store::Store;
use inspay_store::risk::RiskObservation;
use std::path::Path;
use std::time::Instant;

/// Rows written per transaction while importing a generated history or storing baselines.
const CHUNK: usize = 10_000;

/// Most operations `--generate` makes: the held-out tenth stays in memory.
const GENERATE_MAX: u64 = 20_000_000;

/// `inspay risk train` options.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// First fill the (empty) history with this many generated operations, with planted
    /// anomalies, and measure the model on the last tenth. Development profile only, and only
    /// into an empty history: generated data never mixes with real operations.
    #[arg(long, value_name = "OPERATIONS", value_parser = clap::value_parser!(u64).range(1_000..=GENERATE_MAX))]
    pub generate: Option<u64>,
    /// Customers in the generated history.
    #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub customers: u32,
    /// The generator's seed.
    #[arg(long, default_value_t = 2025)]
    pub seed: u64,
}

fn bar(length: u64, what: &str) -> ProgressBar {
    ProgressBar::new(length).with_style(
        ProgressStyle::with_template(&format!(
            "{what:<12} {{bar:40}} {{pos}}/{{len}} ({{per_sec}}, {{eta}} left)"
        ))
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    )
}

fn to_row(observation: &Observation) -> RiskObservation {
    RiskObservation {
        account_id: observation.account.clone(),
        product: observation.product.clone(),
        kind: inspay_server::risk::train::kind_name(observation.kind).to_owned(),
        amount_fen: observation.amount_fen,
        at_ms: observation.at_ms,
        device_ref: observation.device.clone(),
    }
}

/// Runs `inspay risk train`.
pub async fn run(config: Option<&Path>, args: TrainArgs) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    if args.generate.is_some() && settings.profile == inspay_server::config::Profile::Production {
        bail!(
            "--generate writes synthetic operations into the history; it is refused in the \
             production profile. Use a scratch data directory (INSPAY__DATA_DIR=/tmp/x)"
        );
    }
    let store = super::store(&settings).await?;
    let held_out = match args.generate {
        Some(operations) => Some(generate(&store, &args, operations).await?),
        None => None,
    };
    let total = u64::try_from(store.risk_observations_count().await?).unwrap_or(0);
    if total == 0 {
        bail!(
            "the history is empty: the engine records every fund operation it decides on, so train \
             once operations have run, or try the model with `inspay risk train --generate 1000000` \
             on a scratch database"
        );
    }
    let progress = bar(total, "training");
    let (mut baselines, summary) =
        inspay_server::risk::train::train(&store, inspay_store::now_ms(), |rows| {
            progress.inc(rows)
        })
        .await?;
    progress.finish_and_clear();
    println!(
        "trained on {} stored operations in {:.2} s ({} customers, {} products, {} devices); {} baselines stored in {:.2} s",
        summary.observations,
        summary.training.as_secs_f64(),
        summary.customers,
        summary.products,
        summary.devices,
        summary.stored,
        summary.storing.as_secs_f64()
    );
    if summary.skipped > 0 {
        println!(
            "{} operations of an unknown kind were skipped",
            summary.skipped
        );
    }
    if let Some(test) = held_out {
        let scored = test.len();
        let started = Instant::now();
        let planted = test.iter().filter(|item| item.planted.is_some()).count();
        let evaluation = evaluate_live(&mut baselines, test, &settings.risk.model);
        if planted == 0 {
            println!(
                "scored the {scored} held-out operations: none of them was planted, so precision \
                 and recall cannot be measured; generate more operations (100,000 or more)"
            );
            return Ok(());
        }
        println!(
            "scored the {scored} held-out operations in {:.2} s: precision {:.3}, recall {:.3} \
             (true positives {}, false positives {}, missed {})",
            started.elapsed().as_secs_f64(),
            evaluation.precision(),
            evaluation.recall(),
            evaluation.true_positives,
            evaluation.false_positives,
            evaluation.false_negatives
        );
        print_recall_by_kind(&evaluation);
    }
    Ok(())
}

/// Fills the empty history with the first nine tenths of a generated one; returns the last
/// tenth, labelled, for the evaluation.
async fn generate(
    store: &Store,
    args: &TrainArgs,
    operations: u64,
) -> anyhow::Result<Vec<Labelled>> {
    if store.risk_observations_count().await? > 0 {
        bail!(
            "the history already holds operations; --generate only fills an empty one (use a \
             scratch data directory, e.g. INSPAY__DATA_DIR=/tmp/risk-demo)"
        );
    }
    let config = GeneratorConfig {
        seed: args.seed,
        customers: args.customers,
        observations: operations,
        ..GeneratorConfig::default()
    };
    let keep = usize::try_from(operations * 9 / 10).context("too many operations")?;
    let progress = bar(keep as u64, "importing");
    let started = Instant::now();
    let mut held_out = Vec::new();
    let mut chunk = Vec::with_capacity(CHUNK);
    let mut planted = 0u64;
    for (index, labelled) in history(&config).enumerate() {
        planted += u64::from(labelled.planted.is_some());
        if index < keep {
            chunk.push(to_row(&labelled.observation));
            if chunk.len() == CHUNK {
                store.risk_observations_insert_many(&chunk).await?;
                progress.inc(chunk.len() as u64);
                chunk.clear();
            }
        } else {
            held_out.push(labelled);
        }
    }
    if !chunk.is_empty() {
        store.risk_observations_insert_many(&chunk).await?;
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    println!(
        "generated {operations} operations ({planted} planted anomalies, seed {}); stored the first {keep} in {:.1} s, kept {} aside to score",
        args.seed,
        started.elapsed().as_secs_f64(),
        held_out.len()
    );
    Ok(held_out)
}

/// One line per kind of planted anomaly: its recall, as a bar.
pub fn print_recall_by_kind(evaluation: &inspay_risk::model::Evaluation) {
    let mut kinds: Vec<_> = evaluation.per_anomaly.iter().collect();
    kinds.sort_by_key(|(anomaly, _)| format!("{anomaly:?}"));
    for (anomaly, detection) in kinds {
        let share = detection.recall();
        println!(
            "  {:<18} recall {:>5.1} % {} ({}/{})",
            format!("{anomaly:?}"),
            share * 100.0,
            "█".repeat((share * 40.0).round() as usize),
            detection.detected,
            detection.planted
        );
    }
}
