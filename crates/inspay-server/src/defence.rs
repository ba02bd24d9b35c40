//! Rate limits and attack detection (clause 5.4.3.2).
//!
//! - Limits per client IP (every request, before anything else is read), per application
//!   (after its signature verifies) and per account (after its session is found), in
//!   one-minute windows counted by every node together in the shared database (each node
//!   hands over its hits twice a second, [`RateBook`]), so a client cannot spread its requests
//!   over nodes. Over the limit: `INSPAY-AUTH-008` with `Retry-After`.
//! - Security events: signature failures, replayed nonces, unknown applications,
//!   injection-shaped input, rate-limit refusals and administration calls from outside the
//!   allowed networks are kept ([`inspay_store::security_events`]); the
//!   [`ProtectionSettings::alert_threshold`]th event of a kind from one subject within a minute
//!   raises an alert (an `ERROR` log line on target `inspay::security_alert` that monitoring
//!   pages on, and the event row marked). Past [`EVENTS_KEPT_PER_MINUTE`] per subject and kind,
//!   a flood is counted but not stored row by row.
//! - An allow-list of networks for the administration interface: routes that need a staff
//!   permission are refused from any other address.

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use inspay_store::security_events::{SecurityEvent, Subject};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// Most events of one kind from one subject stored per minute.
pub const EVENTS_KEPT_PER_MINUTE: i64 = 20;

/// The client's address, set by the listener on every request.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub IpAddr);

/// `[protection]` settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProtectionSettings {
    /// Requests per minute from one IP address (0: no limit).
    pub ip_per_minute: i64,
    /// Requests per minute from one application.
    pub app_per_minute: i64,
    /// Requests per minute for one account.
    pub account_per_minute: i64,
    /// Events of one kind from one subject within a minute that raise an alert.
    pub alert_threshold: i64,
    /// Networks (CIDR) the administration interface (staff routes) may be called from.
    pub admin_networks: Vec<String>,
    /// Proxies (addresses or CIDR networks) whose `X-Forwarded-For` is believed: a request
    /// that arrives from one of them counts as coming from the address it forwarded for.
    /// Empty (the default): the TCP peer is the client, and the header is ignored.
    pub trusted_proxies: Vec<String>,
}

impl Default for ProtectionSettings {
    fn default() -> Self {
        ProtectionSettings {
            ip_per_minute: 1_200,
            app_per_minute: 60_000,
            account_per_minute: 300,
            alert_threshold: 5,
            admin_networks: vec![
                "127.0.0.0/8".into(),
                "::1/128".into(),
                "10.0.0.0/8".into(),
                "172.16.0.0/12".into(),
                "192.168.0.0/16".into(),
            ],
            trusted_proxies: vec![],
        }
    }
}

/// A network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Network {
    address: IpAddr,
    prefix: u8,
}

impl Network {
    /// Parses `address/prefix` (a bare address is a single host).
    pub fn parse(text: &str) -> Option<Network> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.trim().parse().ok()?;
        let max = if address.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(prefix) => prefix.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
            None => max,
        };
        Some(Network { address, prefix })
    }

    /// Whether `ip` is inside.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.address, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

/// The header a trusted proxy names the client in.
pub const FORWARDED_FOR: &str = "x-forwarded-for";

/// Most `X-Forwarded-For` entries read: a longer chain is read no further (the client is then
/// the last address reached).
const FORWARDED_HOPS_MAX: usize = 16;

