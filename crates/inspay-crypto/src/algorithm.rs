//! The one algorithm allow-list (clause 5.5.1.2).
//!
//! Wherever an algorithm can be named (configuration, the prefix of stored ciphertext or
//! signatures, TLS settings, imported keys), the name goes through [`Algorithm::parse`] or
//! [`check_name`]. MD5, SHA-1, DES, 3DES, RC4 and RSA below 3072 bits are refused with an
//! error that names the clause, so an operator knows why and what to use instead.

use core::fmt;
use core::str::FromStr;

/// The smallest RSA modulus accepted anywhere (for example an operator-supplied TLS
/// certificate). 2048-bit RSA is the "default parameter" clause 5.5.1.2 rules out.
pub const RSA_MODULUS_BITS_MIN: usize = 3072;

/// Algorithms inspay itself uses for data it protects. SM2, SM3 and SM4 are the defaults and
/// the only choices (clause 5.5.1.2 recommends them; 5.5.1.5 requires national algorithms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// SM3 hash (GB/T 32905).
    Sm3,
    /// HMAC with SM3 (GB/T 15852.2 construction over GB/T 32905).
    HmacSm3,
    /// SM4 block cipher (GB/T 32907) in GCM mode with a 96-bit nonce and 128-bit tag (RFC 8998).
    Sm4Gcm,
    /// SM2 digital signature with SM3 and the Z value (GB/T 32918.2).
    Sm2Sm3,
    /// SM2 public-key encryption, ciphertext order C1C3C2 (GB/T 32918.4).
    Sm2Encrypt,
}

impl Algorithm {
    /// Every algorithm on the allow-list.
    pub const ALL: [Algorithm; 5] = [
        Algorithm::Sm3,
        Algorithm::HmacSm3,
        Algorithm::Sm4Gcm,
        Algorithm::Sm2Sm3,
        Algorithm::Sm2Encrypt,
    ];

    /// The canonical name, as written in configuration and in stored data prefixes.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::Sm3 => "sm3",
            Algorithm::HmacSm3 => "hmac-sm3",
            Algorithm::Sm4Gcm => "sm4-gcm",
            Algorithm::Sm2Sm3 => "sm2-sm3",
            Algorithm::Sm2Encrypt => "sm2-c1c3c2",
        }
    }

    /// Parses an algorithm name. Refused algorithms get [`AlgorithmError::Forbidden`];
    /// anything else that is not on the list gets [`AlgorithmError::Unknown`].
    pub fn parse(name: &str) -> Result<Algorithm, AlgorithmError> {
        check_name(name)?;
        let wanted = normalise(name);
        Algorithm::ALL
            .into_iter()
            .find(|algorithm| normalise(algorithm.name()) == wanted)
            .ok_or_else(|| AlgorithmError::Unknown(truncate(name)))
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Algorithm {
    type Err = AlgorithmError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::parse(s)
    }
}

/// Why an algorithm name was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlgorithmError {
    /// The algorithm is known to be weak and is refused everywhere.
    #[error(
        "algorithm '{name}' is refused: {reason} (clause 5.5.1.2 forbids MD5, SHA-1, DES/3DES, \
         RC4 and RSA below {RSA_MODULUS_BITS_MIN} bits); use SM2, SM3 or SM4"
    )]
    Forbidden {
        /// The name as given (truncated to 64 characters).
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The name is not on the allow-list.
    #[error(
        "algorithm '{0}' is not on the allow-list; allowed: sm3, hmac-sm3, sm4-gcm, sm2-sm3, sm2-c1c3c2"
    )]
    Unknown(String),
}

/// Refuses a name that denotes a forbidden algorithm, wherever it appears (a cipher suite, a
/// signature scheme, a configuration value, a stored prefix). Names that are not forbidden
/// pass; whether they are *supported* is the caller's allow-list.
pub fn check_name(name: &str) -> Result<(), AlgorithmError> {
    let n = normalise(name);
    let forbidden = |reason| {
        Err(AlgorithmError::Forbidden {
            name: truncate(name),
            reason,
        })
    };
    // Tokens are matched anywhere, so "TLS_RSA_WITH_RC4_128_SHA" or "hmac-md5" are caught
    // as well as the bare names.
    if n.contains("md5") || n.contains("md4") {
        return forbidden("MD4/MD5 are broken hash functions");
    }
    if n.contains("rc4") || n.contains("arcfour") {
        return forbidden("RC4 is a broken stream cipher");
    }
    if n.contains("3des") || n.contains("desede") || n.contains("tripledes") || has_des_token(&n) {
        return forbidden("DES and 3DES have too short keys or blocks");
    }
    if n.contains("sha1") || n.ends_with("sha") || n.contains("shawith") || n == "sha" {
        return forbidden("SHA-1 is a broken hash function");
    }
    if let Some(bits) = rsa_bits(&n) {
        return check_rsa_modulus_bits(bits);
    }
    if n.starts_with("rsa") && !n.contains("pss") && n.len() == 3 {
        return forbidden("RSA must name its key size, and be at least 3072 bits");
    }
    Ok(())
}

