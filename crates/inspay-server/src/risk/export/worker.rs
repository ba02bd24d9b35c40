//! The export worker every node runs: each `risk.export.interval_ms` it leases due events,
//! checks each one's signature, delivers it to each sink still pending, and marks the sink done
//! or puts the event off with an exponential delay. Failures are logged on target
//! `inspay::risk_export` with the sink and the error, never the payload; an event that failed
//! ten times (and every ten after) logs an `ERROR` alert line there.

use super::event;
use super::nats::NatsSink;
use super::settings::{ExportSettings, RETRY_DELAY_MAX_MS};
use super::webhook::{PARALLEL_REQUESTS, WebhookSink};
use super::{Outgoing, TARGET};
use crate::state::AppState;
use inspay_store::risk::{RiskExportRow, RiskExportSink, RiskExportState};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};

/// A failed event raises an alert line every this many attempts.
pub const ALERT_EVERY_ATTEMPTS: i64 = 10;

/// How often a node purges delivered events past their retention, ms.
const PURGE_INTERVAL_MS: i64 = 3_600_000;

/// Longest error text kept on a row.
const ERROR_CHARS_MAX: usize = 500;

/// What one node keeps between passes: its sinks' clients and when it last purged.
#[derive(Default)]
pub struct ExportWorker {
    nats: NatsSink,
    webhook: WebhookSink,
    last_purge_ms: AtomicI64,
    refusal_logged: AtomicBool,
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PassSummary {
    /// Events leased.
    pub leased: usize,
    /// Sink deliveries acknowledged.
    pub delivered: usize,
    /// Events put off for a retry.
    pub retried: usize,
}

/// The delay before attempt `attempts + 1`: the base, doubled for each attempt after the
/// first, at most 5 minutes.
pub fn retry_delay_ms(settings: &ExportSettings, attempts: i64) -> i64 {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let delay = settings
        .retry_base_ms
        .saturating_mul(1u64 << doublings)
        .min(RETRY_DELAY_MAX_MS);
    i64::try_from(delay).unwrap_or(i64::MAX)
}

/// How long a pass may hold its events: connecting and the stream check, the NATS
/// acknowledgements, and the webhook requests in groups of [`PARALLEL_REQUESTS`], each bounded
/// by `timeout_ms`, with room to spare. A node that outlives its lease only causes a second
/// delivery, which event ids make harmless.
pub fn lease_ms(settings: &ExportSettings) -> i64 {
    let batch = usize::try_from(settings.batch_max.max(1)).unwrap_or(1);
    let rounds = 4 + batch.div_ceil(PARALLEL_REQUESTS);
    let timeout = i64::try_from(settings.timeout_ms).unwrap_or(60_000);
    timeout
        .saturating_mul(i64::try_from(rounds).unwrap_or(i64::MAX))
        .saturating_add(10_000)
}

impl ExportWorker {
    /// One pass: purge if due, then lease, deliver and settle one batch.
    pub async fn run_once(&self, state: &AppState) -> PassSummary {
        let settings = &state.settings.risk.export;
        if !settings.any_sink() {
            return PassSummary::default();
        }
        // Settings::validate checks what holds in every profile; the profile's own rule
        // (TLS only in production) is enforced here as well, so it holds whoever validated.
        if let Some((setting, reason)) = settings.refusal_in(state.settings.profile) {
            if !self.refusal_logged.swap(true, Ordering::Relaxed) {
                tracing::error!(
                    target: TARGET,
                    setting,
                    reason = %reason,
                    "risk events are not exported: the setting is refused; they wait in the outbox"
                );
            }
            return PassSummary::default();
        }
        let now = state.now_ms();
        self.purge_if_due(state, settings, now).await;
        let leased = match state
            .store
            .risk_exports_lease(now, lease_ms(settings), settings.batch_max)
            .await
        {
            Ok(leased) => leased,
            Err(error) => {
                tracing::error!(target: TARGET, error = %error, "risk events could not be leased");
                return PassSummary::default();
            }
        };
        if leased.is_empty() {
            return PassSummary::default();
        }
        self.deliver(state, settings, &leased, now).await
    }

