//! Runtime environment monitoring (clauses 5.4.4.1, 6.4.1) and the administration listener
//! that exposes it (clause 4-c).
//!
//! - [`host`] reads CPU, memory, network and the data directory's disk from the host.
//! - [`spawn`] samples every `monitoring.sample_interval_s`, keeps the latest figures and a
//!   CPU window in [`Monitor`], and through [`thresholds`] records one `monitoring.*-high`
//!   security event (an alert) when a resource reaches its threshold and one
//!   `monitoring.*-recovered` event when it is back under.
//! - [`metrics`] counts requests, fund operations, risk decisions and security events with
//!   plain atomics and writes the Prometheus text format.
//! - [`admin`] serves `/metrics` and `/health/live` on `listen.admin_address` only, to the
//!   networks in `protection.admin_networks`.

pub mod admin;
pub mod host;
pub mod metrics;
pub mod thresholds;

pub use metrics::{FundOperation, Metrics};

use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use inspay_store::security_events::SecurityEvent;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};
use thresholds::{CpuWindow, Resource, Transition, Watch};
use tokio_util::sync::CancellationToken;

/// Longest sample interval accepted, in seconds.
pub const SAMPLE_INTERVAL_S_MAX: u64 = 3_600;
/// Longest CPU window accepted, in seconds (a day).
pub const CPU_WINDOW_S_MAX: u64 = 86_400;

/// `[monitoring]`: host sampling and its alert thresholds (clause 5.4.4.1; the defaults are
/// the clause's: 85 % CPU over five minutes, 90 % memory, 90 % disk).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonitoringSettings {
    /// Seconds between two host samples (1..=3600).
    pub sample_interval_s: u64,
    /// CPU use, averaged over `cpu_window_s`, that raises an alert (percent, 1..=100).
    pub cpu_percent_max: u32,
    /// The window CPU use is averaged over, in seconds (`sample_interval_s`..=86400).
    pub cpu_window_s: u64,
    /// Memory use that raises an alert (percent, 1..=100).
    pub memory_percent_max: u32,
    /// Disk use of the data directory's file system that raises an alert (percent, 1..=100).
    pub disk_percent_max: u32,
}

impl Default for MonitoringSettings {
    fn default() -> Self {
        MonitoringSettings {
            sample_interval_s: 10,
            cpu_percent_max: 85,
            cpu_window_s: 300,
            memory_percent_max: 90,
            disk_percent_max: 90,
        }
    }
}

impl MonitoringSettings {
    /// The first setting that is out of range, with what to do.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        for resource in Resource::ALL {
            let percent = self.percent_max(resource);
            if !(1..=100).contains(&percent) {
                return Some((
                    resource.setting(),
                    format!("{percent} is not a percentage the host can reach; use 1..=100"),
                ));
            }
        }
        if !(1..=SAMPLE_INTERVAL_S_MAX).contains(&self.sample_interval_s) {
            return Some((
                "monitoring.sample_interval_s",
                format!("must be 1..={SAMPLE_INTERVAL_S_MAX} seconds"),
            ));
        }
        if !(self.sample_interval_s..=CPU_WINDOW_S_MAX).contains(&self.cpu_window_s) {
            return Some((
                "monitoring.cpu_window_s",
                format!(
                    "must be monitoring.sample_interval_s ({})..={CPU_WINDOW_S_MAX} seconds",
                    self.sample_interval_s
                ),
            ));
        }
        None
    }

    /// The threshold of `resource`.
    pub fn percent_max(&self, resource: Resource) -> u32 {
        match resource {
            Resource::Cpu => self.cpu_percent_max,
            Resource::Memory => self.memory_percent_max,
            Resource::Disk => self.disk_percent_max,
        }
    }
}

/// What sampling remembers between samples.
#[derive(Debug, Default)]
struct SamplerState {
    previous_cpu: Option<(i64, host::CpuTimes)>,
    cpu: CpuWindow,
    watches: [Watch; 3],
}

/// Monitoring state of one server: the metrics registry and the sampler's memory.
#[derive(Debug, Default)]
pub struct Monitor {
    metrics: Metrics,
    // Held for a whole sample, events included, so two samples (the task's and a test's)
    // never both see a resource cross and record it twice.
    sampler: tokio::sync::Mutex<SamplerState>,
}

