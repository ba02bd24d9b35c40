//! What the engine answers (issue 6 item 1, clause 5.3.3): allow, allow after a step-up with a
//! named factor, hold for a risk officer's review, or deny; with every reason that led there.
//!
//! Reasons are for staff: rule ids, model scores and the values compared. The customer sees only
//! [`Verdict::customer_message`], which says what to do and nothing about how the decision was
//! reached (clause 5.2.3.3: a precise reason would teach an attacker the rules).

use serde::{Deserialize, Serialize};
use std::fmt;

/// The second factor a step-up asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StepUpFactor {
    /// A code sent by SMS to the bound mobile.
    SmsCode,
    /// The gesture pattern.
    Gesture,
    /// The device-bound SM2 key, unlocked by the device's biometric check.
    DeviceKey,
}

impl StepUpFactor {
    /// The factor's stable name, as in rule packs and the API.
    pub fn name(self) -> &'static str {
        match self {
            Self::SmsCode => "sms-code",
            Self::Gesture => "gesture",
            Self::DeviceKey => "device-key",
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "sms-code" => Some(Self::SmsCode),
            "gesture" => Some(Self::Gesture),
            "device-key" => Some(Self::DeviceKey),
            _ => None,
        }
    }
}

/// The engine's answer, from the mildest to the strictest. When several rules fire, the
/// strictest wins ([`Verdict::strictest`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "verdict", content = "factor", rename_all = "kebab-case")]
pub enum Verdict {
    /// The operation goes ahead.
    Allow,
    /// The operation goes ahead once the person proves this factor again.
    StepUp(StepUpFactor),
    /// The operation waits for a risk officer, who releases or rejects it.
    Review,
    /// The operation is refused.
    Deny,
}

impl Verdict {
    fn rank(self) -> u8 {
        match self {
            Self::Allow => 0,
            Self::StepUp(StepUpFactor::SmsCode) => 1,
            Self::StepUp(StepUpFactor::Gesture) => 2,
            Self::StepUp(StepUpFactor::DeviceKey) => 3,
            Self::Review => 4,
            Self::Deny => 5,
        }
    }

    /// The stricter of two verdicts. Step-ups rank by factor: a device key over a gesture over
    /// an SMS code (the device key is something held and inherent).
    pub fn strictest(self, other: Self) -> Self {
        if other.rank() > self.rank() {
            other
        } else {
            self
        }
    }

    /// The verdict's stable name: `allow`, `step-up:sms-code`, `review`, `deny`.
    pub fn name(self) -> String {
        match self {
            Self::Allow => "allow".to_owned(),
            Self::StepUp(factor) => format!("step-up:{}", factor.name()),
            Self::Review => "review".to_owned(),
            Self::Deny => "deny".to_owned(),
        }
    }

    /// Parses a stable name.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "allow" => Some(Self::Allow),
            "review" => Some(Self::Review),
            "deny" => Some(Self::Deny),
            other => other
                .strip_prefix("step-up:")
                .and_then(StepUpFactor::parse)
                .map(Self::StepUp),
        }
    }

    /// What the customer is told: what to do next, never which rule fired or why.
    pub fn customer_message(self) -> &'static str {
        match self {
            Self::Allow => "accepted",
            Self::StepUp(_) => {
                "please confirm this operation with your second factor and send it again"
            }
            Self::Review => {
                "this operation is being checked; you will be told the outcome, or contact the insurer"
            }
            Self::Deny => {
                "this operation cannot be completed now; contact the insurer if it persists"
            }
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.name())
    }
}

/// Where a reason came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "source", rename_all = "kebab-case")]
pub enum ReasonSource {
    /// A built-in rule of the engine (limits, login signals).
    Builtin,
    /// A rule of a loaded pack.
    Pack {
        /// The pack's id.
        pack: String,
        /// The pack's version.
        version: u32,
    },
    /// The behaviour model.
    Model,
}

/// One reason behind a decision, for staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reason {
    /// The rule's id (`login.new-device`, `txn.amount-tier-2`, `model.amount-deviation`...).
    pub rule: String,
    /// Where the rule lives.
    #[serde(flatten)]
    pub source: ReasonSource,
    /// What the rule asked for.
    pub verdict: Verdict,
    /// The model's score, when the reason is a score over a threshold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Fixed text from the rule or the code; never personal data.
    pub note: String,
}

/// A decision: the strictest verdict of the reasons, and the reasons.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// What happens.
    pub verdict: Verdict,
    /// Why, for staff. Empty when nothing fired.
    pub reasons: Vec<Reason>,
}

impl Decision {
    /// A decision with no reasons: allow.
    pub fn allow() -> Self {
        Self {
            verdict: Verdict::Allow,
            reasons: Vec::new(),
        }
    }

    /// Adds a reason; the verdict becomes the stricter of the two.
    pub fn add(&mut self, reason: Reason) {
        self.verdict = self.verdict.strictest(reason.verdict);
        self.reasons.push(reason);
    }

    /// The rule ids that fired, in order, for logs and alerts.
    pub fn rule_ids(&self) -> Vec<&str> {
        self.reasons
            .iter()
            .map(|reason| reason.rule.as_str())
            .collect()
    }
}

impl Default for Decision {
    fn default() -> Self {
        Self::allow()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The strictest reason decides; step-ups rank by factor.
    #[test]
    fn the_strictest_reason_decides() {
        let mut decision = Decision::allow();
        let reason = |verdict| Reason {
            rule: "r".into(),
            source: ReasonSource::Builtin,
            verdict,
            score: None,
            note: String::new(),
        };
        decision.add(reason(Verdict::StepUp(StepUpFactor::Gesture)));
        assert_eq!(decision.verdict, Verdict::StepUp(StepUpFactor::Gesture));
        decision.add(reason(Verdict::StepUp(StepUpFactor::SmsCode)));
        assert_eq!(decision.verdict, Verdict::StepUp(StepUpFactor::Gesture));
        decision.add(reason(Verdict::Review));
        decision.add(reason(Verdict::Allow));
        assert_eq!(decision.verdict, Verdict::Review);
        decision.add(reason(Verdict::Deny));
        assert_eq!(decision.verdict, Verdict::Deny);
        assert_eq!(decision.reasons.len(), 5);
    }

    /// Verdict names round-trip; unknown ones are refused.
    #[test]
    fn verdict_names_round_trip() {
        for verdict in [
            Verdict::Allow,
            Verdict::StepUp(StepUpFactor::SmsCode),
            Verdict::StepUp(StepUpFactor::Gesture),
            Verdict::StepUp(StepUpFactor::DeviceKey),
            Verdict::Review,
            Verdict::Deny,
        ] {
            assert_eq!(Verdict::parse(&verdict.name()), Some(verdict));
        }
        assert_eq!(Verdict::parse("step-up:password"), None);
        assert_eq!(Verdict::parse("Allow"), None);
    }

    /// req: 5.2.3.3
    /// What the customer is told names no rule, score or limit.
    #[test]
    fn the_customer_message_is_vague() {
        for verdict in [
            Verdict::StepUp(StepUpFactor::SmsCode),
            Verdict::Review,
            Verdict::Deny,
        ] {
            let message = verdict.customer_message();
            for word in ["rule", "score", "limit", "device", "amount", "model"] {
                assert!(!message.contains(word), "{message}");
            }
        }
    }
}
