//! The metrics registry and its Prometheus text exposition (format 0.0.4), written by hand:
//! plain atomics, a few small maps whose keys come from the code (route templates, event
//! kinds, verdict names), never from raw request data.

use crate::monitoring::thresholds::Resource;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

/// The media type of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Upper bounds of the request latency histogram, in seconds.
pub const LATENCY_BUCKETS_S: [f64; 9] = [0.005, 0.025, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0];

/// Most (method, route) series kept; past it new ones are counted under one overflow series.
/// Routes come from the router's templates, so this is only a backstop.
pub const ROUTE_SERIES_MAX: usize = 1_000;

/// Most label values kept in each of the small maps (event kinds, verdicts).
pub const LABEL_VALUES_MAX: usize = 200;

/// The route label of requests that matched no route.
pub const UNMATCHED_ROUTE: &str = "<unmatched>";

const OVERFLOW_ROUTE: &str = "<other>";

/// A fund operation this node carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FundOperation {
    /// A premium payment was opened and sent to the channel.
    PaymentCreated,
    /// A premium payment settled: the money moved.
    PaymentSucceeded,
    /// A premium payment settled: declined, nothing moved.
    PaymentFailed,
    /// A refund settled: the money moved.
    RefundSucceeded,
    /// A refund was refused by the channel.
    RefundFailed,
    /// A claim payout settled: the money moved.
    PayoutSucceeded,
    /// A claim payout was refused by the channel.
    PayoutFailed,
}

impl FundOperation {
    /// Every operation, in exposition order.
    pub const ALL: [FundOperation; 7] = [
        FundOperation::PaymentCreated,
        FundOperation::PaymentSucceeded,
        FundOperation::PaymentFailed,
        FundOperation::RefundSucceeded,
        FundOperation::RefundFailed,
        FundOperation::PayoutSucceeded,
        FundOperation::PayoutFailed,
    ];