/// The client's address for limits, the administration allow-list and security events: the
/// TCP peer, unless the peer is a trusted proxy, in which case `X-Forwarded-For` is read from
/// the right (each proxy appends the address it received the request from) past every trusted
/// proxy, and the first address that is not one is the client. An entry that is not an address
/// stops the walk at the hop that wrote it: nothing left of it can be believed.
pub fn client_address(
    peer: IpAddr,
    headers: &axum::http::HeaderMap,
    trusted: &[Network],
) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|network| network.contains(ip));
    if trusted.is_empty() || !is_trusted(peer) {
        return peer;
    }
    let mut entries = vec![];
    for value in headers.get_all(FORWARDED_FOR) {
        let Ok(text) = value.to_str() else {
            return peer;
        };
        entries.extend(text.split(',').map(str::trim));
    }
    let mut client = peer;
    for entry in entries.iter().rev().take(FORWARDED_HOPS_MAX) {
        let Some(ip) = forwarded_ip(entry) else {
            return client;
        };
        client = ip;
        if !is_trusted(ip) {
            return ip;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: `203.0.113.7`, `2001:db8::1`, `[2001:db8::1]:443` or
/// `203.0.113.7:52100`.
fn forwarded_ip(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|at| at.ip()))
}

/// What a detector saw, for [`record`].
pub struct Seen<'a> {
    /// Event kind.
    pub kind: &'static str,
    /// Application id, if known.
    pub app_id: Option<&'a str>,
    /// Account id, if known.
    pub account_id: Option<&'a str>,
    /// Client address, if known.
    pub client: Option<IpAddr>,
    /// Route template, if matched.
    pub route: Option<&'a str>,
    /// Fixed text.
    pub detail: &'static str,
}

/// Records a security event, counting it per subject (the application if known, else the IP
/// address) and raising an alert at the threshold. Never fails the request: a storage error is
/// logged.
pub async fn record(state: &AppState, seen: Seen<'_>) {
    let now_ms = state.now_ms();
    let subject = seen
        .app_id
        .map(|app| format!("app:{app}"))
        .or_else(|| seen.client.map(|ip| format!("ip:{ip}")))
        .unwrap_or_else(|| "unknown".to_string());
    let scope = format!("event:{}", seen.kind);
    let count = match state
        .store
        .rate_hit(
            &[Subject {
                scope: &scope,
                subject: &subject,
            }],
            now_ms,
        )
        .await
    {
        Ok(counts) => counts.first().copied().unwrap_or(0),
        Err(error) => {
            tracing::error!(error = %error, kind = seen.kind, "security event not counted");
            return;
        }
    };
    let threshold = state.settings.protection.alert_threshold.max(1);
    let alert = count == threshold;
    tracing::warn!(
        target: "inspay::security",
        kind = seen.kind,
        subject = %subject,
        count,
        route = seen.route.unwrap_or("-"),
        "{}",
        seen.detail
    );
    if alert {
        tracing::error!(
            target: "inspay::security_alert",
            kind = seen.kind,
            subject = %subject,
            count,
            "security alert: {count} '{}' events from {subject} within a minute",
            seen.kind
        );
    }
    if count > EVENTS_KEPT_PER_MINUTE && !alert {
        return;
    }
    let event = SecurityEvent {
        id: uuid::Uuid::now_v7().to_string(),
        kind: seen.kind.to_string(),
        app_id: seen.app_id.map(str::to_string),
        account_id: seen.account_id.map(str::to_string),
        client_ip: seen.client.map(|ip| ip.to_string()),
        route: seen.route.map(str::to_string),
        detail: seen.detail.to_string(),
        alert,
        at_ms: now_ms,
    };
    if let Err(error) = state.store.security_event_record(&event).await {
        tracing::error!(error = %error, kind = seen.kind, "security event not kept");
        return;
    }
    state.monitor().metrics().security_event(seen.kind, alert);
    if let Err(error) = crate::risk::export::enqueue_security_event(state, &event).await {
        tracing::error!(
            target: "inspay::risk_export",
            error = %error,
            kind = seen.kind,
            "security event not queued for the risk-control system"
        );
    }
}

/// How often, at most, a node hands its local hits for one subject to the shared counter and
/// reads back the total of every node.
pub const RATE_SYNC_MS: i64 = 500;

