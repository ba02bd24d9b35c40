//! What rule packs may read: a fixed catalogue of facts about the operation, the account, the
//! sign-in, recent activity, the model's scores and the edge's security counters.
//!
//! The catalogue holds no personal data: no name, card, ID or mobile number, no address, no
//! IP address or device identifier, only facts derived from them (a device is new, the IP has
//! seen five accounts). A pack that declares anything else is refused at load.

use std::fmt;

/// A fact's type, as CEL sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactType {
    /// A signed 64-bit integer (`int`).
    Int,
    /// A double (`double`).
    Double,
    /// A boolean (`bool`).
    Bool,
    /// A short string from a fixed vocabulary (`string`).
    Text,
}

impl fmt::Display for FactType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            Self::Int => "int",
            Self::Double => "double",
            Self::Bool => "bool",
            Self::Text => "string",
        })
    }
}

/// One field of the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Input {
    /// `namespace.field`, as rules write it.
    pub name: &'static str,
    /// Its type.
    pub kind: FactType,
    /// What it holds, for the risk officer's guide.
    pub doc: &'static str,
}

macro_rules! inputs {
    ($(($name:literal, $kind:ident, $doc:literal)),* $(,)?) => {
        /// The catalogue, in a fixed order ([`Facts`] is indexed by position in it).
        pub const INPUTS: &[Input] = &[$(Input { name: $name, kind: FactType::$kind, doc: $doc }),*];
    };
}

inputs![
    (
        "op.kind",
        Text,
        "the operation: sign-in, premium-payment, claim-payout, refund, cancellation, payout-account-change"
    ),
    (
        "op.amount_fen",
        Int,
        "the amount in fen (0 when the operation moves no money)"
    ),
    ("op.hour", Int, "the hour of day in China time, 0 to 23"),
    (
        "op.weekday",
        Int,
        "the day of the week in China time, 1 (Monday) to 7 (Sunday)"
    ),
    (
        "op.product",
        Text,
        "the product code of the policy concerned (empty for sign-in)"
    ),
    (
        "op.channel",
        Text,
        "how the request came: app, web, partner, staff"
    ),
    ("account.age_days", Int, "days since the account was opened"),
    ("account.idle_days", Int, "days since the previous sign-in"),
    ("account.population", Text, "customer or staff"),
    (
        "login.new_device",
        Bool,
        "the device has not signed in to this account before"
    ),
    (
        "login.new_region",
        Bool,
        "the network region (the IP's /16 or /48) is new for this account"
    ),
    (
        "login.travel_kmh",
        Double,
        "speed needed to travel from the previous sign-in's region, km/h (0 when unknown)"
    ),
    (
        "login.failures_15m",
        Int,
        "failed sign-ins for this login name in the last 15 minutes"
    ),
    (
        "login.ip_failures_15m",
        Int,
        "failed sign-ins from this IP address in the last 15 minutes, any login name"
    ),
    (
        "login.device_accounts_30d",
        Int,
        "distinct accounts signed in from this device in the last 30 days"
    ),
    (
        "login.ip_accounts_1h",
        Int,
        "distinct accounts signed in or tried from this IP address in the last hour"
    ),
    (
        "txn.count_1h",
        Int,
        "fund operations of this kind by the account in the last hour, this one excluded"
    ),
    (
        "txn.count_24h",
        Int,
        "fund operations of this kind by the account in the last 24 hours, this one excluded"
    ),
    ("txn.sum_fen_24h", Int, "their total in fen"),
    (
        "txn.payout_account_age_hours",
        Double,
        "hours since the payout account was bound (-1 when no payout)"
    ),
    (
        "txn.claim_policy_age_days",
        Double,
        "days between the policy's start and the claim (-1 when no claim)"
    ),
    (
        "txn.refund_to_other_account",
        Bool,
        "the refund goes to an account other than the one that paid"
    ),
    (
        "model.total",
        Double,
        "the behaviour model's combined deviation score"
    ),
    (
        "model.amount_z",
        Double,
        "robust z-score of the amount above the customer's recent amounts (the product's while the customer has little history); 0 when usual"
    ),
    (
        "model.hour_rarity",
        Double,
        "hours (0 to 12) from the nearest of the customer's habitual hours"
    ),
    (
        "model.new_device",
        Double,
        "the surprise of a device new to the customer (0 when the device is known)"
    ),
    (
        "model.shared_device",
        Double,
        "other accounts that used this new device only fleetingly"
    ),
    (
        "model.velocity",
        Double,
        "how far the customer's last 15 minutes are from their usual pace (0 usual)"
    ),
    (
        "model.history",
        Int,
        "how many operations the customer's baseline holds"
    ),
    (
        "edge.signature_failures_10m",
        Int,
        "failed request signatures from this IP or application in the last 10 minutes"
    ),
    (
        "edge.replays_10m",
        Int,
        "replayed nonces from this IP or application in the last 10 minutes"
    ),
    (
        "edge.injection_10m",
        Int,
        "injection-shaped inputs from this IP in the last 10 minutes"
    ),
    (
        "edge.not_found_10m",
        Int,
        "requests for unknown routes from this IP in the last 10 minutes (scanning)"
    ),
];

