//! The web client (issue 7): the customer portal and the staff console, served by
//! `inspay serve` itself under `/web/{zh,en}/...` as server-rendered HTML (clauses 6.1.2,
//! 5.2.2.2, 5.6.4, 5.6.5-b, 5.4.3.6).
//!
//! The pages are a first-party client of the API, not a second way in. A page handler builds
//! the `/v1` request an outside client would send and passes it, signed in process as the
//! registered application `inspay-web`, through the same router ([`api`]): the signature,
//! replay, field-decryption, idempotency, session, step-up, permission, risk and evidence checks
//! all apply unchanged, and no page reads the store.
//!
//! In the browser ([`assets`], [`visit`]):
//! - sensitive fields (card number, expiry, CVV, ID number, mobile, passwords) are encrypted
//!   in the page with the server's SM2 field-transport key and a one-time nonce before they
//!   leave it; the clear inputs have no `name`, so they are never posted, and the handler
//!   passes the envelopes on unopened;
//! - the session is an HttpOnly, Secure, SameSite=Strict `__Host-` cookie; every form is
//!   checked for origin and a synchroniser token;
//! - every page has a strict Content-Security-Policy (scripts and styles from this origin
//!   only, no inline code, Trusted Types), `frame-ancestors 'none'` and `no-store`; the page
//!   script resets every form when the page is left or shown again;
//! - pages show masked personal data only.

pub mod account;
pub mod api;
pub mod assets;
pub mod claims;
pub mod console;
pub mod help;
pub mod home;
pub mod i18n;
pub mod page;
pub mod pay;
pub mod register;
pub mod sections;
pub mod sign_in;
pub mod staff;
pub mod step_up;
pub mod visit;

use crate::state::AppState;
use axum::{Extension, Router};

/// Every page and static file, with the pages' API client.
pub fn routes(api: api::WebApi) -> Router<AppState> {
    Router::new()
        .merge(assets::router())
        .merge(home::router())
        .merge(sign_in::router())
        .merge(register::router())
        .merge(pay::router())
        .merge(claims::router())
        .merge(help::router())
        .merge(account::router())
        .merge(staff::router())
        .merge(console::router())
        .merge(step_up::router())
        .layer(Extension(api))
}
