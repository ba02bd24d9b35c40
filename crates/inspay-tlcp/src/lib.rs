//! TLCP (GB/T 38636-2020, "NTLS 1.1") and TLS 1.3 with the RFC 8998 SM suite over tokio, for
//! inspay's listeners and clients (clause 5.6.2-a1: channel confidentiality and integrity with
//! national algorithms).
//!
//! The protocol engine is Tongsuo 8.5.0 (OpenSSL 3.5 with NTLS), vendored and built from source
//! by the `variant-ssl` crate. This crate adds what inspay needs on top:
//!
//! * [`certs`]: a development SM2 CA issuing TLCP sign/enc certificate pairs, marked
//!   [`certs::DEVELOPMENT_MARKER`] so that the production profile refuses them;
//! * [`TlcpAcceptor`] and [`TlcpConnector`]: checked configurations, only SM suites
//!   ([`Suite`], and `TLS_SM4_GCM_SM3` for TLS 1.3);
//! * [`TlcpStream`]: tokio `AsyncRead + AsyncWrite`, usable by hyper through
//!   `hyper_util::rt::TokioIo`.
//!
//! There is no `unsafe` code here: the adapter between the engine and tokio runs the engine
//! over in-memory buffers instead of passing task contexts through C callbacks.

#![forbid(unsafe_code)]

pub mod certs;
mod client;
mod error;
mod identity;
mod server;
mod stream;
mod suite;
mod transport;

pub use client::{TlcpClientConfig, TlcpConnector};
pub use error::TlcpError;
pub use server::{TlcpAcceptor, TlcpServerConfig};
pub use stream::{PROTOCOL_TLCP, PROTOCOL_TLS13, TlcpStream};
pub use suite::{Protocol, Suite, TLS13_SM_SUITE};
