//! Self-describing values at rest (clause 5.5.1.3): every ciphertext, MAC, blind index and
//! signature that inspay stores names its algorithm and key version, as
//! `algorithm:vN:base64url`, like Vault's `vault:v3:` prefix. An algorithm can then be retired
//! and the data found and re-protected, and a stored value naming a refused algorithm is
//! rejected when read (clause 5.5.1.2).

use crate::KmsError;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use inspay_crypto::Algorithm;

/// Longest stored value accepted, in characters (a sealed field of 64 KiB, encoded).
pub const SEALED_TEXT_LEN_MAX: usize = 96 * 1024;

/// A stored ciphertext, MAC, index or signature with its algorithm and key version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// The algorithm that produced `bytes`.
    pub algorithm: Algorithm,
    /// The key version that produced `bytes`.
    pub key_version: u32,
    /// The ciphertext, tag or signature.
    pub bytes: Vec<u8>,
}

impl Sealed {
    /// The stored text form.
    pub fn to_text(&self) -> String {
        format!(
            "{}:v{}:{}",
            self.algorithm.name(),
            self.key_version,
            URL_SAFE_NO_PAD.encode(&self.bytes)
        )
    }

    /// Parses the stored text form, refusing unknown or forbidden algorithms.
    pub fn parse(text: &str) -> Result<Sealed, KmsError> {
        if text.len() > SEALED_TEXT_LEN_MAX {
            return Err(KmsError::Format("stored value too long".into()));
        }
        let mut parts = text.splitn(3, ':');
        let (Some(algorithm), Some(version), Some(body)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(KmsError::Format(
                "expected algorithm:vN:data (the value predates algorithm tagging or was altered)"
                    .into(),
            ));
        };
        let algorithm =
            Algorithm::parse(algorithm).map_err(|error| KmsError::Format(error.to_string()))?;
        let key_version = version
            .strip_prefix('v')
            .and_then(|digits| digits.parse::<u32>().ok())
            .filter(|version| *version > 0)
            .ok_or_else(|| KmsError::Format("malformed key version".into()))?;
        let bytes = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KmsError::Format("malformed base64url data".into()))?;
        Ok(Sealed {
            algorithm,
            key_version,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored values name their algorithm and version and round-trip.
    /// req: 5.5.1.3
    #[test]
    fn sealed_values_name_algorithm_and_version() {
        let sealed = Sealed {
            algorithm: Algorithm::Sm4Gcm,
            key_version: 3,
            bytes: vec![1, 2, 3, 250],
        };
        let text = sealed.to_text();
        assert!(text.starts_with("sm4-gcm:v3:"), "{text}");
        assert_eq!(Sealed::parse(&text).expect("parse"), sealed);
    }

    /// A stored value that names a forbidden algorithm is refused on read, naming the clause.
    /// req: 5.5.1.2
    #[test]
    fn stored_values_with_forbidden_algorithms_are_refused() {
        for text in [
            "des-cbc:v1:AAAA",
            "md5:v1:AAAA",
            "rc4:v2:AAAA",
            "sha1:v1:AAAA",
        ] {
            let error = Sealed::parse(text).expect_err(text).to_string();
            assert!(error.contains("5.5.1.2"), "{error}");
        }
        assert!(Sealed::parse("sm4-gcm:v0:AAAA").is_err());
        assert!(Sealed::parse("sm4-gcm:AAAA").is_err());
        assert!(Sealed::parse("aes-256-gcm:v1:AAAA").is_err());
    }
}
