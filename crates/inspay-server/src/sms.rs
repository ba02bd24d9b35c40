//! Sending SMS one-time codes (clause 5.2.1.1-d2; transport clauses 5.6.2-b3, 5.6.2-c and
//! 5.6.2-e).
//!
//! Codes are made, stored, rate-limited and checked elsewhere (`inspay_identity::otp`,
//! `inspay_store::one_time_codes`); this module only delivers the text that names the code's
//! purpose. Two gateways implement [`SmsGateway`]:
//!
//! - [`HttpGateway`] posts each message as JSON to the operator's SMS gateway over rustls
//!   (TLS 1.2 or 1.3, AEAD suites only), and signs every request with HMAC-SM3 under a shared
//!   key, a timestamp and a single-use nonce, so the gateway can refuse forged, altered and
//!   replayed requests ([`verify_gateway_signature`]).
//! - [`DevelopmentOutbox`] writes each message to `<data_dir>/sms-outbox.jsonl`, readable by
//!   its owner only, so a developer can read the code. It is the marked door of this module:
//!   [`gateway`] refuses it under the production profile.
//!
//! Nothing here logs or formats the message text or the full mobile number: [`SmsMessage`]
//! redacts both in `Debug`, and [`SmsError`] carries only a cause and an HTTP status.

mod http;
mod outbox;
mod signature;

pub use http::HttpGateway;
pub use outbox::{DevelopmentOutbox, OUTBOX_FILE, OUTBOX_READ_BYTES_MAX, OutboxEntry, outbox_read};
pub use signature::{
    HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, KEY_BYTES_MAX, KEY_BYTES_MIN, NONCE_BYTES,
    SIGNATURE_SCHEME, SIGNATURE_SKEW_MS_DEFAULT, verify_gateway_signature,
};

use anyhow::Context;
use core::fmt;
use inspay_core::sensitive::MobileNumber;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use zeroize::Zeroizing;

/// Shortest gateway timeout accepted: below this, a healthy gateway on a busy network fails.
pub const TIMEOUT_MS_MIN: u64 = 100;
/// Longest gateway timeout accepted: the sending route must answer well inside the 15 s
/// request timeout of the edge (`limits.request_timeout_ms`).
pub const TIMEOUT_MS_MAX: u64 = 10_000;
/// Default gateway timeout: generous for a gateway in the same region, short enough that a
/// hung gateway does not hold requests for long.
pub const TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Longest sender name, in characters (carrier sender labels are short).
pub const SENDER_CHARS_MAX: usize = 32;
/// Longest gateway URL, in bytes.
pub const URL_BYTES_MAX: usize = 2_048;

/// Which gateway delivers the messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmsGatewayKind {
    /// `"development-outbox"`: messages go to a local owner-only file; refused in production.
    DevelopmentOutbox,
    /// `"http"`: messages are posted, signed, to `http_url`.
    Http,
}

/// SMS settings (the `[sms]` table of the configuration).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    /// Which gateway to use; the default is the development outbox.
    pub gateway: SmsGatewayKind,
    /// The gateway endpoint for `"http"`; `https://` is required in production. It must not
    /// carry user names or passwords: requests are authenticated by their signature.
    pub http_url: Option<String>,
    /// File holding the shared HMAC-SM3 key as hex (16 to 64 bytes), readable by its owner
    /// only (mode 600 or 400).
    pub http_key_file: Option<PathBuf>,
    /// PEM file of an extra CA to trust for the gateway, besides the system trust store.
    pub http_ca_file: Option<PathBuf>,
    /// The sender name sent to the gateway with each message.
    pub sender: String,
    /// Time one gateway request may take end to end (connect, TLS, answer).
    pub timeout_ms: u64,
}

impl Default for SmsSettings {
    fn default() -> Self {
        SmsSettings {
            gateway: SmsGatewayKind::DevelopmentOutbox,
            http_url: None,
            http_key_file: None,
            http_ca_file: None,
            sender: "inspay".into(),
            timeout_ms: TIMEOUT_MS_DEFAULT,
        }
    }
}

