//! Randomness from the operating system's CSPRNG only (clause 5.5.2.2).
//!
//! There is deliberately no seedable or user-space generator here: every nonce, key, salt and
//! one-time code in inspay comes from `getrandom`, which reads the kernel's CSPRNG.

use crate::CryptoError;

/// Fills `buffer` with bytes from the operating system's CSPRNG.
pub fn fill(buffer: &mut [u8]) -> Result<(), CryptoError> {
    getrandom::fill(buffer).map_err(|_| CryptoError::Random)
}

/// Returns `N` random bytes from the operating system's CSPRNG.
pub fn bytes<const N: usize>() -> Result<[u8; N], CryptoError> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// The operating system's CSPRNG as a `rand_core` generator, for APIs that take one.
pub type OsRng = getrandom::SysRng;
