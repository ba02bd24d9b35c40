//! The pack's detached signature: SM2 with SM3 over a domain tag and the manifest's exact bytes,
//! by a rule-signing key the security officer registered.
//!
//! The signature file (`<pack>.toml.sig`) is TOML:
//!
//! ```toml
//! signer = "risk-officer-li"
//! key = "<SM3 fingerprint of the signer's public key, hex>"
//! algorithm = "SM2-with-SM3"
//! signature = "<DER signature, hex>"
//! ```
//!
//! The signed message is `inspay-rule-pack-v1\n` followed by the manifest's bytes: a signature
//! made for anything else (a claim decision, an API request) never verifies as a pack's.

use super::PackError;
use inspay_crypto::sm2::{Sm2PrivateKey, Sm2PublicKey, Sm2Signature};
use serde::{Deserialize, Serialize};

/// The domain tag in front of the manifest's bytes.
pub const DOMAIN: &[u8] = b"inspay-rule-pack-v1\n";
/// The only algorithm.
pub const ALGORITHM: &str = "SM2-with-SM3";

/// A registered rule-signing key.
#[derive(Debug, Clone)]
pub struct TrustedSigner {
    /// Who holds it.
    pub name: String,
    /// The public key.
    pub key: Sm2PublicKey,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignatureFile {
    signer: String,
    key: String,
    algorithm: String,
    signature: String,
}

/// A pack as received: the manifest's bytes and its signature file, not yet trusted.
#[derive(Debug, Clone)]
pub struct SignedPack {
    /// The manifest, byte for byte as signed.
    pub manifest: Vec<u8>,
    /// The signature file's text.
    pub signature: String,
}

/// A pack whose signature verified against a registered signer. Only [`SignedPack::verify`]
/// makes one.
#[derive(Debug, Clone)]
pub struct VerifiedPack {
    manifest: Vec<u8>,
    signer: String,
    key_fingerprint: String,
}

impl VerifiedPack {
    /// The manifest's bytes.
    pub fn manifest(&self) -> &[u8] {
        &self.manifest
    }

    /// The signer's registered name.
    pub fn signer(&self) -> &str {
        &self.signer
    }

    /// The signing key's fingerprint.
    pub fn key_fingerprint(&self) -> &str {
        &self.key_fingerprint
    }
}

fn message(manifest: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + manifest.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(manifest);
    message
}

impl SignedPack {
    /// Signs `manifest` as `signer` with `key`: what `inspay risk pack sign` does on the risk
    /// officer's machine. Returns the signature file's text.
    pub fn sign(
        manifest: &[u8],
        signer: &str,
        key: &Sm2PrivateKey,
    ) -> Result<String, inspay_crypto::CryptoError> {
        let signature = key.sign(&message(manifest))?;
        let file = SignatureFile {
            signer: signer.to_owned(),
            key: key.public_key().fingerprint(),
            algorithm: ALGORITHM.to_owned(),
            signature: hex::encode(signature.to_der()),
        };
        Ok(toml::to_string(&file).unwrap_or_default())
    }

    /// Verifies the signature against the registered signers: the file must name a registered
    /// signer by name and key fingerprint, and the signature must verify over this manifest.
    pub fn verify(&self, signers: &[TrustedSigner]) -> Result<VerifiedPack, PackError> {
        if self.signature.trim().is_empty() {
            return Err(PackError::Unsigned("no signature file".to_owned()));
        }
        let file: SignatureFile = toml::from_str(&self.signature).map_err(|error| {
            PackError::Unsigned(format!(
                "the signature file is not valid: {}",
                error.message()
            ))
        })?;
        if file.algorithm != ALGORITHM {
            return Err(PackError::Unsigned(format!(
                "algorithm '{}' is not {ALGORITHM}",
                file.algorithm
            )));
        }
        let signer = signers
            .iter()
            .find(|signer| signer.name == file.signer && signer.key.fingerprint() == file.key)
            .ok_or_else(|| {
                PackError::Unsigned(format!(
                    "signer '{}' with key {} is not a registered, active rule-signing key",
                    file.signer, file.key
                ))
            })?;
        let der = hex::decode(file.signature.trim())
            .map_err(|_| PackError::Unsigned("the signature is not hex".to_owned()))?;
        let signature = Sm2Signature::from_der(&der).map_err(|_| {
            PackError::Unsigned("the signature is not a DER SM2 signature".to_owned())
        })?;
        signer
            .key
            .verify(&message(&self.manifest), &signature)
            .map_err(|_| PackError::Tampered)?;
        Ok(VerifiedPack {
            manifest: self.manifest.clone(),
            signer: signer.name.clone(),
            key_fingerprint: file.key,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(name: &str) -> (Sm2PrivateKey, TrustedSigner) {
        let key = Sm2PrivateKey::generate().expect("a key");
        let trusted = TrustedSigner {
            name: name.to_owned(),
            key: key.public_key().clone(),
        };
        (key, trusted)
    }

    /// req: 6.3.7
    /// A signed pack verifies; one changed byte, another key, an unregistered signer or no
    /// signature at all is refused.
    #[test]
    fn only_an_untouched_pack_from_a_registered_signer_verifies() {
        let (key, trusted) = signer("risk-officer-li");
        let (other_key, other) = signer("someone-else");
        let manifest = b"[pack]\nid = \"p\"\n".to_vec();
        let signature = SignedPack::sign(&manifest, "risk-officer-li", &key).expect("signs");
        let pack = SignedPack {
            manifest: manifest.clone(),
            signature: signature.clone(),
        };
        let verified = pack
            .verify(std::slice::from_ref(&trusted))
            .expect("verifies");
        assert_eq!(verified.manifest(), manifest.as_slice());
        assert_eq!(verified.signer(), "risk-officer-li");

        let mut changed = manifest.clone();
        changed[3] ^= 1;
        let tampered = SignedPack {
            manifest: changed,
            signature: signature.clone(),
        };
        assert_eq!(
            tampered.verify(std::slice::from_ref(&trusted)).err(),
            Some(PackError::Tampered)
        );
        assert!(matches!(
            pack.verify(std::slice::from_ref(&other)),
            Err(PackError::Unsigned(_))
        ));
        let by_other = SignedPack {
            manifest: manifest.clone(),
            signature: SignedPack::sign(&manifest, "risk-officer-li", &other_key).expect("signs"),
        };
        assert!(matches!(
            by_other.verify(std::slice::from_ref(&trusted)),
            Err(PackError::Unsigned(_))
        ));
        let unsigned = SignedPack {
            manifest,
            signature: String::new(),
        };
        assert!(matches!(
            unsigned.verify(&[trusted]),
            Err(PackError::Unsigned(_))
        ));
    }

    /// A signature over the bare manifest (without the domain tag) does not verify as a
    /// pack's: signatures made for other purposes cannot be replayed here.
    #[test]
    fn signatures_are_domain_separated() {
        let (key, trusted) = signer("s");
        let manifest = b"[pack]\n".to_vec();
        let bare = key.sign(&manifest).expect("signs");
        let file = format!(
            "signer = \"s\"\nkey = \"{}\"\nalgorithm = \"SM2-with-SM3\"\nsignature = \"{}\"\n",
            key.public_key().fingerprint(),
            hex::encode(bare.to_der())
        );
        let pack = SignedPack {
            manifest,
            signature: file,
        };
        assert_eq!(pack.verify(&[trusted]).err(), Some(PackError::Tampered));
    }
}
