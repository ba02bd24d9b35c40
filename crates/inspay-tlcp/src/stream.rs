//! [`TlcpStream`]: an established TLCP or TLS 1.3 (SM) connection as a tokio byte stream.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use openssl::ssl::{ErrorCode, HandshakeError, MidHandshakeSslStream, SslStream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use crate::TlcpError;
use crate::error::{classify_handshake, reasons};
use crate::transport::{MemoryTransport, poll_fill_incoming, poll_flush_outgoing};

/// The most plaintext one `poll_write` encrypts: four full records. Larger writes are accepted
/// in parts, so the ciphertext buffered in memory stays bounded whatever the caller writes.
const WRITE_PLAINTEXT_MAX_BYTES: usize = 4 * 16 * 1024;

/// What [`TlcpStream::protocol_version`] returns for TLCP.
pub const PROTOCOL_TLCP: &str = "NTLSv1.1";

/// What [`TlcpStream::protocol_version`] returns for TLS 1.3.
pub const PROTOCOL_TLS13: &str = "TLSv1.3";

/// An established connection: `AsyncRead + AsyncWrite` over the socket `S`.
///
/// Reading returns end of stream after the peer's close_notify; a socket closed without it is
/// an `UnexpectedEof` error (a truncation). `shutdown` sends close_notify and then shuts the
/// socket's write side.
pub struct TlcpStream<S = TcpStream> {
    tls: SslStream<MemoryTransport>,
    io: S,
    close_notify_queued: bool,
}

impl<S> fmt::Debug for TlcpStream<S> {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("TlcpStream")
            .field("protocol", &self.protocol_version())
            .field("cipher", &self.cipher_name())
            .finish_non_exhaustive()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlcpStream<S> {
    /// Drives a handshake started by the engine to its end over `io`.
    pub(crate) async fn handshake(
        start: Result<SslStream<MemoryTransport>, HandshakeError<MemoryTransport>>,
        mut io: S,
    ) -> Result<Self, TlcpError> {
        let mut state = start;
        loop {
            match state {
                Ok(mut tls) => {
                    // The last flight (and TLS 1.3 session tickets) must reach the peer now:
                    // the caller may wait for the peer to speak first.
                    poll_fn(|cx| poll_flush_outgoing(tls.get_mut(), &mut io, cx)).await?;
                    return Ok(TlcpStream {
                        tls,
                        io,
                        close_notify_queued: false,
                    });
                }
                Err(HandshakeError::WouldBlock(mut mid)) => {
                    poll_fn(|cx| poll_flush_outgoing(mid.get_mut(), &mut io, cx)).await?;
                    if mid.get_ref().peer_closed() {
                        return Err(TlcpError::ClosedDuringHandshake);
                    }
                    poll_fn(|cx| poll_fill_incoming(mid.get_mut(), &mut io, cx)).await?;
                    state = MidHandshakeSslStream::handshake(mid);
                }
                Err(failure) => return Err(Self::fail(failure, &mut io).await),
            }
        }
    }

    /// Classifies a failed handshake and sends our alert, if any, on a best-effort basis.
    async fn fail(failure: HandshakeError<MemoryTransport>, io: &mut S) -> TlcpError {
        let error = classify_handshake(&failure);
        if let HandshakeError::Failure(mut mid) = failure {
            // The alert is a few bytes: it fits the socket buffer, so this does not wait on a
            // peer that stopped reading. An error here changes nothing; the handshake failed.
            let _ = poll_fn(|cx| poll_flush_outgoing(mid.get_mut(), io, cx)).await;
        }
        tracing::debug!(%error, "TLCP handshake failed");
        error
    }
}

impl<S> TlcpStream<S> {
    /// `"NTLSv1.1"` for TLCP ([`PROTOCOL_TLCP`]) or `"TLSv1.3"` ([`PROTOCOL_TLS13`]).
    pub fn protocol_version(&self) -> &'static str {
        self.tls.ssl().version_str()
    }

    /// Whether the connection speaks TLCP (rather than TLS 1.3).
    pub fn is_tlcp(&self) -> bool {
        self.protocol_version() == PROTOCOL_TLCP
    }

