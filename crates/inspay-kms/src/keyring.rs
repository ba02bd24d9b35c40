//! The unwrapped data keys a process holds, and the operations the rest of inspay performs
//! with them. Callers name a purpose, never a key: the keyring picks the active version to
//! protect and the stated version to open, and enforces what each state allows.

use crate::master::length_prefixed;
use crate::material::KeyMaterial;
use crate::sealed::Sealed;
use crate::{KeyPurpose, KeyState, KmsError};
use inspay_crypto::Algorithm;
use inspay_crypto::sm2::{Sm2PublicKey, Sm2Signature};
use inspay_crypto::sm3::{constant_time_eq, hmac_sm3_parts};
use std::collections::BTreeMap;
use zeroize::Zeroizing;

/// One version of one data key, as loaded.
#[derive(Debug)]
pub struct KeyEntry {
    /// Its purpose.
    pub purpose: KeyPurpose,
    /// Its version (1, 2, ...).
    pub version: u32,
    /// Its lifecycle state.
    pub state: KeyState,
    /// The unwrapped material; `None` once destroyed.
    pub material: Option<KeyMaterial>,
}

/// The data keys of a process, by purpose and version.
#[derive(Debug, Default)]
pub struct Keyring {
    entries: BTreeMap<(KeyPurpose, u32), KeyEntry>,
}

/// Which use of a key is asked for; it decides which states are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Use {
    Protect,
    Open,
    Rewrap,
}

impl Keyring {
    /// An empty keyring.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds or replaces one key version.
    pub fn insert(&mut self, entry: KeyEntry) {
        self.entries.insert((entry.purpose, entry.version), entry);
    }

    /// All entries, ordered by purpose and version.
    pub fn entries(&self) -> impl Iterator<Item = &KeyEntry> {
        self.entries.values()
    }

    /// The active version of a purpose, if any.
    pub fn active_version(&self, purpose: KeyPurpose) -> Option<u32> {
        self.entries
            .values()
            .filter(|entry| entry.purpose == purpose && entry.state == KeyState::Active)
            .map(|entry| entry.version)
            .max()
    }

    fn material(
        &self,
        purpose: KeyPurpose,
        version: Option<u32>,
        operation: &'static str,
        usage: Use,
    ) -> Result<(u32, &KeyMaterial), KmsError> {
        let unavailable = |version, reason| KmsError::Unavailable {
            purpose,
            version,
            operation,
            reason,
        };
        let version = match version {
            Some(version) => version,
            None => self
                .active_version(purpose)
                .ok_or_else(|| unavailable(0, "no key of this purpose is active"))?,
        };
        let entry = self
            .entries
            .get(&(purpose, version))
            .ok_or_else(|| unavailable(version, "no such key version"))?;
        let allowed = match usage {
            Use::Protect => entry.state.may_protect(),
            Use::Open => entry.state.may_open(),
            Use::Rewrap => entry.state.may_open_for_rewrap(),
        };
        if !allowed {
            return Err(unavailable(version, entry_state_reason(entry.state)));
        }
        let material = entry
            .material
            .as_ref()
            .ok_or_else(|| unavailable(version, "the key material was destroyed"))?;
        Ok((version, material))
    }

    /// Encrypts a field with the active field-encryption key, binding `aad` (table, column and
    /// row id, so a ciphertext moved elsewhere fails to open).
    pub fn seal_field(&self, aad: &[u8], plaintext: &[u8]) -> Result<Sealed, KmsError> {
        let (version, material) = self.material(
            KeyPurpose::FieldEncryption,
            None,
            "encryption",
            Use::Protect,
        )?;
        let KeyMaterial::Sm4(key) = material else {
            return Err(KmsError::Format(
                "field-encryption key is not an SM4 key".into(),
            ));
        };
        Ok(Sealed {
            algorithm: Algorithm::Sm4Gcm,
            key_version: version,
            bytes: key.seal(aad, plaintext)?,
        })
    }

