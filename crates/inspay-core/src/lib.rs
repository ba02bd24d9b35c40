//! The pure core of inspay: domain types parsed at the edge, masking rules, wrappers for
//! personal and payment-sensitive data, money, the ledger's rules and the state machines of
//! policies, payments, claims and refunds. Nothing here does I/O.

pub mod calendar;
pub mod funds;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod policy;
pub mod reconcile;
pub mod sensitive;
