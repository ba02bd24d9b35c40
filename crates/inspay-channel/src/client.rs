//! [`HttpChannel`]: the [`PaymentChannel`] over the signed HTTP protocol.

use crate::date::BusinessDate;
use crate::error::ChannelError;
use crate::interface::PaymentChannel;
use crate::order::{ChannelAnswer, OrderId, PayOrder, PayoutOrder, RefundOrder};
use crate::signing::{self, SignatureHeaders};
use crate::statement::Statement;
use crate::verify::{AccountCheck, AccountVerdict};
use crate::wire::{self, RefusalWire};
use core::fmt;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use reqwest::Method;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Longest answer body read, bytes (a day's statement of many orders fits).
pub const ANSWER_BYTES_MAX: usize = 16 * 1024 * 1024;
/// Longest merchant id, characters.
pub const MERCHANT_ID_CHARS_MAX: usize = 32;

/// Why an [`HttpChannel`] could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelConfigError {
    /// The base URL is not an `http://` or `https://` URL without query or fragment.
    #[error("the channel URL must be http:// or https://, without query or fragment")]
    BaseUrl,
    /// The merchant id is empty, too long or has characters outside `A-Z a-z 0-9 _ -`.
    #[error("the merchant id is 1 to {MERCHANT_ID_CHARS_MAX} characters of A-Z a-z 0-9 _ -")]
    MerchantId,
    /// The timeout is zero.
    #[error("the per-request timeout must be above zero")]
    Timeout,
    /// A CA certificate could not be read or used.
    #[error("the trusted CA PEM holds no usable certificate")]
    TrustedCa,
    /// The HTTP client could not be built.
    #[error("the HTTP client could not be built: {0}")]
    Client(String),
}

/// Everything an [`HttpChannel`] needs.
pub struct HttpChannelConfig {
    /// The channel's base URL, e.g. `http://127.0.0.1:7070`; requests go to `/v1/...` under it.
    pub base_url: String,
    /// Our merchant id at the channel.
    pub merchant_id: String,
    /// What signs every request with our SM2 key: the key itself, or a key manager.
    pub merchant_key: Arc<dyn crate::signing::RequestSigner>,
    /// The channel's SM2 public key: every answer must verify under it.
    pub channel_key: Sm2PublicKey,
    /// Longest wait for one request, connecting included: past it the call is a
    /// [`ChannelError::Timeout`] (or [`ChannelError::Unreachable`] while connecting).
    pub timeout: Duration,
    /// For `https://` channels: PEM certificates of the CAs to trust; `None` trusts the
    /// system's store.
    pub trusted_ca_pem: Option<String>,
}

impl fmt::Debug for HttpChannelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpChannelConfig")
            .field("base_url", &self.base_url)
            .field("merchant_id", &self.merchant_id)
            .field("merchant_key", &"[REDACTED signer]")
            .field("channel_key", &self.channel_key)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

struct Inner {
    base_url: String,
    merchant_id: String,
    merchant_key: Arc<dyn crate::signing::RequestSigner>,
    channel_key: Sm2PublicKey,
    http: reqwest::Client,
}

/// A payment channel reached over HTTP, every request signed with our SM2 key and every
/// answer verified against the channel's (clause 5.6.2-d1). Cheap to clone.
#[derive(Clone)]
pub struct HttpChannel(Arc<Inner>);

impl fmt::Debug for HttpChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpChannel")
            .field("base_url", &self.0.base_url)
            .field("merchant_id", &self.0.merchant_id)
            .finish_non_exhaustive()
    }
}

/// A verified answer: the HTTP status, the body and the channel's signature over them.
struct Verified {
    status: u16,
    body: Vec<u8>,
    evidence: crate::order::AnswerEvidence,
}

impl HttpChannel {
    /// A channel at `base_url` for merchant `merchant_id`, with a per-request `timeout`. For
    /// `https://` URLs the system's trust store is used; see [`HttpChannel::with_config`] to
    /// name the CA.
    pub fn new(
        base_url: &str,
        merchant_key: Sm2PrivateKey,
        channel_key: Sm2PublicKey,
        merchant_id: &str,
        timeout: Duration,
    ) -> Result<HttpChannel, ChannelConfigError> {
        HttpChannel::with_config(HttpChannelConfig {
            base_url: base_url.to_string(),
            merchant_id: merchant_id.to_string(),
            merchant_key: Arc::new(merchant_key),
            channel_key,
            timeout,
            trusted_ca_pem: None,
        })
    }