    async fn deliver(
        &self,
        state: &AppState,
        settings: &ExportSettings,
        leased: &[RiskExportRow],
        now: i64,
    ) -> PassSummary {
        let keyring = state.keyring();
        let mut failures: Vec<Vec<String>> = vec![vec![]; leased.len()];
        let mut batches: [Vec<(usize, Outgoing<'_>)>; 2] = [vec![], vec![]];
        for (index, row) in leased.iter().enumerate() {
            if !event::verifies(
                &keyring,
                row.payload.as_bytes(),
                &row.signature,
                row.key_serial,
            ) {
                tracing::error!(
                    target: "inspay::security_alert",
                    event = %row.id,
                    "a risk event's signature does not verify: its row was changed in the \
                     database (or its key is no longer usable); it is not sent"
                );
                failures[index].push("signature does not verify; not sent".to_owned());
                continue;
            }
            for (slot, sink) in RiskExportSink::ALL.into_iter().enumerate() {
                if row.state(sink) != RiskExportState::Pending {
                    continue;
                }
                if sink_url(settings, sink).is_none() {
                    self.skip(state, row, sink).await;
                    continue;
                }
                batches[slot].push((
                    index,
                    Outgoing {
                        id: &row.id,
                        kind: row.kind,
                        payload: &row.payload,
                        signature: &row.signature,
                        serial: row.key_serial,
                    },
                ));
            }
        }
        let [nats_batch, webhook_batch] = &batches;
        let nats_events: Vec<Outgoing<'_>> = nats_batch.iter().map(|(_, e)| *e).collect();
        let webhook_events: Vec<Outgoing<'_>> = webhook_batch.iter().map(|(_, e)| *e).collect();
        let (nats_outcomes, webhook_outcomes) = tokio::join!(
            async {
                match (&settings.nats_url, nats_events.is_empty()) {
                    (Some(url), false) => self.nats.deliver(settings, url, &nats_events).await,
                    _ => vec![],
                }
            },
            async {
                match (&settings.webhook_url, webhook_events.is_empty()) {
                    (Some(url), false) => {
                        self.webhook
                            .deliver(settings, url, now.div_euclid(1000), &webhook_events)
                            .await
                    }
                    _ => vec![],
                }
            }
        );
        let mut summary = PassSummary {
            leased: leased.len(),
            ..PassSummary::default()
        };
        for (sink, batch, outcomes) in [
            (RiskExportSink::Nats, nats_batch, nats_outcomes),
            (RiskExportSink::Webhook, webhook_batch, webhook_outcomes),
        ] {
            let mut failed = 0;
            let mut first_error = None;
            for ((index, outgoing), outcome) in batch.iter().zip(outcomes) {
                match outcome {
                    Ok(()) => match state.store.risk_export_done(outgoing.id, sink).await {
                        Ok(_) => summary.delivered += 1,
                        Err(error) => {
                            // Delivered but not recorded: it is sent again after the lease,
                            // and de-duplicated by its id.
                            tracing::error!(
                                target: TARGET,
                                sink = sink.as_str(),
                                event = %outgoing.id,
                                error = %error,
                                "risk event delivered but not recorded as delivered"
                            );
                        }
                    },
                    Err(error) => {
                        failed += 1;
                        failures[*index].push(format!("{}: {error}", sink.as_str()));
                        first_error.get_or_insert(error);
                    }
                }
            }
            if let Some(error) = first_error {
                tracing::warn!(
                    target: TARGET,
                    sink = sink.as_str(),
                    failed,
                    error = %error,
                    "risk events not delivered; they will be retried"
                );
            }
        }
        for (row, failures) in leased.iter().zip(failures) {
            if failures.is_empty() {
                continue;
            }
            summary.retried += 1;
            self.retry(state, settings, row, &failures.join("; "), now)
                .await;
        }
        if summary.delivered > 0 {
            tracing::debug!(
                target: TARGET,
                delivered = summary.delivered,
                retried = summary.retried,
                "risk events delivered"
            );
        }
        summary
    }

    async fn retry(
        &self,
        state: &AppState,
        settings: &ExportSettings,
        row: &RiskExportRow,
        error: &str,
        now: i64,
    ) {
        let error: String = error.chars().take(ERROR_CHARS_MAX).collect();
        let next = now.saturating_add(retry_delay_ms(settings, row.attempts));
        if let Err(store_error) = state.store.risk_export_retry(&row.id, &error, next).await {
            tracing::error!(
                target: TARGET,
                event = %row.id,
                error = %store_error,
                "a failed risk event could not be put off; it is due again after its lease"
            );
        }
        if row.attempts > 0 && row.attempts % ALERT_EVERY_ATTEMPTS == 0 {
            tracing::error!(
                target: TARGET,
                event = %row.id,
                kind = row.kind.as_str(),
                attempts = row.attempts,
                error = %error,
                "alert: a risk event for the risk-control system failed {} times; check the \
                 sink and `risk_exports`",
                row.attempts
            );
        }
    }

    async fn skip(&self, state: &AppState, row: &RiskExportRow, sink: RiskExportSink) {
        tracing::warn!(
            target: TARGET,
            sink = sink.as_str(),
            event = %row.id,
            "the sink was removed from risk.export: the event is no longer sent there"
        );
        if let Err(error) = state.store.risk_export_skip(&row.id, sink).await {
            tracing::error!(target: TARGET, sink = sink.as_str(), error = %error, "could not skip a sink");
        }
    }

    async fn purge_if_due(&self, state: &AppState, settings: &ExportSettings, now: i64) {
        let last = self.last_purge_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PURGE_INTERVAL_MS {
            return;
        }
        self.last_purge_ms.store(now, Ordering::Relaxed);
        let before = now.saturating_sub(i64::from(settings.retention_days) * 86_400_000);
        match state.store.risk_exports_purge(before).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(target: TARGET, purged, "delivered risk events purged"),
            Err(error) => {
                tracing::error!(target: TARGET, error = %error, "risk event purge failed")
            }
        }
    }
}

fn sink_url(settings: &ExportSettings, sink: RiskExportSink) -> Option<&str> {
    match sink {
        RiskExportSink::Nats => settings.nats_url.as_deref(),
        RiskExportSink::Webhook => settings.webhook_url.as_deref(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Retries double from the base and stop growing at five minutes; the lease covers a
    /// whole pass.
    #[test]
    fn retry_delays_double_up_to_five_minutes() {
        let settings = ExportSettings::default();
        let delays: Vec<i64> = (1..=12).map(|n| retry_delay_ms(&settings, n)).collect();
        assert_eq!(
            delays,
            [
                1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000, 256_000, 300_000,
                300_000, 300_000
            ]
        );
        assert_eq!(retry_delay_ms(&settings, i64::MAX), 300_000);
        assert_eq!(lease_ms(&settings), 5_000 * (4 + 13) + 10_000);
    }
}
