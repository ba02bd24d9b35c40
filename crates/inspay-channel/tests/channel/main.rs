//! Tests of the channel client against the real simulator on 127.0.0.1:0, in one binary so
//! they build once.

mod concurrency;
mod faults;
mod helpers;
mod idempotency;
mod orders;
mod redaction;
mod signatures;
mod statements;
mod verify;