/// An SMS setting that is refused, with the clause it would break. The reason never repeats
/// the URL or any file content.
#[derive(Debug, thiserror::Error)]
#[error("configuration refused: {setting}: {reason} (clause {clause})")]
pub struct SmsConfigError {
    /// The setting, as a dotted path (`sms.http_url`).
    pub setting: String,
    /// What is wrong and what to do.
    pub reason: String,
    /// The requirement it would break.
    pub clause: &'static str,
}

impl From<SmsConfigError> for crate::config::ConfigError {
    fn from(error: SmsConfigError) -> Self {
        crate::config::ConfigError {
            setting: error.setting,
            reason: error.reason,
            clause: error.clause,
        }
    }
}

fn refuse(setting: &str, reason: impl Into<String>, clause: &'static str) -> SmsConfigError {
    SmsConfigError {
        setting: setting.into(),
        reason: reason.into(),
        clause,
    }
}

impl SmsSettings {
    /// Refuses settings that would break a clause: the production profile refuses the
    /// development outbox and a gateway URL that is not `https://`; the HTTP gateway needs a
    /// URL and a key file. Files are checked when the gateway is built ([`gateway`]).
    pub fn validate(&self, production: bool) -> Result<(), SmsConfigError> {
        self.validate_common()?;
        match self.gateway {
            SmsGatewayKind::DevelopmentOutbox if production => Err(refuse(
                "sms.gateway",
                "the production profile refuses the development outbox, which writes codes to a \
                 local file; use gateway = \"http\" with http_url and http_key_file",
                "5.2.1.1-d2",
            )),
            SmsGatewayKind::DevelopmentOutbox => Ok(()),
            SmsGatewayKind::Http => {
                self.http_url(production)?;
                self.http_key_file()?;
                Ok(())
            }
        }
    }

    fn validate_common(&self) -> Result<(), SmsConfigError> {
        let sender_chars = self.sender.chars().count();
        if sender_chars == 0 || sender_chars > SENDER_CHARS_MAX {
            return Err(refuse(
                "sms.sender",
                format!("must be 1 to {SENDER_CHARS_MAX} characters"),
                "5.2.1.1-d2",
            ));
        }
        if self.sender.chars().any(char::is_control) {
            return Err(refuse(
                "sms.sender",
                "must not contain control characters",
                "5.2.1.1-d2",
            ));
        }
        if !(TIMEOUT_MS_MIN..=TIMEOUT_MS_MAX).contains(&self.timeout_ms) {
            return Err(refuse(
                "sms.timeout_ms",
                format!("must be {TIMEOUT_MS_MIN}..={TIMEOUT_MS_MAX}"),
                "5.3.5.1",
            ));
        }
        Ok(())
    }

