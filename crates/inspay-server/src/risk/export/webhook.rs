//! The webhook sink: each event POSTed as its own request, the signed payload as the body.
//!
//! Headers: `Content-Type: application/json`, `Inspay-Event-Id` (the payload's `id`; the
//! receiver keys on it, since an event may arrive twice), `Inspay-Timestamp` (when this attempt
//! was sent, unix seconds; informational, the signed time is the payload's `at_ms`),
//! `Inspay-Signature` (base64 DER SM2 signature over `inspay-risk-event-v1\n` and the body)
//! and `Inspay-Key-Serial` (the response-signing key, as `/v1/protocol/keys` lists it). Any
//! 2xx answer is a delivery; anything else, or no answer in time, is retried.

use super::Outgoing;
use super::settings::ExportSettings;
use anyhow::Context as _;
use std::sync::Arc;

/// Requests in flight at once.
pub const PARALLEL_REQUESTS: usize = 8;

/// The per-node webhook sink: its HTTP client, made on first use.
#[derive(Default)]
pub struct WebhookSink {
    client: tokio::sync::OnceCell<reqwest::Client>,
}

impl WebhookSink {
    /// POSTs each event, [`PARALLEL_REQUESTS`] at a time; one outcome per event, in order. An
    /// error names the status or the transport failure, never the URL or a payload.
    pub async fn deliver(
        &self,
        settings: &ExportSettings,
        url: &str,
        now_s: i64,
        events: &[Outgoing<'_>],
    ) -> Vec<Result<(), String>> {
        let client = match self
            .client
            .get_or_try_init(|| async { client(settings, url) })
            .await
        {
            Ok(client) => client.clone(),
            Err(error) => {
                let error = format!("client not built: {error:#}");
                return vec![Err(error); events.len()];
            }
        };
        let url: Arc<str> = Arc::from(url);
        let mut outcomes = Vec::with_capacity(events.len());
        for chunk in events.chunks(PARALLEL_REQUESTS) {
            let mut requests = tokio::task::JoinSet::new();
            for (index, event) in chunk.iter().enumerate() {
                let request = client
                    .post(url.as_ref())
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .header("Inspay-Event-Id", event.id)
                    .header("Inspay-Timestamp", now_s.to_string())
                    .header("Inspay-Signature", event.signature)
                    .header("Inspay-Key-Serial", event.serial.to_string())
                    .body(event.payload.to_owned());
                requests.spawn(async move { (index, post(request).await) });
            }
            let mut answers = vec![Err("no answer".to_owned()); chunk.len()];
            while let Some(joined) = requests.join_next().await {
                if let Ok((index, outcome)) = joined
                    && let Some(slot) = answers.get_mut(index)
                {
                    *slot = outcome;
                }
            }
            outcomes.extend(answers);
        }
        outcomes
    }
}

async fn post(request: reqwest::RequestBuilder) -> Result<(), String> {
    match request.send().await {
        Ok(response) if response.status().is_success() => Ok(()),
        Ok(response) => Err(format!("answered {}", response.status().as_u16())),
        // The URL may hold a receiver's secret path: it stays out of the error.
        Err(error) => Err(format!("request failed: {}", error.without_url())),
    }
}

/// rustls with the allowed suites, trusting the system store (for https) and the optional CA
/// file, with the time limit, no redirects and no proxy.
fn client(settings: &ExportSettings, url: &str) -> anyhow::Result<reqwest::Client> {
    let mut roots = rustls::RootCertStore::empty();
    let https = url.starts_with("https://");
    if https {
        let native = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(native.certs);
    }
    if let Some(path) = &settings.webhook_ca_file {
        for certificate in crate::tls::read_certificates(path)? {
            roots.add(certificate).with_context(|| {
                format!("risk.export.webhook_ca_file {}: not a CA", path.display())
            })?;
        }
    }
    anyhow::ensure!(
        !https || !roots.is_empty(),
        "no trust anchors for the risk webhook: set risk.export.webhook_ca_file"
    );
    crate::tls::https_client(roots, settings.timeout_ms, "the risk webhook")
}
