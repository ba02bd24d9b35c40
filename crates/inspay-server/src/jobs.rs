//! Background work every node runs: reloading keys (so a transition made on another node or
//! by the CLI takes effect here), signing audit checkpoints, scheduled rotation and due
//! destructions. Each job logs and carries on after a failure; the next tick retries.

use crate::state::AppState;
use inspay_store::keys::Actor;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

const SYSTEM: Actor<'static> = Actor {
    actor: "system",
    request_id: "scheduler",
};

/// Starts the jobs; they stop when `shutdown` is cancelled.
pub fn spawn(state: AppState, shutdown: CancellationToken) {
    let keys = &state.settings.keys;
    every(
        Duration::from_secs(keys.reload_interval_s.max(1)),
        shutdown.clone(),
        state.clone(),
        reload,
    );
    every(
        Duration::from_secs(keys.audit_checkpoint_interval_s.max(1)),
        shutdown.clone(),
        state.clone(),
        checkpoint,
    );
    every(
        Duration::from_millis(state.settings.risk.pack_reload_interval_ms.max(100)),
        shutdown.clone(),
        state.clone(),
        reload_packs,
    );
    every(
        Duration::from_secs(state.settings.risk.train_check_interval_s.max(10)),
        shutdown.clone(),
        state.clone(),
        train_baselines,
    );
    every(
        Duration::from_millis(state.settings.risk.export.interval_ms.max(50)),
        shutdown.clone(),
        state.clone(),
        crate::risk::export::job(),
    );
    every(
        Duration::from_millis(crate::risk::holds::RESUME_INTERVAL_MS),
        shutdown.clone(),
        state.clone(),
        crate::risk::holds::resume_released,
    );
    every(
        Duration::from_secs(keys.maintenance_interval_s.max(1)),
        shutdown,
        state,
        maintain,
    );
}

fn every<F, Fut>(period: Duration, shutdown: CancellationToken, state: AppState, job: F)
where
    F: Fn(AppState) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(period);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticker.tick().await;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = ticker.tick() => job(state.clone()).await,
            }
        }
    });
}

/// Brings this node's rule packs in step with the database (clause 6.3.7): packs installed,
/// rolled back or withdrawn anywhere come into force here without a restart.
pub async fn reload_packs(state: AppState) {
    if let Err(error) = state
        .risk()
        .reload_if_changed(&state.store, &state.keyring(), state.now_ms())
        .await
    {
        tracing::warn!(error = %error, "rule packs not reloaded; the packs in force stay");
    }
}

/// Rebuilds the model's baselines from the stored history when the last training is older
/// than `risk.train_interval_hours` (clause 5.3.3.2). Several nodes may find it due at once;
/// training twice only writes the same baselines twice.
pub async fn train_baselines(state: AppState) {
    let now = state.now_ms();
    let interval = i64::from(state.settings.risk.train_interval_hours) * 3_600_000;
    match crate::risk::train::due(&state.store, now, interval).await {
        Ok(false) => {}
        Ok(true) => match crate::risk::train::train(&state.store, now, |_| {}).await {
            Ok((_, summary)) => tracing::info!(
                observations = summary.observations,
                customers = summary.customers,
                products = summary.products,
                seconds = summary.training.as_secs_f64() + summary.storing.as_secs_f64(),
                "risk baselines rebuilt from the stored history"
            ),
            Err(error) => {
                tracing::warn!(error = %error, "risk baselines not rebuilt; the next check retries")
            }
        },
        Err(error) => tracing::warn!(error = %error, "cannot tell whether risk training is due"),
    }
}

async fn reload(state: AppState) {
    match state.store.keyring_load(&state.master).await {
        Ok(keyring) => state.set_keyring(keyring),
        Err(error) => {
            tracing::error!(error = %error, "key reload failed; keeping the keys loaded before")
        }
    }
}

async fn checkpoint(state: AppState) {
    if let Err(error) = state
        .store
        .audit_checkpoint(&state.keyring(), inspay_store::now_ms())
        .await
    {
        tracing::error!(error = %error, "audit checkpoint failed");
    }
}

/// Scheduled rotation and due destructions, then a reload so this node uses the result, then
/// the scheduled security check ([`crate::security_check`]: audit chain, record MACs, ledger,
/// key states).
pub async fn maintain(state: AppState) {
    let now = inspay_store::now_ms();
    let policy = state.settings.rotation_policy();
    match state
        .store
        .keys_rotate_due(&state.master, &policy, SYSTEM, now)
        .await
    {
        Ok(rotated) => {
            for key in rotated {
                tracing::info!(object = %key.object(), "scheduled rotation");
            }
        }
        Err(error) => tracing::error!(error = %error, "scheduled rotation failed"),
    }
    match state
        .store
        .keys_destroy_due(&state.master, SYSTEM, now)
        .await
    {
        Ok(destroyed) => {
            for key in destroyed {
                tracing::warn!(object = %key.object(), "key destroyed after its waiting period");
            }
        }
        Err(error) => tracing::error!(error = %error, "scheduled destruction failed"),
    }
    reload(state.clone()).await;
    identity_housekeeping(&state, now).await;
    crate::security_check::run(&state).await;
    age_policies(&state, state.now_ms()).await;
    crate::payments::reconcile::daily(&state, state.now_ms()).await;
}

/// Lapses policies whose renewal is unpaid past its grace period and expires those whose term
/// ended (China dates).
pub async fn age_policies(state: &AppState, now_ms: i64) {
    let today = inspay_core::calendar::date_at_ms(now_ms);
    match state
        .store
        .policies_age(&state.keyring(), today, now_ms)
        .await
    {
        Ok(aged) if aged.lapsed + aged.expired > 0 => {
            tracing::info!(
                lapsed = aged.lapsed,
                expired = aged.expired,
                "policies aged"
            )
        }
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "ageing policies failed"),
    }
}

/// Expired CAPTCHAs, spent one-time codes and send records older than a day go; closed accounts past their retention period are erased by destroying
/// their data keys (clause 5.6.5-a4).
async fn identity_housekeeping(state: &AppState, now: i64) {
    match state.store.captchas_purge(now).await {
        Ok(purged) if purged > 0 => tracing::info!(purged, "expired CAPTCHAs purged"),
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "CAPTCHA purge failed"),
    }
    match state.store.otp_purge(now).await {
        Ok(purged) if purged > 0 => {
            tracing::info!(purged, "spent one-time codes and old send records purged")
        }
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "one-time code purge failed"),
    }
    match state.store.request_nonces_purge(now).await {
        Ok(purged) if purged > 0 => {
            tracing::info!(purged, "request nonces past their window purged")
        }
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "request nonce purge failed"),
    }
    match state.store.rate_counters_purge(now).await {
        Ok(purged) if purged > 0 => tracing::info!(purged, "old rate-limit windows purged"),
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "rate counter purge failed"),
    }
    match state.store.field_nonces_purge(now).await {
        Ok(purged) if purged > 0 => tracing::info!(purged, "expired field nonces purged"),
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "field nonce purge failed"),
    }
    match state.store.idempotency_purge(now).await {
        Ok(purged) if purged > 0 => tracing::info!(purged, "idempotency keys past 24 h purged"),
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "idempotency key purge failed"),
    }
    match state.store.erasure_due(now).await {
        Ok(erased) if erased > 0 => {
            tracing::warn!(
                erased,
                "personal data of closed accounts erased after retention"
            );
        }
        Ok(_) => {}
        Err(error) => tracing::error!(error = %error, "erasure of closed accounts failed"),
    }
}