    /// The parsed gateway URL, after the checks of [`SmsSettings::validate`].
    fn http_url(&self, production: bool) -> Result<reqwest::Url, SmsConfigError> {
        const SETTING: &str = "sms.http_url";
        let raw = self.http_url.as_deref().ok_or_else(|| {
            refuse(
                SETTING,
                "gateway \"http\" needs the gateway URL",
                "5.2.1.1-d2",
            )
        })?;
        if raw.len() > URL_BYTES_MAX {
            return Err(refuse(
                SETTING,
                format!("longer than {URL_BYTES_MAX} bytes"),
                "5.2.1.1-d2",
            ));
        }
        let url = reqwest::Url::parse(raw)
            .map_err(|_| refuse(SETTING, "not an absolute URL", "5.2.1.1-d2"))?;
        match url.scheme() {
            "https" => {}
            "http" if !production => {}
            "http" => {
                return Err(refuse(
                    SETTING,
                    "the production profile sends codes only over https (TLS 1.2 or 1.3)",
                    "5.6.2-b3",
                ));
            }
            _ => {
                return Err(refuse(
                    SETTING,
                    "the scheme must be https (or http in development)",
                    "5.6.2-b3",
                ));
            }
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(refuse(SETTING, "the URL has no host", "5.2.1.1-d2"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse(
                SETTING,
                "the URL must not carry credentials (they would reach logs); requests are \
                 authenticated by their HMAC-SM3 signature with sms.http_key_file",
                "5.6.2-b1",
            ));
        }
        if url.fragment().is_some() {
            return Err(refuse(
                SETTING,
                "the URL must not have a fragment",
                "5.2.1.1-d2",
            ));
        }
        Ok(url)
    }

    fn http_key_file(&self) -> Result<&Path, SmsConfigError> {
        self.http_key_file.as_deref().ok_or_else(|| {
            refuse(
                "sms.http_key_file",
                "gateway \"http\" needs the shared key file that signs its requests",
                "5.6.2-c",
            )
        })
    }
}

/// One message to send. `Debug` shows the number masked (first 3 and last 4 digits) and never
/// the text; the text is zeroised on drop.
pub struct SmsMessage {
    /// The recipient.
    pub to: MobileNumber,
    /// The text, which holds the code.
    pub text: Zeroizing<String>,
    /// What the code is for.
    pub purpose: OtpPurpose,
    /// The request that caused the message, for correlation with the gateway's records.
    pub request_id: String,
}

impl SmsMessage {
    /// The message that carries `code`: the text names the purpose and the validity
    /// ([`OneTimeCode::message`]).
    pub fn one_time_code(
        to: MobileNumber,
        code: &OneTimeCode,
        purpose: OtpPurpose,
        ttl_s: u32,
        request_id: impl Into<String>,
    ) -> SmsMessage {
        SmsMessage {
            to,
            text: code.message(purpose, ttl_s),
            purpose,
            request_id: request_id.into(),
        }
    }
}

impl fmt::Debug for SmsMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmsMessage")
            .field("to", &self.to)
            .field("text", &"[REDACTED]")
            .field("purpose", &self.purpose)
            .field("request_id", &self.request_id)
            .finish()
    }
}

/// Why a message was not sent. Carries only a cause and a status: never the text, the code
/// or the number.
#[derive(Debug, thiserror::Error)]
pub enum SmsError {
    /// The gateway could not take the message now (timeout, connection failure, 5xx); the
    /// caller may try again later.
    #[error("the SMS gateway is unavailable: {0}")]
    Unavailable(UnavailableCause),
    /// The gateway refused the message (HTTP 4xx, the status is given); sending the same
    /// request again will not help.
    #[error("the SMS gateway rejected the message with HTTP status {0}")]
    Rejected(u16),
}

/// Why the gateway was unavailable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UnavailableCause {
    /// No answer within `sms.timeout_ms`.
    #[error("no answer within the timeout")]
    TimedOut,
    /// The connection (TCP or TLS) could not be made.
    #[error("the connection could not be made")]
    ConnectFailed,
    /// Another transport failure (connection reset, malformed answer).
    #[error("the request failed in transport")]
    TransportFailed,
    /// The gateway answered with a status other than success or a client error (5xx, or a
    /// redirect, which is not followed).
    #[error("the gateway answered with HTTP status {0}")]
    Status(u16),
    /// The operating system's random number generator failed (no nonce could be made).
    #[error("the random number generator failed")]
    RandomFailed,
    /// The development outbox could not be written.
    #[error("the development outbox could not be written ({0})")]
    OutboxFailed(std::io::ErrorKind),
}

/// The future returned by [`SmsGateway::send`].
pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SmsError>> + Send + 'a>>;

/// Something that delivers SMS messages.
pub trait SmsGateway: Send + Sync + 'static {
    /// Delivers one message, or says why not.
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a>;
    /// The gateway's kind, for logs and health output.
    fn name(&self) -> &'static str;
}

/// Builds the configured gateway after [`SmsSettings::validate`]: the development outbox
/// under `data_dir` (refused when `production`), or the signed HTTP gateway (its key file is
/// read once here).
pub fn gateway(
    settings: &SmsSettings,
    data_dir: &Path,
    production: bool,
) -> anyhow::Result<Arc<dyn SmsGateway>> {
    settings.validate(production)?;
    Ok(match settings.gateway {
        SmsGatewayKind::DevelopmentOutbox => Arc::new(
            DevelopmentOutbox::open(data_dir).context("cannot open the development SMS outbox")?,
        ),
        SmsGatewayKind::Http => Arc::new(HttpGateway::new(settings, production)?),
    })
}

/// The current time in unix milliseconds.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
