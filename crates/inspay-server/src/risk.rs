//! The risk engine in the server (issue 6; clauses 5.3.3, 5.4.3.2, 6.3.7): the rule packs in
//! force on this node, reloaded when any node or the CLI installs, rolls back or withdraws one.
//!
//! [`packs`] holds the install path (verify, load, refuse with a security event, store) and
//! the per-node set of loaded packs that the background job keeps in step with the database.

pub mod assess;
pub mod export;
pub mod gate;
pub mod holds;
pub mod login;
pub mod packs;
pub mod settings;
pub mod train;

pub use packs::{PackSet, RiskEngine};