    /// Decrypts a sealed field with the version it names.
    pub fn open_field(&self, aad: &[u8], sealed: &Sealed) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        self.open_field_with(aad, sealed, Use::Open)
    }

    /// Decrypts a sealed field for a rewrap: compromised keys are accepted here, so their data
    /// can be moved to a safe key.
    pub fn open_field_for_rewrap(
        &self,
        aad: &[u8],
        sealed: &Sealed,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        self.open_field_with(aad, sealed, Use::Rewrap)
    }

    fn open_field_with(
        &self,
        aad: &[u8],
        sealed: &Sealed,
        usage: Use,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        expect_algorithm(sealed, Algorithm::Sm4Gcm)?;
        let (_, material) = self.material(
            KeyPurpose::FieldEncryption,
            Some(sealed.key_version),
            "decryption",
            usage,
        )?;
        let KeyMaterial::Sm4(key) = material else {
            return Err(KmsError::Format(
                "field-encryption key is not an SM4 key".into(),
            ));
        };
        Ok(key.open(aad, &sealed.bytes)?)
    }

    fn hmac(
        &self,
        purpose: KeyPurpose,
        version: Option<u32>,
        usage: Use,
        parts: &[&[u8]],
    ) -> Result<Sealed, KmsError> {
        let (version, material) = self.material(purpose, version, "MAC", usage)?;
        let KeyMaterial::Hmac(key) = material else {
            return Err(KmsError::Format(format!(
                "{purpose} key is not an HMAC key"
            )));
        };
        Ok(Sealed {
            algorithm: Algorithm::HmacSm3,
            key_version: version,
            bytes: hmac_sm3_parts(key.expose(), &[&length_prefixed(parts)]).to_vec(),
        })
    }

    /// The blind index of a value of some kind, under the active blind-index key.
    pub fn blind_index(&self, kind: &str, value: &str) -> Result<Sealed, KmsError> {
        self.hmac(
            KeyPurpose::BlindIndex,
            None,
            Use::Protect,
            &[kind.as_bytes(), value.as_bytes()],
        )
    }

    /// The blind indexes of a value under every key version that may still be searched, for
    /// look-ups while rows are being moved to a new version.
    pub fn blind_indexes_for_lookup(&self, kind: &str, value: &str) -> Vec<String> {
        self.entries
            .values()
            .filter(|entry| entry.purpose == KeyPurpose::BlindIndex && entry.state.may_open())
            .filter_map(|entry| {
                self.hmac(
                    KeyPurpose::BlindIndex,
                    Some(entry.version),
                    Use::Open,
                    &[kind.as_bytes(), value.as_bytes()],
                )
                .ok()
            })
            .map(|sealed| sealed.to_text())
            .collect()
    }

    /// The MAC of a stored record (clause 5.6.1-b): table, row id and the stored fields.
    pub fn record_mac(&self, parts: &[&[u8]]) -> Result<Sealed, KmsError> {
        self.hmac(KeyPurpose::RecordMac, None, Use::Protect, parts)
    }

    /// Checks a record MAC with the version it names.
    pub fn verify_record_mac(&self, parts: &[&[u8]], mac: &Sealed) -> Result<bool, KmsError> {
        expect_algorithm(mac, Algorithm::HmacSm3)?;
        let expected = self.hmac(
            KeyPurpose::RecordMac,
            Some(mac.key_version),
            Use::Open,
            parts,
        )?;
        Ok(constant_time_eq(&expected.bytes, &mac.bytes))
    }

    /// Signs `message` with the active key of a signing purpose.
    pub fn sign(&self, purpose: KeyPurpose, message: &[u8]) -> Result<Sealed, KmsError> {
        let (version, material) = self.material(purpose, None, "signing", Use::Protect)?;
        let KeyMaterial::Sm2(key) = material else {
            return Err(KmsError::Format(format!("{purpose} key is not an SM2 key")));
        };
        Ok(Sealed {
            algorithm: Algorithm::Sm2Sm3,
            key_version: version,
            bytes: key.sign(message)?.to_der(),
        })
    }

    /// Verifies a signature with the version it names. Compromised and suspended keys fail.
    pub fn verify(
        &self,
        purpose: KeyPurpose,
        message: &[u8],
        signature: &Sealed,
    ) -> Result<(), KmsError> {
        expect_algorithm(signature, Algorithm::Sm2Sm3)?;
        let public = self.public_key(purpose, signature.key_version)?;
        let signature = Sm2Signature::from_der(&signature.bytes)?;
        Ok(public.verify(message, &signature)?)
    }

    /// Decrypts an SM2 ciphertext (C1C3C2) a client made with the public half of field-transport
    /// key `version`. Retired (decrypt-only) versions still decrypt during a rotation.
    pub fn transport_decrypt(
        &self,
        version: u32,
        ciphertext: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let (_, material) = self.material(
            KeyPurpose::FieldTransport,
            Some(version),
            "decryption",
            Use::Open,
        )?;
        let KeyMaterial::Sm2(key) = material else {
            return Err(KmsError::Format(
                "field-transport key is not an SM2 key".into(),
            ));
        };
        Ok(key.decrypt(ciphertext)?)
    }

    /// The active field-transport key: its version and public half, for clients to encrypt to.
    pub fn transport_public_key(&self) -> Result<(u32, &Sm2PublicKey), KmsError> {
        let (version, material) =
            self.material(KeyPurpose::FieldTransport, None, "encryption", Use::Protect)?;
        let public = material
            .public_key()
            .ok_or_else(|| KmsError::Format("field-transport key has no public half".into()))?;
        Ok((version, public))
    }

    /// The public key of a signing key version that may still verify.
    pub fn public_key(&self, purpose: KeyPurpose, version: u32) -> Result<&Sm2PublicKey, KmsError> {
        let (_, material) = self.material(purpose, Some(version), "verification", Use::Open)?;
        material
            .public_key()
            .ok_or_else(|| KmsError::Format(format!("{purpose} key has no public half")))
    }
}

fn expect_algorithm(sealed: &Sealed, algorithm: Algorithm) -> Result<(), KmsError> {
    if sealed.algorithm != algorithm {
        return Err(KmsError::Format(format!(
            "expected a {algorithm} value, found {}",
            sealed.algorithm
        )));
    }
    Ok(())
}

fn entry_state_reason(state: KeyState) -> &'static str {
    match state {
        KeyState::PreActive => "the key is not active yet",
        KeyState::Active => "the key is active",
        KeyState::DecryptOnly => "the key was retired by rotation and only decrypts",
        KeyState::Suspended => "the key is suspended",
        KeyState::Compromised => "the key is compromised; rewrap its data",
        KeyState::Destroyed => "the key was destroyed",
    }
}

impl Keyring {
    /// Takes every entry out of the keyring.
    pub fn into_entries(self) -> Vec<KeyEntry> {
        self.entries.into_values().collect()
    }
}
