//! Browser tests: the real server on a random port over real TLS, driven by Debian's headless
//! Chromium through chromedriver (thirtyfour). A binary of their own, apart from `tests/api`,
//! so they build and run on their own (`cargo test -p inspay-server --test web`). The API
//! tests' helpers are shared by path. Without Chromium a test prints `SKIP` and returns, except
//! under CI, where it fails.

#[path = "../api/helpers.rs"]
mod helpers;
#[path = "../api/people.rs"]
mod people;
#[path = "../api/signing.rs"]
mod signing;
#[cfg(feature = "tlcp")]
#[path = "../api/tlcp_relay.rs"]
mod tlcp_relay;

mod browser;
mod customer;
mod smoke;
