//! Data-key material: generated from the OS CSPRNG, serialised only to be wrapped.

use crate::{KeyPurpose, KmsError};
use inspay_crypto::SecretBytes;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey};
use inspay_crypto::sm4::Sm4Key;
use zeroize::Zeroizing;

/// Length of an HMAC-SM3 key: the digest length, as RFC 2104 recommends.
pub const HMAC_KEY_LEN: usize = 32;

/// The secret part of a data key.
#[derive(Debug)]
pub enum KeyMaterial {
    /// An SM4 key.
    Sm4(Sm4Key),
    /// An HMAC-SM3 key.
    Hmac(SecretBytes),
    /// An SM2 private key.
    Sm2(Box<Sm2PrivateKey>),
}

impl KeyMaterial {
    /// Fresh material for a purpose, from the OS CSPRNG (clause 5.5.2.2).
    pub fn generate(purpose: KeyPurpose) -> Result<Self, KmsError> {
        Ok(match purpose {
            KeyPurpose::FieldEncryption => KeyMaterial::Sm4(Sm4Key::generate()?),
            KeyPurpose::BlindIndex | KeyPurpose::RecordMac => {
                let bytes = Zeroizing::new(inspay_crypto::random::bytes::<HMAC_KEY_LEN>()?);
                KeyMaterial::Hmac(SecretBytes::from_slice(&*bytes))
            }
            KeyPurpose::AuditSigning
            | KeyPurpose::ResponseSigning
            | KeyPurpose::FieldTransport
            | KeyPurpose::ChannelSigning
            | KeyPurpose::WebSigning => KeyMaterial::Sm2(Box::new(Sm2PrivateKey::generate()?)),
        })
    }

    /// The raw secret bytes, for wrapping only.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(match self {
            KeyMaterial::Sm4(key) => key.expose().to_vec(),
            KeyMaterial::Hmac(key) => key.expose().to_vec(),
            KeyMaterial::Sm2(key) => key.to_bytes().to_vec(),
        })
    }

    /// Rebuilds material of a purpose from unwrapped bytes.
    pub fn from_bytes(purpose: KeyPurpose, bytes: &[u8]) -> Result<Self, KmsError> {
        Ok(match purpose {
            KeyPurpose::FieldEncryption => KeyMaterial::Sm4(Sm4Key::from_slice(bytes)?),
            KeyPurpose::BlindIndex | KeyPurpose::RecordMac => {
                if bytes.len() != HMAC_KEY_LEN {
                    return Err(KmsError::Format("an HMAC-SM3 key is 32 bytes".into()));
                }
                KeyMaterial::Hmac(SecretBytes::from_slice(bytes))
            }
            KeyPurpose::AuditSigning
            | KeyPurpose::ResponseSigning
            | KeyPurpose::FieldTransport
            | KeyPurpose::ChannelSigning
            | KeyPurpose::WebSigning => {
                KeyMaterial::Sm2(Box::new(Sm2PrivateKey::from_bytes(bytes)?))
            }
        })
    }

    /// The public half, for signing keys.
    pub fn public_key(&self) -> Option<&Sm2PublicKey> {
        match self {
            KeyMaterial::Sm2(key) => Some(key.public_key()),
            _ => None,
        }
    }
}
