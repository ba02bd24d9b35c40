//! The inspay server: configuration, TLS listeners, the HTTP edge, routes, errors, telemetry
//! and background jobs. The only crate that knows HTTP.

pub mod auth;
pub mod batch;
pub mod config;
pub mod containment;
pub mod defence;
pub mod edge;
pub mod error;
pub mod extract;
pub mod files;
pub mod identity_settings;
pub mod jobs;
pub mod listener;
pub mod master_key;
pub mod monitoring;
pub mod notice;
pub mod payments;
pub mod protocol;
pub mod release_check;
pub mod risk;
pub mod routes;
pub mod security_check;
pub mod sms;
pub mod startup;
pub mod state;
pub mod telemetry;
#[cfg(feature = "tlcp")]
pub mod tlcp;
pub mod tlcp_settings;
pub mod tls;
pub mod web;

pub use config::{Profile, Settings};
pub use startup::Application;
