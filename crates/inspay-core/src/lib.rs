//! The pure core of inspay: domain types parsed at the edge, masking rules, and wrappers
//! for personal and payment-sensitive data. Nothing here does I/O.

pub mod sensitive;
