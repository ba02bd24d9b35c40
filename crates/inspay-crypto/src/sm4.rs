//! SM4 (GB/T 32907) in GCM mode (RFC 8998), with associated data.
//!
//! A sealed value is `nonce (12 bytes) || ciphertext || tag (16 bytes)`. The nonce is drawn
//! from the OS CSPRNG for every seal; with 96-bit random nonces a key must not seal more than
//! 2^32 values, which the key manager's rotation schedule keeps far away.

use crate::{CryptoError, random};
use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use core::fmt;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// SM4 key length in bytes.
pub const KEY_LEN: usize = 16;
/// GCM nonce length in bytes.
pub const NONCE_LEN: usize = 12;
/// GCM tag length in bytes.
pub const TAG_LEN: usize = 16;
/// Overhead a seal adds to the plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

mod block;

type Sm4Gcm = AesGcm<block::Sm4Block, U12>;

/// An SM4 key. Redacted in `Debug`, zeroised on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop, PartialEq, Eq)]
pub struct Sm4Key([u8; KEY_LEN]);

impl Sm4Key {
    /// A new key from the OS CSPRNG.
    pub fn generate() -> Result<Self, CryptoError> {
        Ok(Self(random::bytes()?))
    }

    /// A key from its 16 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// A key from a slice that must be 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let array: [u8; KEY_LEN] = bytes
            .try_into()
            .map_err(|_| CryptoError::InvalidKey("an SM4 key is 16 bytes"))?;
        Ok(Self(array))
    }

    /// The key bytes. Every call site handles key material.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    fn cipher(&self) -> Sm4Gcm {
        Sm4Gcm::new(&self.0.into())
    }

    /// Encrypts and authenticates `plaintext`, binding `aad`, under a fresh random nonce.
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let nonce: [u8; NONCE_LEN] = random::bytes()?;
        self.seal_with_nonce(&nonce, aad, plaintext)
    }

    /// Encrypts with a caller-chosen nonce. A nonce must never be used twice with one key;
    /// this exists for known-answer tests and for protocols that fix the nonce themselves.
    pub fn seal_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        aad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let body = self
            .cipher()
            .encrypt(
                &(*nonce).into(),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .map_err(|_| CryptoError::InvalidKey("SM4-GCM refused the input length"))?;
        let mut sealed = Vec::with_capacity(NONCE_LEN + body.len());
        sealed.extend_from_slice(nonce);
        sealed.extend_from_slice(&body);
        Ok(sealed)
    }

    /// Checks and decrypts a sealed value. Fails if a single bit of the value or of `aad`
    /// differs from what was sealed.
    pub fn open(&self, aad: &[u8], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < SEAL_OVERHEAD {
            return Err(CryptoError::Decrypt);
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Decrypt)?;
        self.cipher()
            .decrypt(&nonce.into(), Payload { msg: body, aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::Decrypt)
    }
}

impl fmt::Debug for Sm4Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sm4Key([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SM4-GCM on the eight-lane SM4 seals exactly as `aes-gcm` over the RustCrypto `sm4`
    /// crate does, for random keys, nonces, associated data and plaintexts of 0 to 300 bytes
    /// (whole and partial eight-block runs), and opens what the reference sealed.
    /// req: 5.5.1.1
    #[test]
    fn gcm_matches_reference_block_cipher() {
        type Reference = AesGcm<sm4::Sm4, U12>;
        for length in (0..=300).step_by(7) {
            let key = Sm4Key::generate().expect("key");
            let nonce: [u8; NONCE_LEN] = random::bytes().expect("rng");
            let mut aad = vec![0u8; length % 40];
            let mut plaintext = vec![0u8; length];
            random::fill(&mut aad).expect("rng");
            random::fill(&mut plaintext).expect("rng");
            let ours = key.seal_with_nonce(&nonce, &aad, &plaintext).expect("seal");
            let reference = Reference::new(&(*key.expose()).into())
                .encrypt(
                    &nonce.into(),
                    Payload {
                        msg: &plaintext,
                        aad: &aad,
                    },
                )
                .expect("reference seal");
            assert_eq!(&ours[NONCE_LEN..], reference.as_slice(), "length {length}");
            assert_eq!(*key.open(&aad, &ours).expect("open"), plaintext);
        }
    }
}
