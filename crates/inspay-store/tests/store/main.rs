//! The store's integration tests, on every configured database (SQLite always; PostgreSQL too
//! when `INSPAY_TEST_POSTGRES_URL` is set): one test binary, so CI links one target instead of
//! one per file. Each module is one former test file; `support` holds the shared fixtures.
//! Run one module with `cargo test -p inspay-store --test store -- <module>::`.

mod support;

mod accounts;
mod audit_chain;
mod authorization;
mod captchas;
mod claims;
mod claims_rules;
mod closure;
mod consent;
mod credential_keys;
mod credentials;
mod database_tls;
mod durability;
mod funds;
mod keys_and_records;
mod mobile_change;
mod one_time_codes;
mod privileges;
mod protocol_writes;
mod record_verify;
mod request_nonces;
mod risk;
mod risk_exports;
mod sessions;
mod two_nodes;