    /// A channel from a full configuration.
    pub fn with_config(config: HttpChannelConfig) -> Result<HttpChannel, ChannelConfigError> {
        let base_url = config.base_url.trim_end_matches('/').to_string();
        let url = reqwest::Url::parse(&base_url).map_err(|_| ChannelConfigError::BaseUrl)?;
        let url_ok = matches!(url.scheme(), "http" | "https")
            && url.query().is_none()
            && url.fragment().is_none()
            && url.host().is_some();
        if !url_ok {
            return Err(ChannelConfigError::BaseUrl);
        }
        if !crate::order::is_token(&config.merchant_id, MERCHANT_ID_CHARS_MAX) {
            return Err(ChannelConfigError::MerchantId);
        }
        if config.timeout.is_zero() {
            return Err(ChannelConfigError::Timeout);
        }
        let roots = match (url.scheme(), config.trusted_ca_pem.as_deref()) {
            ("https", Some(pem)) => Roots::Pem(pem),
            ("https", None) => Roots::System,
            _ => Roots::None,
        };
        let http = http_client(roots, config.timeout)?;
        Ok(HttpChannel(Arc::new(Inner {
            base_url,
            merchant_id: config.merchant_id,
            merchant_key: config.merchant_key,
            channel_key: config.channel_key,
            http,
        })))
    }

