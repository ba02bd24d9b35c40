//! API tests: the real server on a random port, over real TLS, against a fresh SQLite
//! database and, when `INSPAY_TEST_POSTGRES_URL` is set, a fresh PostgreSQL database. All in
//! one test binary so it builds once.

mod claims;
mod containment;
mod database;
mod defence;
mod edge;
mod field_encryption;
mod helpers;
mod identity_account;
mod identity_sign_in;
mod identity_staff;
mod integrity;
mod leaks;
mod monitoring;
mod openapi;
mod payments;
mod people;
mod profile;
mod protocol;
mod resilience;
mod risk_decisions;
mod risk_export;
mod risk_login;
mod risk_packs;
mod security_check;
mod signing;
mod sms;
mod staff_console;
#[cfg(feature = "tlcp")]
mod tlcp;
#[cfg(feature = "tlcp")]
mod tlcp_relay;
mod tls;