/// The catalogue entry named `name`, with its position.
pub fn input(name: &str) -> Option<(usize, &'static Input)> {
    INPUTS
        .iter()
        .enumerate()
        .find(|(_, input)| input.name == name)
}

/// One fact's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Fact {
    /// An integer.
    Int(i64),
    /// A double.
    Double(f64),
    /// A boolean.
    Bool(bool),
    /// A short string.
    Text(String),
}

impl Fact {
    /// The type of this value.
    pub fn kind(&self) -> FactType {
        match self {
            Self::Int(_) => FactType::Int,
            Self::Double(_) => FactType::Double,
            Self::Bool(_) => FactType::Bool,
            Self::Text(_) => FactType::Text,
        }
    }

    /// The neutral value of a type, used when the engine has nothing to say: 0, 0.0, false,
    /// the empty string.
    pub fn neutral(kind: FactType) -> Self {
        match kind {
            FactType::Int => Self::Int(0),
            FactType::Double => Self::Double(0.0),
            FactType::Bool => Self::Bool(false),
            FactType::Text => Self::Text(String::new()),
        }
    }
}

/// The facts about one operation, every catalogue field present: the engine starts from the
/// neutral values and sets what it knows, so a rule never fails on a missing field.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    values: Vec<Fact>,
}

impl Default for Facts {
    fn default() -> Self {
        Self {
            values: INPUTS
                .iter()
                .map(|input| Fact::neutral(input.kind))
                .collect(),
        }
    }
}

/// Setting a fact that is not in the catalogue, or with the wrong type: a bug in the caller.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FactError {
    /// No such field.
    #[error("'{0}' is not a rule input")]
    Unknown(String),
    /// The value's type differs from the catalogue's.
    #[error("'{name}' is {expected}, not {given}")]
    WrongType {
        /// The field.
        name: &'static str,
        /// Its type.
        expected: FactType,
        /// The value's type.
        given: FactType,
    },
}

impl Facts {
    /// Sets one field.
    pub fn set(&mut self, name: &str, value: Fact) -> Result<&mut Self, FactError> {
        let (index, input) = input(name).ok_or_else(|| FactError::Unknown(name.to_owned()))?;
        if input.kind != value.kind() {
            return Err(FactError::WrongType {
                name: input.name,
                expected: input.kind,
                given: value.kind(),
            });
        }
        self.values[index] = value;
        Ok(self)
    }

    /// The value at catalogue position `index`.
    pub fn at(&self, index: usize) -> &Fact {
        &self.values[index]
    }

    /// The value of one field.
    pub fn get(&self, name: &str) -> Option<&Fact> {
        input(name).map(|(index, _)| &self.values[index])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The catalogue's names are unique, namespaced, and name no personal data.
    #[test]
    fn the_catalogue_is_namespaced_and_holds_no_personal_data() {
        let mut names: Vec<&str> = INPUTS.iter().map(|input| input.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), INPUTS.len());
        for name in names {
            let (namespace, field) = name.split_once('.').expect("namespaced");
            assert!(["op", "account", "login", "txn", "model", "edge"].contains(&namespace));
            assert!(!field.contains('.'));
            for word in [
                "card",
                "mobile",
                "phone",
                "id_number",
                "name",
                "address",
                "ip.",
            ] {
                assert!(!name.contains(word), "{name}");
            }
        }
    }

    /// Facts refuse unknown fields and wrong types; unset fields hold neutral values.
    #[test]
    fn facts_are_typed() {
        let mut facts = Facts::default();
        assert_eq!(facts.get("op.amount_fen"), Some(&Fact::Int(0)));
        facts
            .set("op.amount_fen", Fact::Int(12_345))
            .expect("an int field");
        assert_eq!(facts.get("op.amount_fen"), Some(&Fact::Int(12_345)));
        assert_eq!(
            facts.set("op.amount_fen", Fact::Double(1.0)),
            Err(FactError::WrongType {
                name: "op.amount_fen",
                expected: FactType::Int,
                given: FactType::Double
            })
        );
        assert_eq!(
            facts.set("account.mobile", Fact::Text("x".into())),
            Err(FactError::Unknown("account.mobile".into()))
        );
    }
}
