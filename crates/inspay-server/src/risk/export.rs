//! Risk events to the external risk-control system (clause 5.3.3.5): decisions and security
//! events, signed with SM2 and with personal data replaced, through a durable outbox to NATS
//! JetStream and a signed webhook.
//!
//! ```text
//! risk_decision_record ─▶ enqueue_decision ─┐   (the caller, right after recording)
//! security_event_record ─▶ enqueue_security_event ─┤
//!                                           ▼
//!        event JSON (account_ref, client_net) ─▶ SM2 signature (response-signing key)
//!                                           ▼
//!                  risk_exports (one row per event, a state per sink)
//!                                           ▼  every node, every interval_ms
//!        lease ─▶ signature checked ─▶ NATS JetStream ({prefix}.{kind}, Nats-Msg-Id)
//!                                  └─▶ webhook (POST, Inspay-Signature)
//!        acknowledged ─▶ done; failed ─▶ retried later (doubling delay, at most 5 min)
//! ```
//!
//! A receiver verifies `Inspay-Signature` (base64 DER) over `inspay-risk-event-v1\n` followed
//! by the exact payload bytes with the response-signing public key of serial
//! `Inspay-Key-Serial`, published at `/v1/protocol/keys`. Delivery is at least once: receivers
//! key on the event id (JetStream does so itself within its de-duplication window).
//!
//! The payload is signed once, when the event is written, and the signature is stored with it:
//! every attempt sends the same bytes, and a payload changed in the database is caught before
//! it leaves (and by the receiver).

pub mod event;
pub mod nats;
pub mod settings;
pub mod webhook;
pub mod worker;

pub use settings::{ExportEvents, ExportSettings};
pub use worker::{ExportWorker, PassSummary};

use crate::state::AppState;
use inspay_kms::Keyring;
use inspay_store::StoreError;
use inspay_store::risk::{NewRiskDecision, NewRiskExport, RiskExportKind};
use inspay_store::security_events::SecurityEvent;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// The log target of the export's failures and alerts.
pub const TARGET: &str = "inspay::risk_export";

/// One event on its way to a sink.
#[derive(Debug, Clone, Copy)]
pub struct Outgoing<'a> {
    /// The event id.
    pub id: &'a str,
    /// What it is about.
    pub kind: RiskExportKind,
    /// The signed JSON.
    pub payload: &'a str,
    /// Base64 DER SM2 signature.
    pub signature: &'a str,
    /// The key serial that signed it.
    pub serial: i64,
}

/// Why an event could not be written to the outbox.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The event could not be built (no blind-index key, JSON).
    #[error(transparent)]
    Event(#[from] event::EventError),
    /// It could not be signed (no usable response-signing key).
    #[error(transparent)]
    Kms(#[from] inspay_kms::KmsError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Writes the export event of a decision just recorded, if a sink is configured and
/// `risk.export.events` takes it (`alerts`: review and deny; `all`: every verdict). Returns
/// whether an event was written; the same decision twice writes one event.
///
/// Call it right after `Store::risk_decision_record` succeeded, with the same decision.
pub async fn enqueue_decision(
    state: &AppState,
    decision: &NewRiskDecision<'_>,
) -> Result<bool, ExportError> {
    let settings = &state.settings.risk.export;
    let wanted = match settings.events {
        ExportEvents::All => true,
        ExportEvents::Alerts => matches!(decision.verdict, "review" | "deny"),
    };
    if !settings.any_sink() || !wanted {
        return Ok(false);
    }
    let keyring = state.keyring();
    let id = uuid::Uuid::now_v7().to_string();
    let payload = event::decision_payload(&keyring, &id, decision)?;
    enqueue(
        state,
        &keyring,
        &id,
        RiskExportKind::Decision,
        decision.id,
        &payload,
    )
    .await
}

/// Writes the export event of a security event just recorded, if a sink is configured and
/// `risk.export.events` takes it (`alerts`: those that raised an alert; `all`: every one).
/// Returns whether an event was written.
///
/// Call it right after `Store::security_event_record` succeeded, with the same event.
pub async fn enqueue_security_event(
    state: &AppState,
    security_event: &SecurityEvent,
) -> Result<bool, ExportError> {
    let settings = &state.settings.risk.export;
    let wanted = match settings.events {
        ExportEvents::All => true,
        ExportEvents::Alerts => security_event.alert,
    };
    if !settings.any_sink() || !wanted {
        return Ok(false);
    }
    let keyring = state.keyring();
    let id = uuid::Uuid::now_v7().to_string();
    let payload = event::security_event_payload(&keyring, &id, security_event)?;
    enqueue(
        state,
        &keyring,
        &id,
        RiskExportKind::SecurityEvent,
        &security_event.id,
        &payload,
    )
    .await
}

async fn enqueue(
    state: &AppState,
    keyring: &Keyring,
    id: &str,
    kind: RiskExportKind,
    subject_id: &str,
    payload: &str,
) -> Result<bool, ExportError> {
    let signed = event::sign(keyring, payload.as_bytes())?;
    let settings = &state.settings.risk.export;
    let written = state
        .store
        .risk_export_enqueue(&[NewRiskExport {
            id,
            kind,
            subject_id,
            payload,
            signature: &signed.signature,
            key_serial: i64::from(signed.serial),
            created_at_ms: state.now_ms(),
            nats: settings.nats_url.is_some(),
            webhook: settings.webhook_url.is_some(),
        }])
        .await?;
    Ok(written > 0)
}

/// A pass of the export worker, boxed for the job scheduler.
pub type JobFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The background job: one [`ExportWorker`] for this node (its NATS client and HTTP client
/// live as long as the job), a pass on every call. Register it with `jobs::every` at
/// `risk.export.interval_ms`.
pub fn job() -> impl Fn(AppState) -> JobFuture + Send + 'static {
    let worker = Arc::new(ExportWorker::default());
    move |state: AppState| {
        let worker = worker.clone();
        Box::pin(async move {
            worker.run_once(&state).await;
        })
    }
}
