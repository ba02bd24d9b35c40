//! Injected faults: how the simulator misbehaves on the next money-moving or verify
//! requests.

use std::sync::Mutex;
use std::time::Duration;

/// Most requests one fault plan may apply to.
pub const FAULT_COUNT_MAX: u32 = 10_000;
/// Longest `late` delay, milliseconds.
pub const FAULT_DELAY_MS_MAX: u64 = 60_000;

/// What the simulator does to a money-moving request (`POST /v1/pay`, `/v1/payout`,
/// `/v1/refund`) or an account check (`POST /v1/accounts/verify`) that passed its signature
/// checks. A check moves no money and is not recorded, so for it each mode does only what
/// the client sees: `fail` answers not verified with `CHANNEL_FAULT`, `timeout` and `drop`
/// hold the connection, `late` answers late, `twice` answers once and notifies nobody, and
/// `bad_signature` answers with a signature that does not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// Behave: clears any fault.
    None,
    /// Answer `Failed{reason_code: "CHANNEL_FAULT"}` without moving money (a repeat of an
    /// order already recorded gets its recorded answer).
    Fail,
    /// Move the money, then never answer: hold the connection until the client gives up.
    Timeout,
    /// Neither move the money nor answer: a query later finds nothing.
    Drop,
    /// Move the money, then answer after `delay_ms`.
    Late,
    /// Process the request twice, as if the network had duplicated it (the second gets the
    /// stored answer), and POST the signed answer to the notify URL two times.
    Twice,
    /// Move the money and answer with a signature that does not verify.
    BadSignature,
}

/// A fault to apply to the next `count` money-moving or verify requests; the body of
/// `POST /control/faults`, e.g. `{"mode": "late", "count": 1, "delay_ms": 500}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultPlan {
    /// What to do.
    pub mode: FaultMode,
    /// To how many requests (default 1, at most [`FAULT_COUNT_MAX`]).
    #[serde(default = "one")]
    pub count: u32,
    /// The delay of `late`, milliseconds (at most [`FAULT_DELAY_MS_MAX`]).
    #[serde(default)]
    pub delay_ms: u64,
}

fn one() -> u32 {
    1
}

impl FaultPlan {
    /// `mode` for the next `count` requests.
    pub fn new(mode: FaultMode, count: u32) -> FaultPlan {
        FaultPlan {
            mode,
            count,
            delay_ms: 0,
        }
    }

    /// `late` by `delay_ms` for the next `count` requests.
    pub fn late(delay_ms: u64, count: u32) -> FaultPlan {
        FaultPlan {
            mode: FaultMode::Late,
            count,
            delay_ms,
        }
    }
}

/// Why a fault plan was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FaultError {
    /// `count` is above [`FAULT_COUNT_MAX`].
    #[error("count is at most {FAULT_COUNT_MAX}")]
    Count,
    /// `late` needs a `delay_ms` from 1 to [`FAULT_DELAY_MS_MAX`]; other modes take none.
    #[error("late needs delay_ms from 1 to {FAULT_DELAY_MS_MAX}; other modes take none")]
    Delay,
}

/// One fault as applied to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    Fail,
    Timeout,
    Drop,
    Late(Duration),
    Twice,
    BadSignature,
}

/// The pending fault and how many requests it still applies to.
#[derive(Debug, Default)]
pub(crate) struct Faults(Mutex<Option<(Fault, u32)>>);

impl Faults {
    /// Replaces the pending fault.
    pub(crate) fn set(&self, plan: &FaultPlan) -> Result<(), FaultError> {
        if plan.count > FAULT_COUNT_MAX {
            return Err(FaultError::Count);
        }
        let delay_ok = match plan.mode {
            FaultMode::Late => (1..=FAULT_DELAY_MS_MAX).contains(&plan.delay_ms),
            _ => plan.delay_ms == 0,
        };
        if !delay_ok {
            return Err(FaultError::Delay);
        }
        let fault = match plan.mode {
            FaultMode::None => None,
            FaultMode::Fail => Some(Fault::Fail),
            FaultMode::Timeout => Some(Fault::Timeout),
            FaultMode::Drop => Some(Fault::Drop),
            FaultMode::Late => Some(Fault::Late(Duration::from_millis(plan.delay_ms))),
            FaultMode::Twice => Some(Fault::Twice),
            FaultMode::BadSignature => Some(Fault::BadSignature),
        };
        let pending = fault
            .filter(|_| plan.count > 0)
            .map(|fault| (fault, plan.count));
        *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = pending;
        Ok(())
    }

    /// The fault for the next request, if any, counting it down.
    pub(crate) fn take(&self) -> Option<Fault> {
        let mut pending = self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let (fault, remaining) = (*pending)?;
        *pending = (remaining > 1).then_some((fault, remaining - 1));
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_applies_to_exactly_count_requests() {
        let faults = Faults::default();
        faults
            .set(&FaultPlan::new(FaultMode::Drop, 2))
            .expect("plan");
        assert_eq!(faults.take(), Some(Fault::Drop));
        assert_eq!(faults.take(), Some(Fault::Drop));
        assert_eq!(faults.take(), None);
        faults
            .set(&FaultPlan::new(FaultMode::Fail, 3))
            .expect("plan");
        faults
            .set(&FaultPlan::new(FaultMode::None, 1))
            .expect("plan");
        assert_eq!(faults.take(), None);
    }

    #[test]
    fn bad_plans_are_refused() {
        let faults = Faults::default();
        assert_eq!(faults.set(&FaultPlan::late(0, 1)), Err(FaultError::Delay));
        assert_eq!(
            faults.set(&FaultPlan::late(FAULT_DELAY_MS_MAX + 1, 1)),
            Err(FaultError::Delay)
        );
        assert_eq!(
            faults.set(&FaultPlan::new(FaultMode::Fail, FAULT_COUNT_MAX + 1)),
            Err(FaultError::Count)
        );
        let parsed: Result<FaultPlan, _> = serde_json::from_str(r#"{"mode":"explode"}"#);
        assert!(parsed.is_err());
        let parsed: FaultPlan = serde_json::from_str(r#"{"mode":"bad_signature"}"#).expect("plan");
        assert_eq!(parsed, FaultPlan::new(FaultMode::BadSignature, 1));
    }
}
