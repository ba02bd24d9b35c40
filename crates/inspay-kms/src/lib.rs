//! Key management for inspay (clauses 5.5.2.1 to 5.5.2.3, 5.5.1.3, 5.6.3.2 and 5.6.5-a1).
//!
//! The hierarchy has two levels. A **master key** (the key-encryption key) is supplied by the
//! operator, from a file, an environment variable, or two or more custodian shares, and never
//! stored by inspay. Under it sit **data keys**, each bound to one [`KeyPurpose`], versioned,
//! generated from the OS CSPRNG and stored only wrapped (SM4-GCM under the master key, with the
//! purpose and version as associated data so a wrapped key cannot be moved to another slot).
//!
//! This crate is pure: it holds the lifecycle rules ([`state`]), the key material and its
//! wrapping ([`material`], [`master`]), the self-describing formats of sealed values, MACs and
//! signatures at rest ([`sealed`]), and the in-memory [`keyring::Keyring`] the services use.
//! Persistence and auditing of every transition live in `inspay-store`.

pub mod keyring;
pub mod master;
pub mod material;
pub mod purpose;
pub mod sealed;
pub mod state;

pub use keyring::Keyring;
pub use master::{MasterKey, MasterKeySource};
pub use purpose::KeyPurpose;
pub use state::{KeyEvent, KeyState};

/// Errors of key management. Messages never carry key bytes.
#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// A lifecycle transition that the rules forbid.
    #[error("key {purpose} v{version}: cannot {event} a key that is {state}{hint}")]
    Transition {
        /// The key's purpose.
        purpose: KeyPurpose,
        /// The key's version.
        version: u32,
        /// What was attempted.
        event: KeyEvent,
        /// The state it is in.
        state: KeyState,
        /// What to do instead, if anything.
        hint: &'static str,
    },
    /// No key of this purpose can do what was asked (none active, or the version is gone).
    #[error("no {purpose} key v{version} is available for {operation}: {reason}")]
    Unavailable {
        /// The key's purpose.
        purpose: KeyPurpose,
        /// The version asked for (0 = the active one).
        version: u32,
        /// Encrypt, decrypt, sign, verify, MAC...
        operation: &'static str,
        /// Why not.
        reason: &'static str,
    },
    /// A wrapped key failed to unwrap: wrong master key, or the record was altered.
    #[error(
        "key {purpose} v{version} failed to unwrap: the master key is not the one it was wrapped \
         under, or the stored key was altered"
    )]
    Unwrap {
        /// The key's purpose.
        purpose: KeyPurpose,
        /// The key's version.
        version: u32,
    },
    /// The master key is refused or malformed.
    #[error("master key: {0}")]
    Master(String),
    /// A stored value has a format or algorithm that is not accepted.
    #[error("stored value: {0}")]
    Format(String),
    /// The destruction waiting period is outside the allowed range.
    #[error(
        "destruction must wait between {min} and {max} days (asked: {asked}); the waiting period \
         lets an operator cancel a mistaken destruction"
    )]
    WaitingPeriod {
        /// Smallest allowed.
        min: u32,
        /// Largest allowed.
        max: u32,
        /// What was asked.
        asked: u32,
    },
    /// A primitive failed.
    #[error(transparent)]
    Crypto(#[from] inspay_crypto::CryptoError),
}
