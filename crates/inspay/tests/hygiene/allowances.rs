//! What may be exempt, and why: files a scanner skips and keys published in standards,
//! each with its reason written down.

/// Which scanner an allowance lifts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Private keys and secret-looking literals.
    Secret,
    /// Names of weak algorithms and their crates.
    WeakAlgorithm,
}

/// A file that may hold what one scanner looks for, with the reason written down.
pub struct Allowance {
    pub path: &'static str,
    pub check: Check,
    pub reason: &'static str,
}

/// Every exemption. Each path must exist (checked below), so a stale entry is noticed.
pub const ALLOWANCES: &[Allowance] = &[
    Allowance {
        path: "crates/inspay-crypto/tests/vectors/sm2_sign.txt",
        check: Check::Secret,
        reason: "the example private key 3945208f... of GB/T 32918.5-2017 appendix A is a \
                 published test vector, not a secret",
    },
    Allowance {
        path: "crates/inspay-crypto/src/algorithm.rs",
        check: Check::WeakAlgorithm,
        reason: "the algorithm refusal list has to name the algorithms it refuses",
    },
    Allowance {
        path: "deny.toml",
        check: Check::WeakAlgorithm,
        reason: "the cargo-deny ban list has to name the crates it bans",
    },
    Allowance {
        path: "Cargo.lock",
        check: Check::WeakAlgorithm,
        reason: "transitive dependencies are checked by cargo-deny's ban list, which names \
                 the few audited wrappers (for example sqlx-postgres's MD5 password support)",
    },
];

/// A key published in a standard as its worked example: public, so it may appear in code (in
/// known-answer tests) wherever it is needed.
pub struct PublishedKey {
    pub hex: &'static str,
    pub reason: &'static str,
}

/// Every published key the secret scanner lets through, with where it is published.
pub const PUBLISHED_KEYS: &[PublishedKey] = &[
    PublishedKey {
        hex: "0123456789abcdeffedcba9876543210",
        reason: "the SM4 example key of GB/T 32907-2016 appendix A (also RFC 8998's SM4-GCM \
                 example key)",
    },
    PublishedKey {
        hex: "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8",
        reason: "the SM2 example private key of GB/T 32918.5-2017 appendix A",
    },
    PublishedKey {
        hex: "0409f9df311e5421a150dd7d161e4bc5c672179fad1833fc076bb08ff356f35020ccea490ce26775a52dc6ea718cc1aa600aed05fbf35e084a6632f6072da9ad13",
        reason: "the public half of that example key (SEC1, uncompressed), printed in the \
                 integrator guide's worked signing example",
    },
];

pub fn published_key(value: &str) -> bool {
    let value = value.trim().to_ascii_lowercase();
    PUBLISHED_KEYS.iter().any(|key| key.hex == value)
}

pub fn allowed(path: &str, check: Check) -> bool {
    ALLOWANCES
        .iter()
        .any(|allowance| allowance.check == check && allowance.path == path)
}
