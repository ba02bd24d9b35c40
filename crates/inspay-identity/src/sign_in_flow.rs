//! The sign-in state machine (clauses 5.2.1.2 and 5.3.1.2). Sign-in takes two independent
//! factors, in order, within a time limit; a step cannot be skipped, repeated or taken out of
//! order, and a failed step ends the flow. The flow's state lives on the server (in the
//! database between requests); this module decides every transition.
//!
//! ```text
//!   awaiting-first ──first factor ok──▶ awaiting-second ──second, different factor ok──▶ complete
//!         │                                   │
//!         └──── any failure, expiry, or a step out of order ────▶ ended
//! ```

/// How long a sign-in flow may take from its first step to its last.
pub const FLOW_TTL_S_DEFAULT: i64 = 300;

/// An authentication factor (clause 5.2.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Factor {
    /// Something known: the login password.
    Password,
    /// Something held: a code sent by SMS to the bound mobile.
    SmsCode,
    /// Something known: the gesture pattern.
    Gesture,
    /// Something held and inherent: a device-bound SM2 key unlocked by the device's biometric check.
    DeviceKey,
    /// Something held: a registered staff certificate or SM2 key.
    Certificate,
}

impl Factor {
    /// Every factor.
    pub const ALL: [Factor; 5] = [
        Factor::Password,
        Factor::SmsCode,
        Factor::Gesture,
        Factor::DeviceKey,
        Factor::Certificate,
    ];

    /// Stable name.
    pub const fn name(self) -> &'static str {
        match self {
            Factor::Password => "password",
            Factor::SmsCode => "sms-code",
            Factor::Gesture => "gesture",
            Factor::DeviceKey => "device-key",
            Factor::Certificate => "certificate",
        }
    }

    /// Parses a stored name.
    pub fn parse(name: &str) -> Option<Factor> {
        Factor::ALL.into_iter().find(|factor| factor.name() == name)
    }

    /// Whether the factor may open a sign-in. A one-time code alone identifies no one (it
    /// goes to whoever holds the number), so the first step is a secret or a key.
    pub const fn may_be_first(self) -> bool {
        !matches!(self, Factor::SmsCode)
    }

    /// Whether two factors are independent: a different kind of evidence, so that the loss of
    /// one does not give the other (clause 5.2.1.1-b). Password and gesture are both things
    /// known, so they do not make a pair.
    pub const fn independent_of(self, other: Factor) -> bool {
        let both_known = matches!(self, Factor::Password | Factor::Gesture)
            && matches!(other, Factor::Password | Factor::Gesture);
        !both_known && self as u8 != other as u8
    }
}

/// Where a flow stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Nothing verified yet.
    AwaitingFirst,
    /// One factor verified.
    AwaitingSecond {
        /// The factor verified first.
        first: Factor,
    },
    /// Two independent factors verified: the account may get a session.
    Complete {
        /// The first factor.
        first: Factor,
        /// The second factor.
        second: Factor,
    },
    /// Ended by a failure, an expiry or a step out of order; a new flow must start.
    Ended,
}

/// A flow as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flow {
    /// Where it stands.
    pub stage: Stage,
    /// When it started (unix seconds).
    pub started_s: i64,
}

/// What happened at a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// The factor was presented and verified.
    Verified(Factor),
    /// The factor was presented and did not verify.
    Failed(Factor),
}

/// Why a step was not accepted (the flow is ended in every case).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    /// The flow is older than its time limit.
    #[error("the sign-in took too long; start again")]
    Expired,
    /// The step does not fit where the flow stands (skipped, repeated or out of order).
    #[error("that step is not expected now; start again")]
    OutOfOrder,
    /// The factor may not come first, or is not independent of the first one.
    #[error("that factor cannot be used at this step")]
    FactorNotAllowed,
    /// The factor did not verify.
    #[error("the sign-in failed")]
    Failed,
}

impl Flow {
    /// A new flow.
    pub const fn start(now_s: i64) -> Flow {
        Flow {
            stage: Stage::AwaitingFirst,
            started_s: now_s,
        }
    }

    /// Applies a step. On any error the returned flow is ended; the caller stores it either way.
    pub fn step(self, step: Step, ttl_s: i64, now_s: i64) -> (Flow, Result<Stage, FlowError>) {
        let ended = Flow {
            stage: Stage::Ended,
            ..self
        };
        if now_s - self.started_s >= ttl_s {
            return (ended, Err(FlowError::Expired));
        }
        let next = match (self.stage, step) {
            (Stage::AwaitingFirst | Stage::AwaitingSecond { .. }, Step::Failed(_)) => {
                Err(FlowError::Failed)
            }
            (Stage::AwaitingFirst, Step::Verified(factor)) if factor.may_be_first() => {
                Ok(Stage::AwaitingSecond { first: factor })
            }
            (Stage::AwaitingSecond { first }, Step::Verified(second))
                if second.independent_of(first) =>
            {
                Ok(Stage::Complete { first, second })
            }
            (Stage::AwaitingFirst | Stage::AwaitingSecond { .. }, Step::Verified(_)) => {
                Err(FlowError::FactorNotAllowed)
            }
            (Stage::Complete { .. } | Stage::Ended, _) => Err(FlowError::OutOfOrder),
        };
        match next {
            Ok(stage) => (Flow { stage, ..self }, Ok(stage)),
            Err(error) => (ended, Err(error)),
        }
    }
}
