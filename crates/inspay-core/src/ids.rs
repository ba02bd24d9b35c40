//! Typed identifiers: a policy id cannot be passed where a claim id is expected.
//!
//! Every id is a UUID version 7 (random, and sorting by creation time), written in its
//! hyphenated lower-case form, the same form the rest of the system uses for accounts and
//! evidence rows. Ids that arrive from outside are parsed; new ones come from [`generate`],
//! the single place that reads the clock and the random source for them.
//!
//! [`generate`]: PolicyId::generate

use core::fmt;

/// Why text is not an id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0} is not a valid identifier (a lower-case hyphenated UUID)")]
pub struct IdParseError(pub &'static str);

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(String);

        impl $name {
            /// A new id (UUID v7).
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7().hyphenated().to_string())
            }

            /// Parses an id: a hyphenated lower-case UUID, as this system writes them.
            pub fn parse(text: &str) -> Result<Self, IdParseError> {
                let parsed = uuid::Uuid::try_parse(text).map_err(|_| IdParseError($label))?;
                let canonical = parsed.hyphenated().to_string();
                if canonical != text {
                    return Err(IdParseError($label));
                }
                Ok(Self(canonical))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!($label, ":{}"), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }
    };
}

typed_id!(
    /// An insurance product (a set of terms policies are written on).
    ProductId,
    "product"
);
typed_id!(
    /// A policy, from application to its end.
    PolicyId,
    "policy"
);
typed_id!(
    /// One premium instalment of a policy's schedule.
    InstalmentId,
    "instalment"
);
typed_id!(
    /// A premium payment attempt.
    PaymentId,
    "payment"
);
typed_id!(
    /// A refund of (part of) a payment.
    RefundId,
    "refund"
);
typed_id!(
    /// A claim against a policy.
    ClaimId,
    "claim"
);
typed_id!(
    /// A claim payout to the claimant's bank account.
    PayoutId,
    "payout"
);
typed_id!(
    /// One balanced ledger transfer (a group of postings).
    TransferId,
    "transfer"
);

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids parse only in their canonical form, and a generated id parses back to itself.
    #[test]
    fn ids_parse_only_canonical_uuids() {
        let id = PolicyId::generate();
        assert_eq!(PolicyId::parse(id.as_str()), Ok(id.clone()));
        assert_eq!(format!("{id:?}"), format!("policy:{id}"));
        let upper = id.as_str().to_uppercase();
        assert!(PolicyId::parse(&upper).is_err());
        let simple: String = id.as_str().chars().filter(|c| *c != '-').collect();
        assert!(PolicyId::parse(&simple).is_err());
        assert!(ClaimId::parse("' OR 1=1 --").is_err());
        assert!(ClaimId::parse("").is_err());
        let json = serde_json::to_string(&id).expect("serialise");
        assert_eq!(serde_json::from_str::<PolicyId>(&json).ok(), Some(id));
        assert!(serde_json::from_str::<PolicyId>("\"nope\"").is_err());
    }
}