    /// The `operation` and `outcome` labels.
    pub fn labels(self) -> (&'static str, &'static str) {
        match self {
            FundOperation::PaymentCreated => ("payment", "created"),
            FundOperation::PaymentSucceeded => ("payment", "succeeded"),
            FundOperation::PaymentFailed => ("payment", "failed"),
            FundOperation::RefundSucceeded => ("refund", "succeeded"),
            FundOperation::RefundFailed => ("refund", "failed"),
            FundOperation::PayoutSucceeded => ("payout", "succeeded"),
            FundOperation::PayoutFailed => ("payout", "failed"),
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// A kind of order sent to the channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// A premium payment.
    Payment,
    /// A refund of a payment.
    Refund,
    /// A claim payout.
    Payout,
}

/// A gauge holding an `f64`; NaN means "not read".
#[derive(Debug)]
struct Gauge(AtomicU64);

impl Default for Gauge {
    fn default() -> Self {
        Gauge(AtomicU64::new(f64::NAN.to_bits()))
    }
}

impl Gauge {
    fn set(&self, value: Option<f64>) {
        self.0
            .store(value.unwrap_or(f64::NAN).to_bits(), Ordering::Relaxed);
    }

    fn get(&self) -> Option<f64> {
        let value = f64::from_bits(self.0.load(Ordering::Relaxed));
        (!value.is_nan()).then_some(value)
    }
}

/// Counts and latencies of one (method, route) series.
#[derive(Debug, Default)]
struct RouteStats {
    /// Requests by status class: 1xx..5xx at indexes 0..4.
    by_class: [AtomicU64; 5],
    /// Requests by latency bucket (not cumulative); the last is over every bound.
    buckets: [AtomicU64; LATENCY_BUCKETS_S.len() + 1],
    sum_us: AtomicU64,
}

/// What the host looked like at the last sample.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostFigures {
    /// CPU use over the last sample interval.
    pub cpu_percent: Option<f64>,
    /// CPU use averaged over `monitoring.cpu_window_s` (once the window is covered).
    pub cpu_window_percent: Option<f64>,
    /// Memory in use.
    pub memory_percent: Option<f64>,
    /// Memory size.
    pub memory_total_bytes: Option<u64>,
    /// Disk in use (data directory).
    pub disk_percent: Option<f64>,
    /// Disk size usable (in use plus available).
    pub disk_total_bytes: Option<u64>,
    /// Bytes received since boot, loopback excluded.
    pub network_receive_bytes: Option<u64>,
    /// Bytes sent since boot, loopback excluded.
    pub network_transmit_bytes: Option<u64>,
}

/// The registry: one per server, in the application state.
#[derive(Debug)]
pub struct Metrics {
    started_unix_s: i64,
    cpu_percent: Gauge,
    cpu_window_percent: Gauge,
    memory_percent: Gauge,
    memory_total_bytes: Gauge,
    disk_percent: Gauge,
    disk_total_bytes: Gauge,
    network_receive_bytes: Gauge,
    network_transmit_bytes: Gauge,
    alerting: [AtomicBool; 3],
    thresholds: [AtomicU64; 3],
    samples: AtomicU64,
    accounts_locked: AtomicI64,
    routes: RwLock<HashMap<(&'static str, String), Arc<RouteStats>>>,
    fund: [AtomicU64; FundOperation::ALL.len()],
    risk: Mutex<BTreeMap<String, u64>>,
    security_events: Mutex<BTreeMap<(String, bool), u64>>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            started_unix_s: inspay_store::now_ms().div_euclid(1000),
            cpu_percent: Gauge::default(),
            cpu_window_percent: Gauge::default(),
            memory_percent: Gauge::default(),
            memory_total_bytes: Gauge::default(),
            disk_percent: Gauge::default(),
            disk_total_bytes: Gauge::default(),
            network_receive_bytes: Gauge::default(),
            network_transmit_bytes: Gauge::default(),
            alerting: Default::default(),
            thresholds: Default::default(),
            samples: AtomicU64::default(),
            accounts_locked: AtomicI64::new(-1),
            routes: RwLock::default(),
            fund: Default::default(),
            risk: Mutex::default(),
            security_events: Mutex::default(),
        }
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}

fn resource_index(resource: Resource) -> usize {
    match resource {
        Resource::Cpu => 0,
        Resource::Memory => 1,
        Resource::Disk => 2,
    }
}

/// The method label: the standard methods by name, anything else as `OTHER` (a client can
/// send any token as a method).
pub fn method_label(method: &axum::http::Method) -> &'static str {
    use axum::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

impl Metrics {
    /// Counts one answered request: `route` is the matched route template.
    pub fn request_observed(
        &self,
        method: &'static str,
        route: &str,
        status: u16,
        elapsed: Duration,
    ) {
        let stats = self.route_stats(method, route);
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        stats.by_class[class].fetch_add(1, Ordering::Relaxed);
        let seconds = elapsed.as_secs_f64();
        let bucket = LATENCY_BUCKETS_S
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS_S.len());
        stats.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        stats.sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    fn route_stats(&self, method: &'static str, route: &str) -> Arc<RouteStats> {
        {
            let routes = match self.routes.read() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some(stats) = routes.get(&(method, route.to_string())) {
                return stats.clone();
            }
        }
        let mut routes = match self.routes.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let key = if routes.len() >= ROUTE_SERIES_MAX {
            ("OTHER", OVERFLOW_ROUTE.to_string())
        } else {
            (method, route.to_string())
        };
        routes.entry(key).or_default().clone()
    }

