//! The in-memory transport between the TLS engine and the socket.
//!
//! The engine never touches the socket: it reads ciphertext from `incoming` and writes to
//! `outgoing`, and [`poll_flush_outgoing`] and [`poll_fill_incoming`] move bytes between those
//! buffers and the real asynchronous socket. Writes into memory never block, so the engine's
//! "want read" always means "need more ciphertext from the peer". This keeps the adapter free of
//! `unsafe` (tokio-openssl instead passes a raw task context through BIO callbacks).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// How many ciphertext bytes one socket read takes at most: one full record (16 KiB of
/// plaintext plus the largest expansion a TLCP or TLS 1.3 record allows).
pub(crate) const READ_CHUNK_BYTES: usize = 16 * 1024 + 2048;

/// The ciphertext buffers of one connection.
#[derive(Debug, Default)]
pub(crate) struct MemoryTransport {
    incoming: VecDeque<u8>,
    outgoing: Vec<u8>,
    eof: bool,
}

impl MemoryTransport {
    /// Whether the peer has closed its side of the socket.
    pub(crate) fn peer_closed(&self) -> bool {
        self.eof
    }

    /// Whether the peer has closed and every byte it sent has been consumed.
    pub(crate) fn exhausted(&self) -> bool {
        self.eof && self.incoming.is_empty()
    }
}

impl Read for MemoryTransport {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            return if self.eof {
                Ok(0)
            } else {
                Err(io::ErrorKind::WouldBlock.into())
            };
        }
        self.incoming.read(buf)
    }
}

impl Write for MemoryTransport {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes all of `outgoing` to the socket. Pending means the socket is full and the task's
/// waker is registered for write readiness.
pub(crate) fn poll_flush_outgoing<S: AsyncWrite + Unpin>(
    transport: &mut MemoryTransport,
    io: &mut S,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    let mut written = 0;
    let result = loop {
        if written == transport.outgoing.len() {
            break Poll::Ready(Ok(()));
        }
        match Pin::new(&mut *io).poll_write(cx, &transport.outgoing[written..]) {
            Poll::Ready(Ok(0)) => break Poll::Ready(Err(io::ErrorKind::WriteZero.into())),
            Poll::Ready(Ok(count)) => written += count,
            Poll::Ready(Err(error)) => break Poll::Ready(Err(error)),
            Poll::Pending => break Poll::Pending,
        }
    };
    transport.outgoing.drain(..written);
    result
}

/// Reads one chunk of ciphertext from the socket into `incoming`, or notes the end of the
/// stream. Pending means no data yet and the task's waker is registered for read readiness.
pub(crate) fn poll_fill_incoming<S: AsyncRead + Unpin>(
    transport: &mut MemoryTransport,
    io: &mut S,
    cx: &mut Context<'_>,
) -> Poll<io::Result<()>> {
    debug_assert!(!transport.eof, "no read after the end of the stream");
    let mut chunk = [0u8; READ_CHUNK_BYTES];
    let mut buf = ReadBuf::new(&mut chunk);
    ready!(Pin::new(io).poll_read(cx, &mut buf))?;
    if buf.filled().is_empty() {
        transport.eof = true;
    } else {
        transport.incoming.extend(buf.filled());
    }
    Poll::Ready(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An empty transport asks to wait until the peer has closed, then reports the end.
    #[test]
    fn empty_transport_blocks_until_eof() {
        let mut transport = MemoryTransport::default();
        let mut buf = [0u8; 4];
        let error = transport.read(&mut buf).expect_err("would block");
        assert_eq!(error.kind(), io::ErrorKind::WouldBlock);
        transport.incoming.extend(b"ab");
        assert_eq!(transport.read(&mut buf).expect("data"), 2);
        transport.eof = true;
        assert_eq!(transport.read(&mut buf).expect("eof"), 0);
    }
}
