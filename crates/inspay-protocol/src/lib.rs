//! The inspay API protocol (issue 4, clauses 5.6.2-c, 5.6.2-d1, 5.6.2-e), pure and shared by
//! the server and the SDK so the two can never disagree about a byte:
//!
//! - [`canonical`]: the exact bytes a client signs for a request,
//!   `METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nhex(SM3(BODY))\n`;
//! - [`authorization`]: the `Authorization: INSPAY-SM2-SM3 ...` header that carries the
//!   application id, key serial, timestamp, nonce and SM2 signature, with a strict parser that
//!   refuses anything but the documented shape, each refusal with its own reason;
//! - [`response`]: the server's signature over every answer, bound to the request's nonce;
//! - [`fields`]: sensitive field values encrypted to the server's SM2 key with a one-time
//!   nonce;
//! - [`claims`]: the claim, decision and approval documents the parties to a claim sign.
//!
//! No I/O, no clock: the caller passes the time.

pub mod authorization;
pub mod canonical;
pub mod claims;
pub mod fields;
pub mod response;

/// Header in which the client names its SDK, as `name/major.minor.patch`.
pub const SDK_HEADER: &str = "x-inspay-sdk";
/// Header that carries the session token on a signed request (its `Authorization` header
/// holds the signature).
pub const SESSION_HEADER: &str = "x-inspay-session";
/// Header that carries the idempotency key of a fund-transaction request.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
/// The window either side of the receiver's clock a timestamp may fall in, seconds.
pub const WINDOW_S: i64 = 300;