#[derive(Debug, Default)]
struct RateEntry {
    window_start_ms: i64,
    /// The shared total at the last hand-over (every node's hits, ours included).
    shared: i64,
    /// Hits counted here and not handed over yet.
    local: i64,
    /// Hits being handed over right now.
    in_flight: i64,
    last_sync_ms: i64,
}

/// Request counters per subject, kept in memory and handed to the shared database at most
/// every [`RATE_SYNC_MS`] per subject, so a limit costs a database write per subject twice a
/// second rather than one per request. A node decides on the shared total it last read plus
/// its own hits since; across `n` nodes a client can exceed a limit by at most what the other
/// nodes counted in the last half second.
#[derive(Debug, Default)]
pub struct RateBook {
    entries: std::sync::Mutex<std::collections::HashMap<(&'static str, String), RateEntry>>,
}

/// Most subjects tracked at once; past it, windows that ended are dropped.
const RATE_BOOK_SUBJECTS_MAX: usize = 100_000;

impl RateBook {
    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<(&'static str, String), RateEntry>>
    {
        match self.entries.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }
}

/// Counts a hit against a limit; `Err` with the refusal when over it.
pub async fn limit(
    state: &AppState,
    scope: &'static str,
    subject: &str,
    per_minute: i64,
) -> Result<(), ApiError> {
    if per_minute <= 0 {
        return Ok(());
    }
    let now_ms = state.now_ms();
    let window = inspay_store::security_events::window_start(now_ms);
    let book = state.rate_book();
    let (estimate, hand_over) = {
        let mut entries = book.lock();
        if entries.len() >= RATE_BOOK_SUBJECTS_MAX {
            entries.retain(|_, entry| entry.window_start_ms == window);
        }
        let entry = entries.entry((scope, subject.to_string())).or_default();
        if entry.window_start_ms != window {
            *entry = RateEntry {
                window_start_ms: window,
                ..RateEntry::default()
            };
        }
        entry.local += 1;
        let estimate = entry.shared + entry.in_flight + entry.local;
        let due = entry.in_flight == 0
            && (now_ms - entry.last_sync_ms >= RATE_SYNC_MS || estimate > per_minute);
        let hand_over = due.then(|| {
            entry.in_flight = entry.local;
            entry.local = 0;
            entry.last_sync_ms = now_ms;
            entry.in_flight
        });
        (estimate, hand_over)
    };
    let mut estimate = estimate;
    if let Some(hits) = hand_over {
        let outcome = state
            .store
            .rate_add(Subject { scope, subject }, window, hits)
            .await;
        let mut entries = book.lock();
        if let Some(entry) = entries.get_mut(&(scope, subject.to_string()))
            && entry.window_start_ms == window
        {
            entry.in_flight = 0;
            match &outcome {
                Ok(total) => entry.shared = entry.shared.max(*total),
                Err(_) => entry.local += hits,
            }
            estimate = entry.shared + entry.local;
        }
        outcome?;
    }
    if estimate > per_minute {
        let wait_s =
            (window + inspay_store::security_events::WINDOW_MS - now_ms).div_euclid(1000) + 1;
        return Err(ApiError::new(ErrorCode::TooManyRequests)
            .detail(format!(
                "at most {per_minute} requests a minute per {scope}"
            ))
            .retry_after(wait_s));
    }
    Ok(())
}

/// Lower-cased fragments that SQL injection, script injection and path traversal attempts
/// carry and no legitimate request to this API does.
const INJECTION_MARKERS: &[&str] = &[
    "' or ",
    "\" or ",
    "'--",
    "' --",
    "union select",
    "union all select",
    "; drop ",
    ";drop ",
    "sleep(",
    "benchmark(",
    "waitfor delay",
    "pg_sleep",
    "information_schema",
    "<script",
    "javascript:",
    "onerror=",
    "../",
    "..\\",
    "%00",
    "\u{0}",
    "${jndi",
    "{{",
];

/// Whether text looks like an injection attempt (after percent-decoding).
pub fn injection_shaped(text: &str) -> bool {
    let decoded = percent_decode(text).to_lowercase();
    INJECTION_MARKERS
        .iter()
        .any(|marker| decoded.contains(marker))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        if byte == b'%'
            && index + 2 < bytes.len()
            && let Some(hex) = text.get(index + 1..index + 3)
            && let Ok(value) = u8::from_str_radix(hex, 16)
        {
            out.push(value);
            index += 3;
            continue;
        }
        out.push(if byte == b'+' { b' ' } else { byte });
        index += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The edge guard, on every request before routing: the per-IP limit and injection-shaped
/// targets.
pub async fn guard(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client = request.extensions().get::<ClientAddr>().map(|addr| addr.0);
    let settings = &state.settings.protection;
    // A call the web pages make in process was counted as the browser's own request.
    let in_process = request
        .extensions()
        .get::<crate::web::api::InProcess>()
        .is_some();
    if let Some(ip) = client
        && !in_process
        && let Err(refusal) = limit(&state, "ip", &ip.to_string(), settings.ip_per_minute).await
    {
        if refusal.code() == ErrorCode::TooManyRequests {
            record(
                &state,
                Seen {
                    kind: "rate-limited",
                    app_id: None,
                    account_id: None,
                    client,
                    route: None,
                    detail: "the per-IP request limit was reached",
                },
            )
            .await;
        }
        let mut response = refusal.into_response();
        crate::edge::close_after(request.version(), &mut response);
        return response;
    }
    let target = request
        .uri()
        .path_and_query()
        .map_or("", |target| target.as_str());
    if injection_shaped(target) {
        record(
            &state,
            Seen {
                kind: "injection-shaped-input",
                app_id: None,
                account_id: None,
                client,
                route: None,
                detail: "the request path or query looks like an injection attempt",
            },
        )
        .await;
    }
    next.run(request).await
}

/// The administration allow-list, on matched routes: a route that needs a staff permission is
/// refused from outside [`ProtectionSettings::admin_networks`].
pub async fn admin_guard(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    request: Request,
    next: Next,
) -> Response {
    let route = matched.as_ref().map(MatchedPath::as_str);
    let admin = route
        .and_then(|path| crate::auth::spec_for(request.method(), path))
        .and_then(|spec| spec.permission)
        .is_some_and(|permission| !permission.is_own());
    if admin {
        let client = request.extensions().get::<ClientAddr>().map(|addr| addr.0);
        let allowed = client.is_some_and(|ip| {
            state
                .settings
                .protection
                .admin_networks
                .iter()
                .filter_map(|network| Network::parse(network))
                .any(|network| network.contains(ip))
        });
        if !allowed {
            record(
                &state,
                Seen {
                    kind: "admin-network-refused",
                    app_id: None,
                    account_id: None,
                    client,
                    route,
                    detail: "an administration route was called from outside the allowed networks",
                },
            )
            .await;
            let version = request.version();
            let mut response = ApiError::new(ErrorCode::PermissionDenied)
                .detail("the administration interface is not reachable from this network")
                .into_response();
            if !crate::edge::drain(request.into_body()).await {
                crate::edge::close_after(version, &mut response);
            }
            return response;
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_parse_and_match() {
        let private = Network::parse("10.0.0.0/8").expect("cidr");
        assert!(private.contains("10.1.2.3".parse().expect("ip")));
        assert!(!private.contains("11.0.0.1".parse().expect("ip")));
        let host = Network::parse("192.168.1.7").expect("host");
        assert!(host.contains("192.168.1.7".parse().expect("ip")));
        assert!(!host.contains("192.168.1.8".parse().expect("ip")));
        let mapped: IpAddr = "::ffff:10.0.0.9".parse().expect("ip");
        assert!(
            private.contains(mapped),
            "IPv4-mapped IPv6 matches the IPv4 network"
        );
        let all = Network::parse("0.0.0.0/0").expect("all");
        assert!(all.contains("8.8.8.8".parse().expect("ip")));
        let v6 = Network::parse("fd00::/8").expect("v6");
        assert!(v6.contains("fd12::1".parse().expect("ip")));
        assert!(!v6.contains("fe80::1".parse().expect("ip")));
        for bad in ["10.0.0.0/33", "nonsense", "::/129", "10.0.0.0/x", ""] {
            assert!(Network::parse(bad).is_none(), "{bad}");
        }
    }

    /// A forwarded address is believed only from a trusted proxy, read from the right past
    /// every trusted hop; garbage stops the walk at the hop that wrote it.
    /// req: 5.4.3.2
    #[test]
    fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
        let trusted = [Network::parse("10.0.0.0/8").expect("cidr")];
        let ip = |text: &str| text.parse::<IpAddr>().expect("ip");
        let headers = |values: &[&str]| {
            let mut map = axum::http::HeaderMap::new();
            for value in values {
                map.append(FORWARDED_FOR, value.parse().expect("header"));
            }
            map
        };
        let client = |peer: &str, values: &[&str], trusted: &[Network]| {
            client_address(ip(peer), &headers(values), trusted)
        };
        // No trusted proxies: the header is ignored.
        assert_eq!(client("10.0.0.5", &["203.0.113.7"], &[]), ip("10.0.0.5"));
        // A peer outside the trusted networks: ignored too (a client could write it).
        assert_eq!(
            client("198.51.100.9", &["203.0.113.7"], &trusted),
            ip("198.51.100.9")
        );
        // From a trusted proxy: the nearest untrusted address, past trusted hops, whatever a
        // client wrote further left.
        assert_eq!(
            client("10.0.0.5", &["1.2.3.4, 203.0.113.7, 10.0.0.9"], &trusted),
            ip("203.0.113.7")
        );
        // Several header lines are one list, in order.
        assert_eq!(
            client("10.0.0.5", &["1.2.3.4", "203.0.113.7"], &trusted),
            ip("203.0.113.7")
        );
        // Ports and bracketed IPv6.
        assert_eq!(
            client("10.0.0.5", &["[2001:db8::1]:443"], &trusted),
            ip("2001:db8::1")
        );
        assert_eq!(
            client("10.0.0.5", &["203.0.113.7:52100"], &trusted),
            ip("203.0.113.7")
        );
        // Garbage: the walk stops at the last address it could read.
        assert_eq!(
            client("10.0.0.5", &["203.0.113.7, nonsense"], &trusted),
            ip("10.0.0.5")
        );
        assert_eq!(
            client("10.0.0.5", &["203.0.113.7, nonsense, 10.0.0.9"], &trusted),
            ip("10.0.0.9")
        );
        // No header from a trusted proxy: the proxy itself.
        assert_eq!(client("10.0.0.5", &[], &trusted), ip("10.0.0.5"));
    }

    #[test]
    fn injection_shapes_are_recognised_and_ordinary_input_is_not() {
        for attack in [
            "/v1/customers/1'%20OR%201=1--",
            "/v1/x?id=1 UNION SELECT password FROM accounts",
            "/v1/x?q=%3Cscript%3Ealert(1)%3C/script%3E",
            "/v1/files/..%2F..%2Fetc%2Fpasswd",
            "/v1/x?id=1;DROP TABLE accounts",
            "/v1/x?id=1 AND pg_sleep(5)",
        ] {
            assert!(injection_shaped(attack), "{attack}");
        }
        for ordinary in [
            "/v1/customers/0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
            "/v1/sign-in",
            "/v1/captcha",
            "/v1/x?page=2&size=20",
        ] {
            assert!(!injection_shaped(ordinary), "{ordinary}");
        }
    }
}
