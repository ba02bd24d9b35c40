//! `[risk.export]`: where risk events go (clause 5.3.3.5), which ones, and how hard delivery
//! tries. With neither `nats_url` nor `webhook_url` set (the default) nothing is exported and
//! nothing is written to the outbox.

use crate::config::Profile;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Which events are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExportEvents {
    /// Review and deny decisions, and security events that raised an alert.
    Alerts,
    /// Every decision and every recorded security event.
    All,
}

/// `[risk.export]`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportSettings {
    /// The NATS server, `tls://host:4222` (or `nats://` to a loopback address outside the
    /// production profile). Unset: no NATS sink. No credentials in the URL: see
    /// `nats_token_file`.
    pub nats_url: Option<String>,
    /// The JetStream stream the events are stored in; created if missing, with subjects
    /// `{nats_subject_prefix}.>` and a 10-minute de-duplication window. Default `INSPAY_RISK`.
    pub nats_stream: String,
    /// Events are published to `{prefix}.decision` and `{prefix}.security-event`. Default
    /// `inspay.risk`.
    pub nats_subject_prefix: String,
    /// PEM file of the CA that signs the NATS server's certificate, added to the system's
    /// trust store.
    pub nats_ca_file: Option<PathBuf>,
    /// A file holding the NATS authentication token, if the server asks for one (kept out of
    /// the settings file).
    pub nats_token_file: Option<PathBuf>,
    /// The webhook each event is POSTed to, `https://` (or `http://` to a loopback address
    /// outside the production profile). Unset: no webhook sink.
    pub webhook_url: Option<String>,
    /// PEM file of the CA that signs the webhook's certificate, added to the system's trust
    /// store.
    pub webhook_ca_file: Option<PathBuf>,
    /// `alerts` (review and deny decisions, security events that raised an alert) or `all`.
    /// Default `alerts`.
    pub events: ExportEvents,
    /// How often each node looks for events to deliver, ms. Default 1,000.
    pub interval_ms: u64,
    /// Most events one node takes per pass. Default 100.
    pub batch_max: i64,
    /// The first retry's delay, ms; each further failure doubles it, up to 5 minutes. Default
    /// 1,000.
    pub retry_base_ms: u64,
    /// Time limit for connecting to a sink and for each delivery, ms. Default 5,000.
    pub timeout_ms: u64,
    /// Delivered events are kept this many days (a record of what was sent), then purged.
    /// Undelivered ones are never purged. Default 7.
    pub retention_days: u32,
}

impl Default for ExportSettings {
    fn default() -> Self {
        Self {
            nats_url: None,
            nats_stream: "INSPAY_RISK".to_owned(),
            nats_subject_prefix: "inspay.risk".to_owned(),
            nats_ca_file: None,
            nats_token_file: None,
            webhook_url: None,
            webhook_ca_file: None,
            events: ExportEvents::Alerts,
            interval_ms: 1_000,
            batch_max: 100,
            retry_base_ms: 1_000,
            timeout_ms: 5_000,
            retention_days: 7,
        }
    }
}

/// The longest retry delay, ms.
pub const RETRY_DELAY_MAX_MS: u64 = 300_000;

impl ExportSettings {
    /// Whether any sink is configured.
    pub fn any_sink(&self) -> bool {
        self.nats_url.is_some() || self.webhook_url.is_some()
    }

    /// The first setting that cannot work in any profile, with why: plain-text transport is
    /// refused except to a loopback address. Called from `RiskSettings::refusal`.
    pub fn refusal(&self) -> Option<(&'static str, String)> {
        self.check(false)
    }

    /// [`Self::refusal`] with the profile's rules: the production profile also refuses
    /// plain-text transport to a loopback address (every sink is `tls://` or `https://`).
    pub fn refusal_in(&self, profile: Profile) -> Option<(&'static str, String)> {
        self.check(profile == Profile::Production)
    }

    fn check(&self, production: bool) -> Option<(&'static str, String)> {
        if let Some(url) = &self.nats_url
            && let Err(reason) = check_endpoint(url, "tls", "nats", production)
        {
            return Some(("risk.export.nats_url", reason));
        }
        if let Some(url) = &self.webhook_url
            && let Err(reason) = check_endpoint(url, "https", "http", production)
        {
            return Some(("risk.export.webhook_url", reason));
        }
        if !is_token(&self.nats_stream) || self.nats_stream.len() > 64 {
            return Some((
                "risk.export.nats_stream",
                "must be 1 to 64 letters, digits, '-' or '_'".to_owned(),
            ));
        }
        if self.nats_subject_prefix.len() > 128
            || !self.nats_subject_prefix.split('.').all(is_token)
        {
            return Some((
                "risk.export.nats_subject_prefix",
                "must be dot-separated tokens of letters, digits, '-' or '_' (no wildcards), at \
                 most 128 characters"
                    .to_owned(),
            ));
        }
        if !(50..=60_000).contains(&self.interval_ms)
            || !(1..=1_000).contains(&self.batch_max)
            || !(10..=RETRY_DELAY_MAX_MS).contains(&self.retry_base_ms)
            || !(100..=60_000).contains(&self.timeout_ms)
            || !(1..=3_650).contains(&self.retention_days)
        {
            return Some((
                "risk.export",
                "interval_ms must be 50 to 60,000, batch_max 1 to 1,000, retry_base_ms 10 to \
                 300,000, timeout_ms 100 to 60,000 and retention_days 1 to 3,650"
                    .to_owned(),
            ));
        }
        None
    }
}

fn is_token(text: &str) -> bool {
    !text.is_empty()
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_')
}

/// Checks a sink URL: the secure scheme anywhere, the plain one only to a loopback host and
/// never in production, no credentials in the URL. The reason names no part of the URL.
fn check_endpoint(url: &str, secure: &str, plain: &str, production: bool) -> Result<(), String> {
    let parsed =
        reqwest::Url::parse(url).map_err(|_| format!("is not a URL; use {secure}://host:port"))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(
            "must not carry credentials: they would be written wherever the \
                    settings are"
                .to_owned(),
        );
    }
    if parsed.host().is_none() {
        return Err(format!("needs a host: {secure}://host:port"));
    }
    match parsed.scheme() {
        scheme if scheme == secure => Ok(()),
        scheme if scheme == plain && production => Err(format!(
            "must be {secure}:// in production: risk events leave inspay only over TLS (clause \
             5.3.3.5)"
        )),
        scheme if scheme == plain && is_loopback(&parsed) => Ok(()),
        scheme if scheme == plain => Err(format!(
            "must be {secure}://: {plain}:// is allowed only to a loopback address, outside \
             production (clause 5.3.3.5)"
        )),
        _ => Err(format!("must be {secure}://host:port")),
    }
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}
