//! The inspay SDK for Rust: calls the inspay API the way the protocol requires, by default.
//!
//! Every request is signed with the application's SM2 key (`Authorization: INSPAY-SM2-SM3 ...`
//! over the canonical request, clause 5.6.2-c) with a fresh nonce and the current time
//! (clause 5.6.2-e), and names the SDK in `X-Inspay-Sdk`. Sensitive fields in a JSON body
//! (card number, CVV, expiry, ID number, mobile numbers, passwords) are encrypted to the
//! server's SM2 key under a one-time field nonce before signing (clause 5.2.2.1-c). Every
//! answer's signature is verified against the server keys you pin, bound to the request's
//! nonce and checked for freshness (clause 5.6.2-d1): an answer that fails is an
//! [`Error::ResponseSignature`], never data. Only `GET`s and requests with an
//! `Idempotency-Key` are retried, only on connection failures, time-outs and
//! `502`/`503`/`504`, each retry signed and encrypted anew under the same idempotency key.
//!
//! The bytes on the wire come from [`inspay_protocol`], the crate the server uses too.
//! Nothing secret is ever printed: `Debug` of every type here redacts keys, tokens and bodies,
//! and no [`Error`] message holds a request body or a sensitive value.
//!
//! # Quick start
//!
//! ```no_run
//! use inspay_sdk::Sm2PrivateKey;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let key = Sm2PrivateKey::from_pkcs8_pem(&std::fs::read_to_string("app-key.pem")?)?;
//! let ca_pem = std::fs::read_to_string("data/dev-tls/ca.pem")?;
//! let builder = inspay_sdk::Client::builder("https://localhost:8443")
//!     .app_id("portal-app")
//!     .key(1, key)
//!     .trust_ca_pem(&ca_pem)?;
//! // Development: trust on first use. Production: pin the keys your operator exports
//! // (`inspay keys export-public response-signing`) with `.server_key_pem(serial, pem)` instead.
//! let server_keys = builder.fetch_server_keys().await?;
//! let client = builder.server_keys(&server_keys).build()?;
//!
//! // `mobile` is encrypted before it leaves the process; the answer is verified.
//! let answer: serde_json::Value = client
//!     .post("/v1/validate")
//!     .json(&serde_json::json!({"mobile": "13812345678"}))?
//!     .send()
//!     .await?
//!     .json()?;
//! println!("{answer}");
//!
//! // A fund transaction: signed-in customer, step-up proof, idempotency key (retries reuse it).
//! # let (token, proof, body) = ("", "", serde_json::json!({}));
//! let response = client
//!     .post("/v1/payments")
//!     .json(&body)?
//!     .idempotent()
//!     .session(token)
//!     .step_up(proof)
//!     .send()
//!     .await?;
//! // Keep the server's signature with the business record (non-repudiation).
//! let evidence = response.evidence().clone();
//! # let _ = evidence;
//! # Ok(())
//! # }
//! ```
//!
//! # TLCP (feature `tlcp`)
//!
//! With the `tlcp` cargo feature (off by default: it builds Tongsuo's C code), the client can
//! talk to the server's TLCP listener over TLCP (GB/T 38636) or TLS 1.3 with SM suites instead
//! of TLS: configure it with `ClientBuilder::tlcp` and the types in `inspay_sdk::tlcp`.
//! Signing, encryption, verification and retries do not change.
//!
//! # Errors
//!
//! [`Error::Api`] carries the server's stable code (`INSPAY-SIG-007`, ...), title, safe detail
//! and the reference that joins it to the server's log: quote the reference to support. See
//! the error catalogue in the operator guide.

mod client;
mod error;
mod fields;
mod keys;
mod retry;
#[cfg(feature = "tlcp")]
pub mod tlcp;
mod transport;
mod verify;

pub use client::{
    Client, ClientBuilder, FIELD_NONCE_PATH, RequestBuilder, Response, SDK_ID, STEP_UP_HEADER,
    new_idempotency_key,
};
pub use error::{Error, TransportKind};
pub use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
pub use inspay_protocol::response::ResponseError;
pub use keys::{KEYS_PATH, ServerKey, ServerKeys};
pub use reqwest::Method;
pub use reqwest::header::HeaderMap;
pub use retry::RetryPolicy;
pub use verify::ResponseEvidence;