    /// Counts a fund operation.
    pub fn fund(&self, operation: FundOperation) {
        self.fund[operation.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts an order whose outcome was just recorded (not a duplicate answer).
    pub fn settled(&self, order: Order, status: inspay_core::funds::OrderStatus) {
        use inspay_core::funds::OrderStatus;
        let operation = match (order, status) {
            (_, OrderStatus::Pending) => return,
            (Order::Payment, OrderStatus::Succeeded) => FundOperation::PaymentSucceeded,
            (Order::Payment, OrderStatus::Failed) => FundOperation::PaymentFailed,
            (Order::Refund, OrderStatus::Succeeded) => FundOperation::RefundSucceeded,
            (Order::Refund, OrderStatus::Failed) => FundOperation::RefundFailed,
            (Order::Payout, OrderStatus::Succeeded) => FundOperation::PayoutSucceeded,
            (Order::Payout, OrderStatus::Failed) => FundOperation::PayoutFailed,
        };
        self.fund(operation);
    }

    /// Counts a risk decision by its verdict's stable name.
    pub fn risk_decision(&self, verdict: &str) {
        let mut risk = lock(&self.risk);
        if risk.len() < LABEL_VALUES_MAX || risk.contains_key(verdict) {
            *risk.entry(verdict.to_string()).or_default() += 1;
        }
    }

    /// Counts a recorded security event by kind and whether it raised an alert.
    pub fn security_event(&self, kind: &str, alert: bool) {
        let mut events = lock(&self.security_events);
        let key = (kind.to_string(), alert);
        if events.len() < LABEL_VALUES_MAX || events.contains_key(&key) {
            *events.entry(key).or_default() += 1;
        }
    }

    /// Sets the host figures of the latest sample.
    pub fn host_sampled(&self, figures: &HostFigures) {
        let bytes = |value: Option<u64>| value.map(|value| value as f64);
        self.cpu_percent.set(figures.cpu_percent);
        self.cpu_window_percent.set(figures.cpu_window_percent);
        self.memory_percent.set(figures.memory_percent);
        self.memory_total_bytes
            .set(bytes(figures.memory_total_bytes));
        self.disk_percent.set(figures.disk_percent);
        self.disk_total_bytes.set(bytes(figures.disk_total_bytes));
        self.network_receive_bytes
            .set(bytes(figures.network_receive_bytes));
        self.network_transmit_bytes
            .set(bytes(figures.network_transmit_bytes));
        self.samples.fetch_add(1, Ordering::Relaxed);
    }

    /// Sets whether `resource` is over its threshold, and the threshold.
    pub fn alert_state(&self, resource: Resource, alerting: bool, percent_max: u32) {
        let index = resource_index(resource);
        self.alerting[index].store(alerting, Ordering::Relaxed);
        self.thresholds[index].store(u64::from(percent_max), Ordering::Relaxed);
    }

    /// Sets the number of accounts locked now (negative: unknown).
    pub fn accounts_locked(&self, count: i64) {
        self.accounts_locked.store(count, Ordering::Relaxed);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        self.render_host(&mut out);
        self.render_http(&mut out);
        self.render_business(&mut out);
        out
    }

    fn render_host(&self, out: &mut String) {
        header(
            out,
            "inspay_build_info",
            "gauge",
            "The running version (always 1).",
        );
        sample(
            out,
            "inspay_build_info",
            &[("version", env!("CARGO_PKG_VERSION"))],
            1.0,
        );
        header(
            out,
            "inspay_process_start_time_seconds",
            "gauge",
            "When this server started, unix seconds.",
        );
        sample(
            out,
            "inspay_process_start_time_seconds",
            &[],
            self.started_unix_s as f64,
        );
        let gauges: [(&str, &str, &Gauge); 6] = [
            (
                "inspay_host_cpu_percent",
                "Host CPU in use over the last sample interval, percent.",
                &self.cpu_percent,
            ),
            (
                "inspay_host_cpu_window_percent",
                "Host CPU in use averaged over monitoring.cpu_window_s, percent (absent until the window is covered).",
                &self.cpu_window_percent,
            ),
            (
                "inspay_host_memory_percent",
                "Host memory in use (total less available), percent.",
                &self.memory_percent,
            ),
            (
                "inspay_host_memory_total_bytes",
                "Host memory size, bytes.",
                &self.memory_total_bytes,
            ),
            (
                "inspay_host_disk_percent",
                "Disk in use on the file system of the data directory, percent.",
                &self.disk_percent,
            ),
            (
                "inspay_host_disk_total_bytes",
                "Size of the file system of the data directory usable by the server, bytes.",
                &self.disk_total_bytes,
            ),
        ];
        for (name, help, gauge) in gauges {
            if let Some(value) = gauge.get() {
                header(out, name, "gauge", help);
                sample(out, name, &[], value);
            }
        }
        let counters: [(&str, &str, &Gauge); 2] = [
            (
                "inspay_host_network_receive_bytes_total",
                "Bytes received by the host since boot, loopback excluded.",
                &self.network_receive_bytes,
            ),
            (
                "inspay_host_network_transmit_bytes_total",
                "Bytes sent by the host since boot, loopback excluded.",
                &self.network_transmit_bytes,
            ),
        ];
        for (name, help, gauge) in counters {
            if let Some(value) = gauge.get() {
                header(out, name, "counter", help);
                sample(out, name, &[], value);
            }
        }
        header(
            out,
            "inspay_host_threshold_percent",
            "gauge",
            "The alert threshold in force per resource, percent.",
        );
        for resource in Resource::ALL {
            let value = self.thresholds[resource_index(resource)].load(Ordering::Relaxed);
            sample(
                out,
                "inspay_host_threshold_percent",
                &[("resource", resource.name())],
                value as f64,
            );
        }
        header(
            out,
            "inspay_host_alert",
            "gauge",
            "1 while the resource is over its threshold (an alert was raised and has not recovered).",
        );
        for resource in Resource::ALL {
            let value = self.alerting[resource_index(resource)].load(Ordering::Relaxed);
            sample(
                out,
                "inspay_host_alert",
                &[("resource", resource.name())],
                if value { 1.0 } else { 0.0 },
            );
        }
        header(
            out,
            "inspay_monitoring_samples_total",
            "counter",
            "Host samples taken.",
        );
        sample(
            out,
            "inspay_monitoring_samples_total",
            &[],
            self.samples.load(Ordering::Relaxed) as f64,
        );
    }

    fn render_http(&self, out: &mut String) {
        let routes: Vec<((&'static str, String), Arc<RouteStats>)> = {
            let routes = match self.routes.read() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            let mut routes: Vec<_> = routes
                .iter()
                .map(|(key, stats)| (key.clone(), stats.clone()))
                .collect();
            routes.sort_by(|a, b| (&a.0.1, a.0.0).cmp(&(&b.0.1, b.0.0)));
            routes
        };
        header(
            out,
            "inspay_http_requests_total",
            "counter",
            "Requests answered by the public listeners, by method, route template and status class.",
        );
        let mut errors = [0u64; 2];
        for ((method, route), stats) in &routes {
            let (method, route): (&str, &str) = (method, route);
            for (index, class) in CLASSES.into_iter().enumerate() {
                let count = stats.by_class[index].load(Ordering::Relaxed);
                if count == 0 {
                    continue;
                }
                if index >= 3 {
                    errors[index - 3] += count;
                }
                sample(
                    out,
                    "inspay_http_requests_total",
                    &[("method", method), ("route", route), ("status", class)],
                    count as f64,
                );
            }
        }
        header(
            out,
            "inspay_http_errors_total",
            "counter",
            "Requests answered with an error, by status class (4xx: refused; 5xx: failed).",
        );
        for (index, class) in ["4xx", "5xx"].into_iter().enumerate() {
            sample(
                out,
                "inspay_http_errors_total",
                &[("status", class)],
                errors[index] as f64,
            );
        }
        let name = "inspay_http_request_duration_seconds";
        header(
            out,
            name,
            "histogram",
            "Time to answer a request (to the response head), by method and route template.",
        );
        for ((method, route), stats) in &routes {
            let (method, route): (&str, &str) = (method, route);
            let mut cumulative = 0u64;
            for (index, bound) in LATENCY_BUCKETS_S.iter().enumerate() {
                cumulative += stats.buckets[index].load(Ordering::Relaxed);
                let le = format_value(*bound);
                sample(
                    out,
                    &format!("{name}_bucket"),
                    &[("method", method), ("route", route), ("le", le.as_str())],
                    cumulative as f64,
                );
            }
            cumulative += stats.buckets[LATENCY_BUCKETS_S.len()].load(Ordering::Relaxed);
            let labels = [("method", method), ("route", route)];
            sample(
                out,
                &format!("{name}_bucket"),
                &[labels[0], labels[1], ("le", "+Inf")],
                cumulative as f64,
            );
            let sum_s = stats.sum_us.load(Ordering::Relaxed) as f64 / 1_000_000.0;
            sample(out, &format!("{name}_sum"), &labels, sum_s);
            sample(out, &format!("{name}_count"), &labels, cumulative as f64);
        }
    }

    fn render_business(&self, out: &mut String) {
        header(
            out,
            "inspay_fund_operations_total",
            "counter",
            "Fund operations carried out by this node, by operation and outcome.",
        );
        for operation in FundOperation::ALL {
            let (name, outcome) = operation.labels();
            sample(
                out,
                "inspay_fund_operations_total",
                &[("operation", name), ("outcome", outcome)],
                self.fund[operation.index()].load(Ordering::Relaxed) as f64,
            );
        }
        header(
            out,
            "inspay_risk_decisions_total",
            "counter",
            "Risk decisions recorded by this node, by verdict.",
        );
        for (verdict, count) in lock(&self.risk).iter() {
            sample(
                out,
                "inspay_risk_decisions_total",
                &[("verdict", verdict.as_str())],
                *count as f64,
            );
        }
        let locked = self.accounts_locked.load(Ordering::Relaxed);
        if locked >= 0 {
            header(
                out,
                "inspay_accounts_locked",
                "gauge",
                "Accounts locked after repeated failed sign-ins, at the last sample.",
            );
            sample(out, "inspay_accounts_locked", &[], locked as f64);
        }
        header(
            out,
            "inspay_security_events_total",
            "counter",
            "Security events recorded by this node, by kind and whether the event raised an alert.",
        );
        for ((kind, alert), count) in lock(&self.security_events).iter() {
            sample(
                out,
                "inspay_security_events_total",
                &[
                    ("kind", kind.as_str()),
                    ("alert", if *alert { "1" } else { "0" }),
                ],
                *count as f64,
            );
        }
    }
}

fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    // Help text is fixed in the code; escape anyway, as the format asks.
    let help = help.replace('\\', "\\\\").replace('\n', "\\n");
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: f64) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (index, (label, value)) in labels.iter().enumerate() {
            if index > 0 {
                out.push(',');
            }
            let _ = write!(out, "{label}=\"{}\"", escape_label(value));
        }
        out.push('}');
    }
    let _ = writeln!(out, " {}", format_value(value));
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label(value: &str) -> String {
    let mut escaped = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => escaped.push_str("\\\\"),
            '"' => escaped.push_str("\\\""),
            '\n' => escaped.push_str("\\n"),
            other => escaped.push(other),
        }
    }
    escaped
}

