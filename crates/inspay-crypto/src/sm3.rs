//! SM3 (GB/T 32905) and HMAC-SM3.

use hmac::{Hmac, KeyInit, Mac};
use sm3::{Digest, Sm3};
use subtle::ConstantTimeEq;

/// Length of an SM3 digest in bytes.
pub const DIGEST_LEN: usize = 32;

/// An SM3 digest.
pub type Sm3Digest = [u8; DIGEST_LEN];

/// SM3 of `data`.
pub fn sm3(data: &[u8]) -> Sm3Digest {
    Sm3::digest(data).into()
}

/// SM3 over several parts, as if they were concatenated.
pub fn sm3_parts(parts: &[&[u8]]) -> Sm3Digest {
    let mut hasher = Sm3::new();
    for part in parts {
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// An incremental SM3 computation, for data that arrives in pieces (files, streams).
#[derive(Clone, Default)]
pub struct Sm3Hasher(Sm3);

impl Sm3Hasher {
    /// A fresh hasher.
    pub fn new() -> Self {
        Self(Sm3::new())
    }

    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    /// The digest of everything fed so far.
    pub fn finalize(self) -> Sm3Digest {
        self.0.finalize().into()
    }
}

/// HMAC-SM3 of `data` under `key`. Any key length is accepted by HMAC; inspay's keys are
/// 32 bytes from the CSPRNG.
pub fn hmac_sm3(key: &[u8], data: &[u8]) -> Sm3Digest {
    hmac_sm3_parts(key, &[data])
}

/// HMAC-SM3 over several parts, as if they were concatenated.
pub fn hmac_sm3_parts(key: &[u8], parts: &[&[u8]]) -> Sm3Digest {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut mac = <Hmac<Sm3> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// Checks an HMAC-SM3 tag in constant time.
pub fn hmac_sm3_verify(key: &[u8], data: &[u8], tag: &[u8]) -> bool {
    let expected = hmac_sm3(key, data);
    expected.ct_eq(tag).into()
}

/// Compares two byte strings in constant time (for their common length class).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}
