//! The HTTP gateway adapter: each message is posted as JSON
//! `{to, text, sender, purpose, request_id}` to the configured URL over rustls with the *ring*
//! provider restricted to the allowed suites (TLS 1.2 or 1.3, AEAD only; clauses 5.6.2-a1 and
//! 5.6.2-b3), and signed with HMAC-SM3 under the shared key (clauses 5.6.2-c and 5.6.2-e; see
//! [`super::signature`]). Redirects are not followed and no proxy is used, so the signed
//! message goes to the configured host only.

use super::signature::{
    HEADER_NONCE, HEADER_SIGNATURE, HEADER_TIMESTAMP, KEY_BYTES_MAX, KEY_BYTES_MIN, NONCE_BYTES,
    sign,
};
use super::{SendFuture, SmsError, SmsGateway, SmsMessage, SmsSettings, UnavailableCause};
use anyhow::{Context, bail};
use inspay_core::sensitive::Exposed;
use inspay_crypto::SecretBytes;
use serde::Serialize;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use zeroize::Zeroizing;

/// Largest key file read, in bytes (a 64-byte key is 128 hex digits plus a newline).
const KEY_FILE_BYTES_MAX: u64 = 1_024;
/// Room reserved for the JSON body besides the text, so that serialising does not reallocate.
const BODY_BYTES_OVERHEAD: usize = 256;
/// Permission bits that must be clear on the key file: anything for group or others.
const NOT_OWNER_BITS: u32 = 0o077;

/// Posts signed messages to the operator's SMS gateway.
#[derive(Debug)]
pub struct HttpGateway {
    client: reqwest::Client,
    url: reqwest::Url,
    /// The request target as sent (path and query), which the signature covers.
    target: String,
    key: SecretBytes,
    sender: String,
}

/// The JSON body posted to the gateway.
#[derive(Serialize)]
struct Body<'a> {
    to: &'a str,
    text: &'a str,
    sender: &'a str,
    purpose: &'static str,
    request_id: &'a str,
}

impl HttpGateway {
    /// Builds the gateway from validated settings: reads the key file once (owner-only, hex,
    /// 16 to 64 bytes) and prepares the TLS client (system trust store plus
    /// `sms.http_ca_file`).
    pub fn new(settings: &SmsSettings, production: bool) -> anyhow::Result<HttpGateway> {
        let url = settings.http_url(production)?;
        let key = load_key(settings.http_key_file()?)?;
        let client = client(settings, &url)?;
        let target = match url.query() {
            Some(query) => format!("{}?{query}", url.path()),
            None => url.path().to_string(),
        };
        Ok(HttpGateway {
            client,
            url,
            target,
            key,
            sender: settings.sender.clone(),
        })
    }

    /// The JSON body, in a buffer that is wiped when dropped.
    fn body(&self, message: &SmsMessage) -> Result<Zeroizing<Vec<u8>>, SmsError> {
        let mut body = Zeroizing::new(Vec::with_capacity(
            2 * message.text.len()
                + message.request_id.len()
                + self.sender.len()
                + BODY_BYTES_OVERHEAD,
        ));
        let fields = Body {
            to: message.to.expose(),
            text: &message.text,
            sender: &self.sender,
            purpose: message.purpose.name(),
            request_id: &message.request_id,
        };
        serde_json::to_writer(&mut *body, &fields)
            .map_err(|_| SmsError::Unavailable(UnavailableCause::TransportFailed))?;
        Ok(body)
    }

    async fn post(&self, message: &SmsMessage) -> Result<(), SmsError> {
        let body = self.body(message)?;
        let timestamp = super::now_ms().to_string();
        let nonce = inspay_crypto::random::bytes::<NONCE_BYTES>()
            .map(hex::encode)
            .map_err(|_| SmsError::Unavailable(UnavailableCause::RandomFailed))?;
        let signature = sign(self.key.expose(), &self.target, &timestamp, &nonce, &body);
        // The body buffer moves into the request and is wiped when the request drops it.
        let body = reqwest::Body::from(bytes::Bytes::from_owner(body));
        let response = self
            .client
            .post(self.url.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(HEADER_TIMESTAMP, timestamp)
            .header(HEADER_NONCE, nonce)
            .header(HEADER_SIGNATURE, signature)
            .body(body)
            .send()
            .await
            .map_err(|error| transport_error(&error, message))?;
        outcome(response.status(), message)
    }
}

impl SmsGateway for HttpGateway {
    fn send<'a>(&'a self, message: &'a SmsMessage) -> SendFuture<'a> {
        Box::pin(self.post(message))
    }