    /// The negotiated suite, in Tongsuo's naming: for example `ECC-SM2-SM4-GCM-SM3` or
    /// `TLS_SM4_GCM_SM3`.
    pub fn cipher_name(&self) -> Option<&'static str> {
        self.tls.ssl().current_cipher().map(|cipher| cipher.name())
    }

    /// The ALPN protocol agreed in the handshake, if any (for example `b"http/1.1"`).
    pub fn alpn_protocol(&self) -> Option<&[u8]> {
        self.tls.ssl().selected_alpn_protocol()
    }

    /// The peer's sign certificate, DER, when it presented one: the identity of a client under
    /// mutual authentication (in TLS 1.3, its only certificate).
    pub fn peer_sign_certificate_der(&self) -> Option<Vec<u8>> {
        let ssl = self.tls.ssl();
        let certificate = if self.is_tlcp() {
            ssl.ntls_peer_sign_certificate().map(|c| c.to_owned())
        } else {
            ssl.peer_certificate()
        };
        certificate.and_then(|certificate| certificate.to_der().ok())
    }

    /// The socket.
    pub fn get_ref(&self) -> &S {
        &self.io
    }
}

fn record_error(error: openssl::ssl::Error) -> io::Error {
    match error.into_io_error() {
        Ok(io_error) => io_error,
        Err(error) => {
            let detail = error
                .ssl_error()
                .map(reasons)
                .unwrap_or_else(|| error.code().as_raw().to_string());
            io::Error::other(format!("TLCP record layer: {detail}"))
        }
    }
}

fn truncated() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the peer closed the connection without close_notify",
    )
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for TlcpStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        loop {
            // Records the engine may produce while reading (a TLS 1.3 KeyUpdate reply, a
            // warning alert) wait in memory for the next write, flush or shutdown, as with
            // tokio-rustls: nothing the peer waits for is among them (renegotiation and
            // post-handshake authentication are off). Writing to the socket here would register
            // the reader's waker for write readiness; a socket keeps one such waker, so with
            // `tokio::io::split` a writer task waiting in `poll_flush` would lose its wake-up.
            match this.tls.ssl_read(buf.initialize_unfilled()) {
                Ok(count) => {
                    buf.advance(count);
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.code() == ErrorCode::ZERO_RETURN => {
                    return Poll::Ready(Ok(()));
                }
                Err(error) if error.code() == ErrorCode::WANT_READ => {
                    if this.tls.get_ref().peer_closed() {
                        return Poll::Ready(Err(truncated()));
                    }
                    ready!(poll_fill_incoming(this.tls.get_mut(), &mut this.io, cx))?;
                }
                // The engine reports a socket closed mid-record or without close_notify as
                // a protocol error; it is a truncation.
                Err(_) if this.tls.get_ref().exhausted() => return Poll::Ready(Err(truncated())),
                Err(error) => return Poll::Ready(Err(record_error(error))),
            }
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for TlcpStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        // Back-pressure: the ciphertext of earlier writes must have left before more is made.
        ready!(poll_flush_outgoing(this.tls.get_mut(), &mut this.io, cx))?;
        let part = &buf[..buf.len().min(WRITE_PLAINTEXT_MAX_BYTES)];
        match this.tls.ssl_write(part) {
            Ok(count) => {
                // Start sending now; an error here shows again on the next call, and the bytes
                // are accepted either way.
                let _ = poll_flush_outgoing(this.tls.get_mut(), &mut this.io, cx);
                Poll::Ready(Ok(count))
            }
            // Only renegotiation could make a write wait for the peer, and it is off. Reading
            // here would take the reader task's wake-up (a socket keeps one read waker), so
            // this is an error rather than a silent read.
            Err(error) if error.code() == ErrorCode::WANT_READ => {
                Poll::Ready(Err(io::Error::other(
                    "the TLCP engine wants to read during a write (renegotiation is refused)",
                )))
            }
            Err(error) => Poll::Ready(Err(record_error(error))),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(poll_flush_outgoing(this.tls.get_mut(), &mut this.io, cx))?;
        Pin::new(&mut this.io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.close_notify_queued {
            // Queues close_notify; we do not wait for the peer's (the socket closes next).
            match this.tls.shutdown() {
                Ok(_) => {}
                Err(error)
                    if error.code() == ErrorCode::WANT_READ
                        || error.code() == ErrorCode::ZERO_RETURN => {}
                Err(error) => return Poll::Ready(Err(record_error(error))),
            }
            this.close_notify_queued = true;
        }
        ready!(poll_flush_outgoing(this.tls.get_mut(), &mut this.io, cx))?;
        Pin::new(&mut this.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_stream<T: AsyncRead + AsyncWrite + Unpin + Send + Sync + 'static>() {}

    /// The stream can move between tokio worker threads and be shared by hyper.
    #[test]
    fn stream_is_send_and_unpin() {
        assert_stream::<TlcpStream<TcpStream>>();
    }
}
