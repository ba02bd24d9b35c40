//! Payments in the server: the settings, the payment channel, premium payments through it,
//! and the outbox worker that settles what a channel answered late or never.

pub mod channel;
pub mod claims;
pub mod premium;
pub mod reconcile;
pub mod risk;
pub mod settings;
pub mod worker;