/// A sample value as the format spells it (`+Inf`, `-Inf`, `NaN`, or a plain number).
pub fn format_value(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value == f64::INFINITY {
        "+Inf".into()
    } else if value == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{value}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The exposition has HELP and TYPE lines, escaped labels, cumulative histogram buckets
    /// ending at `+Inf`, and counters that rise.
    /// req: 6.4.1
    #[test]
    fn the_exposition_is_well_formed() {
        let metrics = Metrics::default();
        metrics.request_observed("GET", "/v1/things/{id}", 200, Duration::from_millis(3));
        metrics.request_observed("GET", "/v1/things/{id}", 404, Duration::from_millis(30));
        metrics.request_observed("POST", "/x\"y", 503, Duration::from_secs(60));
        metrics.fund(FundOperation::PaymentCreated);
        metrics.risk_decision("deny");
        metrics.security_event("monitoring.disk-high", true);
        metrics.host_sampled(&HostFigures {
            cpu_percent: Some(12.5),
            memory_percent: Some(40.0),
            ..HostFigures::default()
        });
        let text = metrics.render();
        for line in [
            "# TYPE inspay_http_requests_total counter",
            "inspay_http_requests_total{method=\"GET\",route=\"/v1/things/{id}\",status=\"2xx\"} 1",
            "inspay_http_requests_total{method=\"GET\",route=\"/v1/things/{id}\",status=\"4xx\"} 1",
            "inspay_http_requests_total{method=\"POST\",route=\"/x\\\"y\",status=\"5xx\"} 1",
            "inspay_http_errors_total{status=\"4xx\"} 1",
            "inspay_http_errors_total{status=\"5xx\"} 1",
            "inspay_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/things/{id}\",le=\"0.005\"} 1",
            "inspay_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/things/{id}\",le=\"0.025\"} 1",
            "inspay_http_request_duration_seconds_bucket{method=\"GET\",route=\"/v1/things/{id}\",le=\"0.1\"} 2",
            "inspay_http_request_duration_seconds_bucket{method=\"POST\",route=\"/x\\\"y\",le=\"15\"} 0",
            "inspay_http_request_duration_seconds_bucket{method=\"POST\",route=\"/x\\\"y\",le=\"+Inf\"} 1",
            "inspay_http_request_duration_seconds_count{method=\"GET\",route=\"/v1/things/{id}\"} 2",
            "inspay_fund_operations_total{operation=\"payment\",outcome=\"created\"} 1",
            "inspay_fund_operations_total{operation=\"payout\",outcome=\"succeeded\"} 0",
            "inspay_risk_decisions_total{verdict=\"deny\"} 1",
            "inspay_security_events_total{kind=\"monitoring.disk-high\",alert=\"1\"} 1",
            "inspay_host_cpu_percent 12.5",
            "inspay_host_memory_percent 40",
            "inspay_monitoring_samples_total 1",
        ] {
            assert!(
                text.lines().any(|candidate| candidate == line),
                "missing {line}\n{text}"
            );
        }
        assert!(
            !text.contains("inspay_host_disk_percent"),
            "unread is absent"
        );
        assert!(
            !text.contains("inspay_accounts_locked"),
            "unknown is absent"
        );
        for line in text.lines().filter(|line| !line.starts_with('#')) {
            let value = line.rsplit(' ').next().expect("value");
            assert!(
                value.parse::<f64>().is_ok() || ["+Inf", "NaN"].contains(&value),
                "{line}"
            );
        }
    }

    /// A client-chosen method does not make a new series.
    #[test]
    fn odd_methods_are_one_label() {
        let odd = axum::http::Method::from_bytes(b"BREW").expect("token");
        assert_eq!(method_label(&odd), "OTHER");
        assert_eq!(method_label(&axum::http::Method::GET), "GET");
    }
}