/// Refuses an RSA key whose modulus is shorter than [`RSA_MODULUS_BITS_MIN`].
pub fn check_rsa_modulus_bits(bits: usize) -> Result<(), AlgorithmError> {
    if bits < RSA_MODULUS_BITS_MIN {
        return Err(AlgorithmError::Forbidden {
            name: format!("rsa-{bits}"),
            reason: "the RSA key is shorter than 3072 bits",
        });
    }
    Ok(())
}

/// The name of a signature algorithm known to be weak, by its X.509 object identifier, so
/// that a certificate signed with it can be refused through [`check_name`].
pub fn weak_signature_oid_name(oid: &str) -> Option<&'static str> {
    match oid {
        "1.2.840.113549.1.1.4" => Some("md5WithRSAEncryption"),
        "1.2.840.113549.1.1.5" => Some("sha1WithRSAEncryption"),
        "1.2.840.10045.4.1" => Some("ecdsa-with-SHA1"),
        "1.2.840.10040.4.3" => Some("dsa-with-sha1"),
        "1.3.14.3.2.29" => Some("sha1WithRSA"),
        _ => None,
    }
}

fn normalise(name: &str) -> String {
    name.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn truncate(name: &str) -> String {
    name.chars().take(64).collect()
}

/// "des" as a word of its own ("des", "des-cbc", "TLS_RSA_WITH_DES_CBC_SHA"), not as letters
/// inside another word.
fn has_des_token(normalised: &str) -> bool {
    normalised == "des"
        || normalised.starts_with("descbc")
        || normalised.starts_with("desecb")
        || normalised.starts_with("descfb")
        || normalised.starts_with("desofb")
        || normalised.contains("withdes")
}

/// The key size in a name like "rsa2048", "rsa-3072" or "rsa_4096_pss".
fn rsa_bits(normalised: &str) -> Option<usize> {
    let rest = normalised.strip_prefix("rsa")?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    if digits.len() < 3 {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every weak algorithm is refused under the spellings people use.
    /// req: 5.5.1.2
    #[test]
    fn weak_algorithms_are_refused_under_every_spelling() {
        for name in [
            "MD5",
            "md5",
            "hmac-md5",
            "SHA1",
            "sha-1",
            "SHA_1",
            "ecdsa-with-SHA1",
            "sha1WithRSAEncryption",
            "DES",
            "des-cbc",
            "3DES",
            "DES-EDE3-CBC",
            "TripleDES",
            "RC4",
            "arcfour",
            "TLS_RSA_WITH_RC4_128_SHA",
            "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
            "RSA-2048",
            "rsa1024",
            "RSA",
        ] {
            let error = check_name(name).expect_err(name);
            assert!(matches!(error, AlgorithmError::Forbidden { .. }), "{name}");
            assert!(error.to_string().contains("5.5.1.2"), "{name}: {error}");
            assert!(Algorithm::parse(name).is_err());
        }
    }

    /// The national algorithms and strong international ones pass the refusal check.
    /// req: 5.5.1.1
    #[test]
    fn allowed_names_pass() {
        for algorithm in Algorithm::ALL {
            assert_eq!(Algorithm::parse(algorithm.name()), Ok(algorithm));
        }
        assert_eq!(Algorithm::parse("SM4_GCM"), Ok(Algorithm::Sm4Gcm));
        for name in [
            "TLS13_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "RSA-3072",
            "rsa_pss_4096",
            "ecdsa_secp256r1_sha256",
            "ed25519",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
        assert!(matches!(
            Algorithm::parse("aes-128-gcm"),
            Err(AlgorithmError::Unknown(_))
        ));
    }

    /// RSA keys are measured by modulus size, 3072 bits being the least accepted.
    /// req: 5.5.1.2
    #[test]
    fn rsa_below_3072_bits_is_refused() {
        assert!(check_rsa_modulus_bits(2048).is_err());
        assert!(check_rsa_modulus_bits(3071).is_err());
        assert!(check_rsa_modulus_bits(3072).is_ok());
    }
}
