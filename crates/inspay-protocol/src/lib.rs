//! The inspay API protocol (issue 4, clauses 5.6.2-c, 5.6.2-d1, 5.6.2-e), pure and shared by
//! the server and the SDK so the two can never disagree about a byte:
//!
//! - [`canonical`]: the exact bytes a client signs for a request,
//!   `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nhex(SM3(BODY))\n`;
//! - [`authorization`]: the `Authorization: INSPAY-SM2-SM3 ...` header that carries the
//!   application id, key serial, timestamp, nonce and SM2 signature, with a strict parser that
//!   refuses anything but the documented shape, each refusal with its own reason.
//!
//! No I/O, no clock: the caller passes the time.

pub mod authorization;
pub mod canonical;
