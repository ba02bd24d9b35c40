//! National cryptography for inspay: SM2, SM3, HMAC-SM3 and SM4-GCM behind one algorithm
//! allow-list (clauses 5.5.1.1, 5.5.1.2 and 5.5.1.5 of the requirement catalogue).
//!
//! Every primitive the rest of the workspace uses comes from here, so the allow-list in
//! [`algorithm`] is the one place that decides what may run. Randomness comes only from the
//! operating system's CSPRNG ([`random`]). Secret material lives in types that redact
//! themselves in `Debug`, have no `Display` or `Serialize`, and are zeroised on drop.

pub mod algorithm;
pub mod kdf;
pub mod random;
pub mod secret;
pub mod sm2;
pub mod sm3;
pub mod sm4;

pub use algorithm::{Algorithm, AlgorithmError};
pub use secret::SecretBytes;

/// Errors from the cryptographic primitives. Messages never carry key or plaintext bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CryptoError {
    /// A key had the wrong length or was not a valid key for the algorithm.
    #[error("invalid key: {0}")]
    InvalidKey(&'static str),
    /// A ciphertext failed authentication or was malformed.
    #[error(
        "decryption failed: the data was altered, truncated, or sealed with another key or context"
    )]
    Decrypt,
    /// A signature was malformed or did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// An encoding (PEM, DER, hex) could not be parsed.
    #[error("malformed {0}")]
    Encoding(&'static str),
    /// The operating system's random source failed.
    #[error("the operating system random number generator failed")]
    Random,
    /// An algorithm outside the allow-list was named.
    #[error(transparent)]
    Algorithm(#[from] AlgorithmError),
}
