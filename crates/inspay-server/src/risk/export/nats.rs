//! The NATS JetStream sink: one client per node, made on first use and made again after a
//! failed connect; the client itself reconnects after a dropped connection.
//!
//! Each event is published to `{prefix}.{kind}` with `Nats-Msg-Id` set to the event id, so
//! JetStream keeps one copy of an event sent again within the stream's de-duplication window
//! (an attempt whose acknowledgement was lost); it counts as delivered when JetStream
//! acknowledges it. A stream this sink creates gets a 10-minute window, longer than the longest
//! retry delay, so a copy that left before an outage and the retry after it are one message.

use super::Outgoing;
use super::settings::ExportSettings;
use anyhow::Context as _;
use async_nats::jetstream::Context;
use async_nats::jetstream::message::PublishMessage;
use std::io::Read as _;
use std::time::Duration;
use zeroize::Zeroizing;

/// The de-duplication window of a stream this sink creates.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(600);

/// Largest NATS token file read.
const TOKEN_FILE_BYTES_MAX: u64 = 4_096;

/// A connected client and what it knows.
struct Link {
    client: async_nats::Client,
    jetstream: Context,
    /// The stream was found or created on this client.
    stream_ready: bool,
}

/// The per-node NATS sink.
#[derive(Default)]
pub struct NatsSink {
    link: tokio::sync::Mutex<Option<Link>>,
}

impl NatsSink {
    /// Publishes `events` and waits for their acknowledgements; one outcome per event, in
    /// order. An error names what failed and never carries a payload.
    pub async fn deliver(
        &self,
        settings: &ExportSettings,
        url: &str,
        events: &[Outgoing<'_>],
    ) -> Vec<Result<(), String>> {
        let mut guard = self.link.lock().await;
        if guard.is_none() {
            match connect(settings, url).await {
                Ok(link) => *guard = Some(link),
                Err(error) => {
                    return all_failed(events.len(), &format!("connect failed: {error:#}"));
                }
            }
        }
        let Some(link) = guard.as_mut() else {
            return all_failed(events.len(), "no client");
        };
        // A message sent while disconnected would wait in the client and leave after the
        // outage, long after this attempt timed out; refuse early instead and retry later.
        if link.client.connection_state() != async_nats::connection::State::Connected {
            return all_failed(events.len(), "not connected (reconnecting)");
        }
        if !link.stream_ready {
            match ensure_stream(&link.jetstream, settings).await {
                Ok(()) => link.stream_ready = true,
                Err(error) => return all_failed(events.len(), &error),
            }
        }
        // Publish every event first, then wait for the acknowledgements together: one round
        // trip for the batch rather than one per event.
        let mut pending = Vec::with_capacity(events.len());
        for event in events {
            let subject = format!("{}.{}", settings.nats_subject_prefix, event.kind.as_str());
            let message = PublishMessage::build()
                .payload(bytes::Bytes::copy_from_slice(event.payload.as_bytes()))
                .message_id(event.id)
                .header("Inspay-Signature", event.signature)
                .header("Inspay-Key-Serial", event.serial.to_string().as_str());
            pending.push(link.jetstream.send_publish(subject, message).await);
        }
        let mut outcomes = Vec::with_capacity(events.len());
        for sent in pending {
            outcomes.push(match sent {
                Ok(ack) => match ack.await {
                    Ok(_) => Ok(()),
                    Err(error) => Err(format!("not acknowledged: {error}")),
                },
                Err(error) => Err(format!("publish failed: {error}")),
            });
        }
        // The stream may have been deleted or changed meanwhile: look again next time.
        if outcomes.iter().any(Result::is_err) {
            link.stream_ready = false;
        }
        outcomes
    }
}

fn all_failed(count: usize, error: &str) -> Vec<Result<(), String>> {
    vec![Err(error.to_owned()); count]
}

async fn connect(settings: &ExportSettings, url: &str) -> anyhow::Result<Link> {
    let timeout = Duration::from_millis(settings.timeout_ms);
    let mut options = async_nats::ConnectOptions::new()
        .name("inspay-risk-export")
        .connection_timeout(timeout)
        .request_timeout(Some(timeout))
        .max_reconnects(None)
        // 250 ms more for each failed reconnect, at most 4 s (the client's own ceiling): an
        // outage of seconds ends with a reconnect within a second or so.
        .reconnect_delay_callback(|attempts| {
            let attempts = u32::try_from(attempts).unwrap_or(u32::MAX);
            Duration::from_millis(250u64.saturating_mul(u64::from(attempts)))
                .min(Duration::from_secs(4))
        });
    if url.starts_with("tls://") {
        options = options
            .require_tls(true)
            .tls_client_config(tls_config(settings)?);
    }
    if let Some(path) = &settings.nats_token_file {
        options = options.token(read_token(path)?.to_string());
    }
    let client = tokio::time::timeout(timeout, options.connect(url))
        .await
        .context("timed out")??;
    let mut jetstream = async_nats::jetstream::new(client.clone());
    jetstream.set_timeout(timeout);
    Ok(Link {
        client,
        jetstream,
        stream_ready: false,
    })
}

/// Finds the stream, or creates it for `{prefix}.>` with the de-duplication window.
async fn ensure_stream(jetstream: &Context, settings: &ExportSettings) -> Result<(), String> {
    let config = async_nats::jetstream::stream::Config {
        name: settings.nats_stream.clone(),
        subjects: vec![format!("{}.>", settings.nats_subject_prefix)],
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    };
    jetstream
        .get_or_create_stream(config)
        .await
        .map(drop)
        .map_err(|error| format!("stream not available: {error}"))
}

/// rustls with the allowed suites, trusting the system store and the optional CA file.
fn tls_config(settings: &ExportSettings) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let native = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(native.certs);
    if let Some(path) = &settings.nats_ca_file {
        for certificate in crate::tls::read_certificates(path)? {
            roots.add(certificate).with_context(|| {
                format!("risk.export.nats_ca_file {}: not a CA", path.display())
            })?;
        }
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "no trust anchors for NATS: set risk.export.nats_ca_file"
    );
    let provider = std::sync::Arc::new(crate::tls::provider(&[]));
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions for NATS")?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn read_token(path: &std::path::Path) -> anyhow::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    std::fs::File::open(path)
        .and_then(|file| file.take(TOKEN_FILE_BYTES_MAX).read_to_string(&mut text))
        .with_context(|| format!("cannot read risk.export.nats_token_file {}", path.display()))?;
    let token = Zeroizing::new(text.trim().to_owned());
    anyhow::ensure!(
        !token.is_empty(),
        "risk.export.nats_token_file {} is empty",
        path.display()
    );
    Ok(token)
}