impl Monitor {
    /// The metrics registry.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// What one sample found and did.
#[derive(Debug, Clone, Default)]
pub struct Sample {
    /// The host figures.
    pub figures: metrics::HostFigures,
    /// The security events recorded, by kind.
    pub recorded: Vec<&'static str>,
}

/// Samples the host now: updates the metrics and records threshold crossings and recoveries.
/// The background task calls it every interval; tests call it to sample without waiting.
pub async fn sample(state: &AppState) -> Sample {
    let settings = &state.settings.monitoring;
    let monitor = state.monitor();
    let mut sampler = monitor.sampler.lock().await;
    let now_ms = state.now_ms();
    let reading = host::read(&state.settings.data_dir);
    let window_ms = i64::try_from(settings.cpu_window_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    if let Some(times) = reading.cpu {
        if let Some((at_ms, previous)) = sampler.previous_cpu {
            let total = times.total.saturating_sub(previous.total);
            let busy = times.busy.saturating_sub(previous.busy).min(total);
            sampler.cpu.push(now_ms - at_ms, busy, total, window_ms);
        }
        sampler.previous_cpu = Some((now_ms, times));
    }
    let figures = metrics::HostFigures {
        cpu_percent: sampler.cpu.latest_percent(),
        cpu_window_percent: sampler.cpu.average_percent(window_ms),
        memory_percent: reading.memory.map(|memory| memory.used_percent()),
        memory_total_bytes: reading.memory.map(|memory| memory.total_bytes),
        disk_percent: reading.disk.map(|disk| disk.used_percent()),
        disk_total_bytes: reading
            .disk
            .map(|disk| disk.used_bytes.saturating_add(disk.available_bytes)),
        network_receive_bytes: reading.network.map(|network| network.receive_bytes),
        network_transmit_bytes: reading.network.map(|network| network.transmit_bytes),
    };
    monitor.metrics.host_sampled(&figures);
    let mut recorded = vec![];
    for (index, resource) in Resource::ALL.into_iter().enumerate() {
        let value = match resource {
            Resource::Cpu => figures.cpu_window_percent,
            Resource::Memory => figures.memory_percent,
            Resource::Disk => figures.disk_percent,
        };
        let percent_max = settings.percent_max(resource);
        let transition = value.and_then(|value| sampler.watches[index].observe(value, percent_max));
        monitor
            .metrics
            .alert_state(resource, sampler.watches[index].above(), percent_max);
        if let (Some(transition), Some(value)) = (transition, value) {
            record(state, resource, transition, value, percent_max, now_ms).await;
            recorded.push(resource.event_kind(transition));
        }
    }
    drop(sampler);
    match state.store.accounts_locked_count(now_ms).await {
        Ok(count) => monitor
            .metrics
            .accounts_locked(i64::try_from(count).unwrap_or(i64::MAX)),
        Err(error) => {
            monitor.metrics.accounts_locked(-1);
            tracing::warn!(target: "inspay::monitoring", error = %error, "locked accounts not counted");
        }
    }
    Sample { figures, recorded }
}

/// Records a crossing (an alert) or a recovery as a security event and a log line.
async fn record(
    state: &AppState,
    resource: Resource,
    transition: Transition,
    percent: f64,
    percent_max: u32,
    now_ms: i64,
) {
    let kind = resource.event_kind(transition);
    let alert = transition == Transition::Crossed;
    let percent = (percent * 10.0).round() / 10.0;
    if alert {
        tracing::warn!(
            target: "inspay::monitoring",
            kind,
            resource = resource.name(),
            percent,
            percent_max,
            "monitoring alert: {} use {percent}% reached the threshold of {percent_max}%",
            resource.name()
        );
    } else {
        tracing::info!(
            target: "inspay::monitoring",
            kind,
            resource = resource.name(),
            percent,
            percent_max,
            "monitoring: {} use {percent}% is back under the threshold of {percent_max}%",
            resource.name()
        );
    }
    let event = SecurityEvent {
        id: uuid::Uuid::now_v7().to_string(),
        kind: kind.to_string(),
        app_id: None,
        account_id: None,
        client_ip: None,
        route: None,
        detail: resource.event_detail(transition).to_string(),
        alert,
        at_ms: now_ms,
    };
    match state.store.security_event_record(&event).await {
        Ok(()) => state.monitor().metrics().security_event(kind, alert),
        Err(error) => {
            tracing::error!(target: "inspay::monitoring", error = %error, kind, "monitoring event not kept");
        }
    }
}

/// Starts the sampling task; it stops when `shutdown` is cancelled.
pub fn spawn(state: AppState, shutdown: CancellationToken) {
    let interval = Duration::from_secs(state.settings.monitoring.sample_interval_s.max(1));
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticker.tick() => {}
                _ = shutdown.cancelled() => break,
            }
            sample(&state).await;
        }
    });
}

/// Counts every request the public listeners answer, by method, route template (never the
/// raw path) and status class, with its latency. Calls the web pages make in process are
/// counted once, as the page's request.
pub async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request
        .extensions()
        .get::<crate::web::api::InProcess>()
        .is_some()
    {
        return next.run(request).await;
    }
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_string())
        .unwrap_or_else(|| metrics::UNMATCHED_ROUTE.to_string());
    let method = metrics::method_label(request.method());
    let started = Instant::now();
    let response = next.run(request).await;
    state.monitor().metrics().request_observed(
        method,
        &route,
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Thresholds out of 1..=100, a zero interval and a window shorter than the interval
    /// are refused, naming the setting.
    /// req: 5.4.4.1
    #[test]
    fn monitoring_settings_are_validated() {
        assert_eq!(MonitoringSettings::default().refusal(), None);
        for (value, setting) in [
            (0, "monitoring.cpu_percent_max"),
            (101, "monitoring.cpu_percent_max"),
        ] {
            let settings = MonitoringSettings {
                cpu_percent_max: value,
                ..MonitoringSettings::default()
            };
            assert_eq!(settings.refusal().map(|(name, _)| name), Some(setting));
        }
        let settings = MonitoringSettings {
            sample_interval_s: 0,
            ..MonitoringSettings::default()
        };
        assert_eq!(
            settings.refusal().map(|(name, _)| name),
            Some("monitoring.sample_interval_s")
        );
        let settings = MonitoringSettings {
            sample_interval_s: 60,
            cpu_window_s: 30,
            ..MonitoringSettings::default()
        };
        assert_eq!(
            settings.refusal().map(|(name, _)| name),
            Some("monitoring.cpu_window_s")
        );
    }
}