    fn name(&self) -> &'static str {
        "http"
    }
}

/// Success, a rejection (4xx) or unavailability (anything else: 5xx, or a redirect, which is
/// not followed).
fn outcome(status: reqwest::StatusCode, message: &SmsMessage) -> Result<(), SmsError> {
    let purpose = message.purpose.name();
    if status.is_success() {
        tracing::debug!(
            gateway = "http",
            purpose,
            "SMS message accepted by the gateway"
        );
        return Ok(());
    }
    tracing::warn!(
        gateway = "http",
        purpose,
        status = status.as_u16(),
        "the SMS gateway did not accept the message"
    );
    if status.is_client_error() {
        Err(SmsError::Rejected(status.as_u16()))
    } else {
        Err(SmsError::Unavailable(UnavailableCause::Status(
            status.as_u16(),
        )))
    }
}

/// Maps a transport failure to its cause, logging the error chain (which holds neither the
/// URL nor any request content).
fn transport_error(error: &reqwest::Error, message: &SmsMessage) -> SmsError {
    let cause = if error.is_timeout() {
        UnavailableCause::TimedOut
    } else if error.is_connect() {
        UnavailableCause::ConnectFailed
    } else {
        UnavailableCause::TransportFailed
    };
    let mut chain = String::new();
    let mut source: Option<&dyn std::error::Error> = std::error::Error::source(error);
    while let Some(inner) = source {
        chain.push_str(": ");
        chain.push_str(&inner.to_string());
        source = inner.source();
    }
    tracing::warn!(
        gateway = "http",
        purpose = message.purpose.name(),
        cause = %cause,
        error = %chain,
        "the SMS gateway request failed"
    );
    SmsError::Unavailable(cause)
}

/// Reads the shared key: a regular file readable by its owner only, holding 16 to 64 bytes
/// as hex. Errors name the file, never its content.
fn load_key(path: &Path) -> anyhow::Result<SecretBytes> {
    let shown = path.display();
    let metadata = std::fs::metadata(path)
        .with_context(|| format!("cannot read the SMS gateway key file {shown}"))?;
    if !metadata.is_file() {
        bail!("the SMS gateway key file {shown} is not a regular file");
    }
    if metadata.permissions().mode() & NOT_OWNER_BITS != 0 {
        bail!(
            "configuration refused: the SMS gateway key file {shown} is readable by others; make it \
             owner-only (chmod 600) (clause 5.6.2-b1: keys are kept secret)"
        );
    }
    if metadata.len() > KEY_FILE_BYTES_MAX {
        bail!("the SMS gateway key file {shown} is larger than {KEY_FILE_BYTES_MAX} bytes");
    }
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|file| file.take(KEY_FILE_BYTES_MAX).read_to_string(&mut text))
        .with_context(|| format!("cannot read the SMS gateway key file {shown}"))?;
    let mut key = Zeroizing::new(vec![0u8; text.trim().len() / 2]);
    if !text.trim().len().is_multiple_of(2) || hex::decode_to_slice(text.trim(), &mut key).is_err()
    {
        bail!("the SMS gateway key file {shown} does not hold a hex key");
    }
    if !(KEY_BYTES_MIN..=KEY_BYTES_MAX).contains(&key.len()) {
        bail!(
            "configuration refused: the SMS gateway key in {shown} must be {KEY_BYTES_MIN} to \
             {KEY_BYTES_MAX} bytes (clause 5.6.2-c: requests are authenticated by HMAC-SM3)"
        );
    }
    Ok(SecretBytes::from_zeroizing(key))
}

/// The HTTP client: rustls with the allowed suites, trusting the system store and the
/// optional extra CA, with the configured timeout, no redirects and no proxy.
fn client(settings: &SmsSettings, url: &reqwest::Url) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    if url.scheme() == "https" {
        let native = rustls_native_certs::load_native_certs();
        let (added, ignored) = roots.add_parsable_certificates(native.certs);
        tracing::debug!(
            added,
            ignored,
            errors = native.errors.len(),
            "system trust store loaded for the SMS gateway"
        );
    }
    if let Some(path) = &settings.http_ca_file {
        for certificate in crate::tls::read_certificates(path)? {
            roots
                .add(certificate)
                .with_context(|| format!("sms.http_ca_file {}: not a CA", path.display()))?;
        }
    }
    if url.scheme() == "https" && roots.is_empty() {
        bail!(
            "no trust anchors for the SMS gateway: the system trust store is empty; set \
             sms.http_ca_file to the CA that signs the gateway's certificate"
        );
    }
    crate::tls::https_client(roots, settings.timeout_ms, "the SMS gateway")
}
