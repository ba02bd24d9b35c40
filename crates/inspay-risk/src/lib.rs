//! inspay's risk engine, without I/O (clauses 5.3.3, 5.4.3.2 and 6.3.7).
//!
//! - [`decision`]: what the engine answers for a sign-in or a fund operation (allow, allow
//!   with step-up, hold for review, deny) and the reasons behind it, for staff only;
//! - [`model`]: per-customer and per-product baselines learned from history with robust
//!   statistics, and the deviation score of a new operation against them;
//! - [`generate`]: a synthetic history with planted anomalies, to train and measure the model;
//! - [`pack`]: rule packs written in the Common Expression Language, signed with SM2, checked
//!   before loading, and evaluated with only the inputs they declare.
//!
//! The server feeds the engine and acts on its decisions; nothing here reads a database, a
//! clock or the network.

pub mod decision;
pub mod generate;
pub mod model;
pub mod pack;
