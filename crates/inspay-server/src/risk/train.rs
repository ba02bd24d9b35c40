//! Rebuilding the behaviour model's baselines from the stored history (clause 5.3.3.2), for
//! `inspay risk train` and for the scheduled job every node runs: the history is read page by
//! page in the order it was recorded, every baseline (customer, product, device, global) is
//! rebuilt from it, and all are stored. Between trainings, each allowed operation updates its
//! customer's and device's baselines at once (`assess.rs`); training also refreshes the
//! product and global baselines, which are not updated one operation at a time.

use inspay_risk::model::{Baselines, Observation, OperationKind};
use inspay_store::risk::RiskBaselineRow;
use inspay_store::{Store, StoreError};
use std::time::{Duration, Instant};

/// Rows read per page.
const PAGE: i64 = 20_000;
/// Baselines written per transaction.
const CHUNK: usize = 10_000;

/// What a training did.
#[derive(Debug, Clone, Default)]
pub struct TrainSummary {
    /// Operations read.
    pub observations: u64,
    /// Operations of a kind the model does not know (skipped).
    pub skipped: u64,
    /// Customers with a baseline.
    pub customers: usize,
    /// Products with a baseline.
    pub products: usize,
    /// Devices with a baseline.
    pub devices: usize,
    /// Baseline rows written.
    pub stored: u64,
    /// Time spent reading and learning.
    pub training: Duration,
    /// Time spent storing.
    pub storing: Duration,
}

/// The model's kind for a stored kind name.
pub fn kind_of(name: &str) -> Option<OperationKind> {
    OperationKind::ALL
        .into_iter()
        .find(|kind| kind_name(*kind) == name)
}

/// The stored name of a model kind (the same as the rule packs' `op.kind`).
pub fn kind_name(kind: OperationKind) -> &'static str {
    match kind {
        OperationKind::PremiumPayment => "premium-payment",
        OperationKind::ClaimPayout => "claim-payout",
        OperationKind::Refund => "refund",
        OperationKind::Cancellation => "cancellation",
    }
}

/// Learns every stored operation into fresh baselines; `progress` is told how many rows each
/// page held.
pub async fn learn_history(
    store: &Store,
    mut progress: impl FnMut(u64),
) -> Result<(Baselines, TrainSummary), StoreError> {
    let started = Instant::now();
    let mut baselines = Baselines::default();
    let mut summary = TrainSummary::default();
    let mut after = 0i64;
    loop {
        let page = store.risk_observations_scan(after, PAGE).await?;
        let Some((last, _)) = page.last() else { break };
        after = *last;
        for (_, row) in &page {
            summary.observations += 1;
            let Some(kind) = kind_of(&row.kind) else {
                summary.skipped += 1;
                continue;
            };
            baselines.update(&Observation::new(
                row.account_id.as_str(),
                row.product.as_str(),
                kind,
                row.amount_fen,
                row.at_ms,
                row.device_ref.clone(),
            ));
        }
        progress(page.len() as u64);
    }
    summary.customers = baselines.customer_count();
    summary.products = baselines.products().count();
    summary.devices = baselines.devices().count();
    summary.training = started.elapsed();
    Ok((baselines, summary))
}

/// Stores every baseline (upserts); returns the rows written.
pub async fn store_baselines(
    store: &Store,
    baselines: &Baselines,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let row = |kind: &str, subject: &str, body: String, observations: u64| RiskBaselineRow {
        subject_kind: kind.to_owned(),
        subject: subject.to_owned(),
        body,
        observations: i64::try_from(observations).unwrap_or(i64::MAX),
        updated_at_ms: now_ms,
    };
    let json = |value: Result<String, serde_json::Error>| {
        value.map_err(|_| StoreError::Malformed("risk baseline (not serialisable)"))
    };
    let mut rows = Vec::with_capacity(CHUNK);
    let mut stored = 0u64;
    let global = baselines.global();
    rows.push(row(
        "global",
        "all",
        json(serde_json::to_string(global))?,
        global.operations.count,
    ));
    for (product, baseline) in baselines.products() {
        rows.push(row(
            "product",
            product,
            json(serde_json::to_string(baseline))?,
            baseline.count,
        ));
    }
    for (account, customer) in baselines.customers() {
        rows.push(row(
            "customer",
            account,
            json(serde_json::to_string(customer))?,
            u64::from(customer.count),
        ));
        if rows.len() >= CHUNK {
            stored += store.risk_baselines_put_many(&rows).await?;
            rows.clear();
        }
    }
    for (device, device_use) in baselines.devices() {
        rows.push(row(
            "device",
            device,
            json(serde_json::to_string(device_use))?,
            device_use.operations,
        ));
        if rows.len() >= CHUNK {
            stored += store.risk_baselines_put_many(&rows).await?;
            rows.clear();
        }
    }
    if !rows.is_empty() {
        stored += store.risk_baselines_put_many(&rows).await?;
    }
    Ok(stored)
}

/// Trains and stores: what the scheduled job and `inspay risk train` run.
pub async fn train(
    store: &Store,
    now_ms: i64,
    progress: impl FnMut(u64),
) -> Result<(Baselines, TrainSummary), StoreError> {
    let (baselines, mut summary) = learn_history(store, progress).await?;
    let started = Instant::now();
    summary.stored = store_baselines(store, &baselines, now_ms).await?;
    summary.storing = started.elapsed();
    Ok((baselines, summary))
}

/// Whether the baselines are older than `interval_ms` (or were never trained): the global
/// baseline's row records when training last ran.
pub async fn due(store: &Store, now_ms: i64, interval_ms: i64) -> Result<bool, StoreError> {
    Ok(match store.risk_baseline("global", "all").await? {
        Some(global) => now_ms - global.updated_at_ms >= interval_ms,
        None => store.risk_observations_count().await? > 0,
    })
}
