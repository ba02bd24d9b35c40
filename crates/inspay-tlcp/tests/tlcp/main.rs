//! Integration tests of inspay-tlcp: real handshakes over loopback TCP.
//!
//! One test binary (modules below) so that the 40 MB Tongsuo link happens once.

mod certificates;
mod data;
mod handshakes;
mod refusals;
mod support;
mod tls13;
