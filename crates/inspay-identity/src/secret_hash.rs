//! Slow salted hashes of the secrets people choose: login password, transaction password and
//! gesture pattern (clauses 5.2.2.1-a and 5.2.1.1-b).
//!
//! PBKDF2-HMAC-SM3 (RFC 8018 with the national hash), a fresh 128-bit salt per stored hash, and
//! the kind of secret mixed into the salt, so equal secrets of two factors never hash alike and
//! the leak of one factor's hash says nothing about another's. Stored as text that names the
//! algorithm, the kind and the cost (clause 5.5.1.3):
//! `pbkdf2-hmac-sm3:<kind>:i=<iterations>:<salt base64url>:<hash base64url>`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use core::fmt;
use inspay_crypto::kdf::pbkdf2_hmac_sm3;
use inspay_crypto::sm3::constant_time_eq;

/// Fewest PBKDF2 iterations accepted: a configuration below this is refused.
pub const ITERATIONS_MIN: u32 = 100_000;
/// Default cost. On the reference machine one verification takes about a tenth of a second
/// (see docs/performance.md); raise it as machines get faster.
pub const ITERATIONS_DEFAULT: u32 = 300_000;
/// Salt length in bytes.
pub const SALT_LEN: usize = 16;
/// Hash length in bytes.
pub const HASH_LEN: usize = 32;
/// Prefix naming the algorithm in the stored form.
const ALGORITHM: &str = "pbkdf2-hmac-sm3";

/// Which secret a hash is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// The login password.
    LoginPassword,
    /// The six-digit transaction (payment) password.
    TransactionPassword,
    /// The gesture pattern.
    Gesture,
}

impl SecretKind {
    /// Every kind.
    pub const ALL: [SecretKind; 3] = [
        SecretKind::LoginPassword,
        SecretKind::TransactionPassword,
        SecretKind::Gesture,
    ];

    /// The stable name in the stored form.
    pub const fn name(self) -> &'static str {
        match self {
            SecretKind::LoginPassword => "login-password",
            SecretKind::TransactionPassword => "transaction-password",
            SecretKind::Gesture => "gesture",
        }
    }

    fn parse(name: &str) -> Option<SecretKind> {
        SecretKind::ALL.into_iter().find(|kind| kind.name() == name)
    }
}

/// Why a hash could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// The cost is below [`ITERATIONS_MIN`].
    #[error("PBKDF2 iterations {0} are below the minimum of {ITERATIONS_MIN} (clause 5.2.2.1-a)")]
    CostTooLow(u32),
    /// The stored form is malformed or names another algorithm.
    #[error("stored secret hash is malformed or uses an algorithm other than pbkdf2-hmac-sm3")]
    Malformed,
    /// The random source failed.
    #[error("the operating system random number generator failed")]
    Random,
}

/// A stored secret hash. `Debug` shows the kind and cost only.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash {
    kind: SecretKind,
    iterations: u32,
    salt: [u8; SALT_LEN],
    hash: [u8; HASH_LEN],
}

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretHash({}, i={})", self.kind.name(), self.iterations)
    }
}

fn derive(
    kind: SecretKind,
    secret: &[u8],
    salt: &[u8; SALT_LEN],
    iterations: u32,
) -> [u8; HASH_LEN] {
    let mut salted = Vec::with_capacity(kind.name().len() + 1 + SALT_LEN);
    salted.extend_from_slice(kind.name().as_bytes());
    salted.push(0);
    salted.extend_from_slice(salt);
    let mut out = [0u8; HASH_LEN];
    pbkdf2_hmac_sm3(secret, &salted, iterations, &mut out);
    out
}

impl SecretHash {
    /// Hashes a secret with a fresh salt.
    pub fn new(kind: SecretKind, secret: &[u8], iterations: u32) -> Result<SecretHash, HashError> {
        if iterations < ITERATIONS_MIN {
            return Err(HashError::CostTooLow(iterations));
        }
        let salt = inspay_crypto::random::bytes::<SALT_LEN>().map_err(|_| HashError::Random)?;
        Ok(SecretHash {
            kind,
            iterations,
            salt,
            hash: derive(kind, secret, &salt, iterations),
        })
    }

    /// Whether `secret` is the one hashed, compared in constant time.
    pub fn verify(&self, secret: &[u8]) -> bool {
        constant_time_eq(
            &derive(self.kind, secret, &self.salt, self.iterations),
            &self.hash,
        )
    }

    /// The kind of secret.
    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The cost it was made with.
    pub fn iterations(&self) -> u32 {
        self.iterations
    }

    /// Whether it should be re-hashed at the current cost after the next successful check.
    pub fn needs_rehash(&self, iterations: u32) -> bool {
        self.iterations < iterations
    }

    /// The stored form.
    pub fn to_text(&self) -> String {
        format!(
            "{ALGORITHM}:{}:i={}:{}:{}",
            self.kind.name(),
            self.iterations,
            URL_SAFE_NO_PAD.encode(self.salt),
            URL_SAFE_NO_PAD.encode(self.hash)
        )
    }

    /// Parses the stored form.
    pub fn parse(text: &str) -> Result<SecretHash, HashError> {
        let parts: Vec<&str> = text.split(':').collect();
        let [algorithm, kind, iterations, salt, hash] = parts.as_slice() else {
            return Err(HashError::Malformed);
        };
        if *algorithm != ALGORITHM {
            return Err(HashError::Malformed);
        }
        let kind = SecretKind::parse(kind).ok_or(HashError::Malformed)?;
        let iterations: u32 = iterations
            .strip_prefix("i=")
            .and_then(|digits| digits.parse().ok())
            .ok_or(HashError::Malformed)?;
        let salt: [u8; SALT_LEN] = URL_SAFE_NO_PAD
            .decode(salt)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(HashError::Malformed)?;
        let hash: [u8; HASH_LEN] = URL_SAFE_NO_PAD
            .decode(hash)
            .ok()
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or(HashError::Malformed)?;
        Ok(SecretHash {
            kind,
            iterations,
            salt,
            hash,
        })
    }
}

/// Does the work of one verification against a throw-away hash, so that a login for an
/// unknown or locked account takes as long as one for a known account (clause 5.2.3.3).
/// Always returns false.
pub fn verify_dummy(kind: SecretKind, secret: &[u8], iterations: u32) -> bool {
    let salt = [0x5a; SALT_LEN];
    let hash = derive(kind, secret, &salt, iterations);
    // Keep the work from being optimised away; the answer is always "no".
    let _ = std::hint::black_box(constant_time_eq(&hash, &[0u8; HASH_LEN]));
    false
}