    /// Sends one signed request and verifies the answer's signature against our nonce.
    async fn exchange(
        &self,
        method: Method,
        path: &str,
        body: Zeroizing<Vec<u8>>,
    ) -> Result<Verified, ChannelError> {
        let inner = &self.0;
        let nonce = signing::new_nonce().map_err(|_| ChannelError::Local("no random nonce"))?;
        let headers = signing::sign_request(
            inner.merchant_key.as_ref(),
            &inner.merchant_id,
            method.as_str(),
            path,
            signing::unix_now_s(),
            &nonce,
            &body,
        )
        .map_err(|_| ChannelError::Local("the request could not be signed"))?;
        let mut request = inner
            .http
            .request(method.clone(), format!("{}{path}", inner.base_url))
            .headers(headers);
        if method == Method::POST {
            request = request
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        let answer = request.send().await.map_err(transport_error)?;
        let status = answer.status().as_u16();
        let signed = SignatureHeaders::read(answer.headers());
        let body = read_limited(answer).await?;
        let signed = signed.ok_or(ChannelError::BadSignature)?;
        let evidence = signing::check_answer(&inner.channel_key, status, &signed, &nonce, &body)?;
        Ok(Verified {
            status,
            body,
            evidence,
        })
    }

    /// Sends an order and turns the verified answer into a [`ChannelAnswer`] about it.
    async fn order(
        &self,
        method: Method,
        path: &str,
        order_id: &OrderId,
        body: Zeroizing<Vec<u8>>,
    ) -> Result<ChannelAnswer, ChannelError> {
        let verified = self.exchange(method, path, body).await?;
        refusal(&verified)?;
        let answer = wire::parse_answer(&verified.body, Some(verified.evidence))?;
        if &answer.order_id != order_id {
            return Err(ChannelError::Protocol(
                "the answer is about another order".to_string(),
            ));
        }
        Ok(answer)
    }
}

/// The path of account verification requests.
const VERIFY_PATH: &str = "/v1/accounts/verify";

/// Maps a signed non-200 answer to its error; a 200 passes.
fn refusal(verified: &Verified) -> Result<(), ChannelError> {
    match verified.status {
        200 => Ok(()),
        400..=499 => {
            let refusal: RefusalWire = serde_json::from_slice(&verified.body).map_err(|_| {
                ChannelError::Protocol(format!("a {} answer without a code", verified.status))
            })?;
            if verified.status == 409 && refusal.code == "ORDER_CONFLICT" {
                Err(ChannelError::OrderConflict)
            } else {
                Err(ChannelError::refused(&refusal.code, &refusal.message))
            }
        }
        status => Err(ChannelError::Protocol(format!(
            "unexpected HTTP status {status}"
        ))),
    }
}

fn transport_error(error: reqwest::Error) -> ChannelError {
    if error.is_connect() {
        ChannelError::Unreachable
    } else if error.is_timeout() {
        ChannelError::Timeout
    } else if error.is_builder() {
        ChannelError::Local("the request could not be built")
    } else {
        ChannelError::Protocol(format!(
            "the connection failed after the request was sent: {}",
            error.without_url()
        ))
    }
}

async fn read_limited(mut answer: reqwest::Response) -> Result<Vec<u8>, ChannelError> {
    let mut body = Vec::new();
    while let Some(chunk) = answer.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > ANSWER_BYTES_MAX {
            return Err(ChannelError::Protocol(format!(
                "the answer is longer than {ANSWER_BYTES_MAX} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The trust anchors of a client.
pub(crate) enum Roots<'a> {
    /// None: the URL is plain `http://`.
    None,
    /// The system's store.
    System,
    /// The CA certificates in a PEM text.
    Pem(&'a str),
}

/// A client with a per-request timeout, TLS by rustls with the ring provider.
pub(crate) fn http_client(
    trust: Roots<'_>,
    timeout: Duration,
) -> Result<reqwest::Client, ChannelConfigError> {
    let mut roots = rustls::RootCertStore::empty();
    match trust {
        Roots::None => {}
        Roots::System => {
            roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
        }
        Roots::Pem(pem) => {
            for certificate in CertificateDer::pem_slice_iter(pem.as_bytes()) {
                let certificate = certificate.map_err(|_| ChannelConfigError::TrustedCa)?;
                roots
                    .add(certificate)
                    .map_err(|_| ChannelConfigError::TrustedCa)?;
            }
            if roots.is_empty() {
                return Err(ChannelConfigError::TrustedCa);
            }
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|_| ChannelConfigError::Client("no safe TLS version".to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    reqwest::Client::builder()
        .use_preconfigured_tls(tls)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .map_err(|error| ChannelConfigError::Client(error.without_url().to_string()))
}

impl PaymentChannel for HttpChannel {
    async fn pay(&self, order: PayOrder) -> Result<ChannelAnswer, ChannelError> {
        let body = wire::pay_body(&order)?;
        self.order(Method::POST, "/v1/pay", order.order_id(), body)
            .await
    }

    async fn payout(&self, order: PayoutOrder) -> Result<ChannelAnswer, ChannelError> {
        let body = wire::payout_body(&order)?;
        self.order(Method::POST, "/v1/payout", order.order_id(), body)
            .await
    }

    async fn refund(&self, order: RefundOrder) -> Result<ChannelAnswer, ChannelError> {
        let body = wire::refund_body(&order)?;
        self.order(Method::POST, "/v1/refund", order.order_id(), body)
            .await
    }

    async fn query(&self, order_id: &OrderId) -> Result<ChannelAnswer, ChannelError> {
        let path = format!("/v1/orders/{order_id}");
        self.order(Method::GET, &path, order_id, Zeroizing::new(Vec::new()))
            .await
    }

    async fn statement(&self, date: &BusinessDate) -> Result<Statement, ChannelError> {
        let path = format!("/v1/statements/{date}");
        let verified = self
            .exchange(Method::GET, &path, Zeroizing::new(Vec::new()))
            .await?;
        refusal(&verified)?;
        let csv = core::str::from_utf8(&verified.body)
            .map_err(|_| ChannelError::Protocol("the statement is not UTF-8".to_string()))?;
        Statement::parse_csv(date.clone(), csv)
            .map_err(|error| ChannelError::Protocol(error.to_string()))
    }

    async fn verify_account(&self, check: AccountCheck) -> Result<AccountVerdict, ChannelError> {
        let body = wire::verify_body(&check)?;
        let verified = self.exchange(Method::POST, VERIFY_PATH, body).await?;
        refusal(&verified)?;
        let verdict = wire::parse_verdict(&verified.body, Some(verified.evidence))?;
        let same_check = &verdict.check_id == check.check_id()
            && verdict.masked_account == wire::masked_account(check.account_number());
        if !same_check {
            return Err(ChannelError::Protocol(
                "the verdict is about another check or account".to_string(),
            ));
        }
        Ok(verdict)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base_url: &str, merchant_id: &str, timeout: Duration) -> HttpChannelConfig {
        let key = Sm2PrivateKey::generate().expect("key");
        HttpChannelConfig {
            base_url: base_url.to_string(),
            merchant_id: merchant_id.to_string(),
            channel_key: key.public_key().clone(),
            merchant_key: Arc::new(key),
            timeout,
            trusted_ca_pem: None,
        }
    }

    #[test]
    fn unusable_configurations_are_refused() {
        let second = Duration::from_secs(1);
        let cases = [
            (
                config("ftp://127.0.0.1", "m", second),
                ChannelConfigError::BaseUrl,
            ),
            (
                config("http://127.0.0.1/?a=b", "m", second),
                ChannelConfigError::BaseUrl,
            ),
            (
                config("not a url", "m", second),
                ChannelConfigError::BaseUrl,
            ),
            (
                config("http://127.0.0.1", "m 1", second),
                ChannelConfigError::MerchantId,
            ),
            (
                config("http://127.0.0.1", "m", Duration::ZERO),
                ChannelConfigError::Timeout,
            ),
        ];
        for (config, expected) in cases {
            let url = config.base_url.clone();
            assert_eq!(
                HttpChannel::with_config(config).err(),
                Some(expected),
                "{url}"
            );
        }
        let mut pinned = config("https://bank.example", "m", second);
        pinned.trusted_ca_pem = Some("-----BEGIN CERTIFICATE-----\nAAAA\n".to_string());
        assert_eq!(
            HttpChannel::with_config(pinned).err(),
            Some(ChannelConfigError::TrustedCa)
        );
        assert!(HttpChannel::with_config(config("https://bank.example/", "m", second)).is_ok());
    }
}
