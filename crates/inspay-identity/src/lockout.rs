//! The lockout rule (clause 5.2.3.1): after a number of consecutive failed authentications an
//! account is locked for a period. The count lives in the database so every node sees it; this
//! module decides, given the stored state and the time.

/// Most consecutive failures the catalogue allows before a lock.
pub const FAILURES_MAX_CEILING: u32 = 3;
/// Default lock duration.
pub const LOCK_S_DEFAULT: i64 = 30 * 60;
/// Default days without a sign-in before an account counts as dormant.
pub const DORMANT_DAYS_DEFAULT: u32 = 180;

/// The lockout settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Consecutive failures that lock the account.
    pub failures_max: u32,
    /// How long the lock lasts.
    pub lock_s: i64,
    /// Days without a sign-in after which an account needs a further factor to sign in again
    /// (clause 5.3.3.3-c; catalogue: 180).
    pub dormant_days: u32,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        LockoutPolicy {
            failures_max: FAILURES_MAX_CEILING,
            lock_s: LOCK_S_DEFAULT,
            dormant_days: DORMANT_DAYS_DEFAULT,
        }
    }
}

/// A lockout setting that would break the clause.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutPolicyError {
    /// More than 3 failures allowed, or none.
    #[error("lockout after {0} failures: must be 1 to {FAILURES_MAX_CEILING} (clause 5.2.3.1)")]
    Failures(u32),
    /// A lock shorter than a minute or longer than a day.
    #[error("lock duration {0} s: must be 60 to 86400 (clause 5.2.3.1)")]
    Duration(i64),
    /// A dormancy period longer than the catalogue's 180 days, or none.
    #[error("dormant after {0} days: must be 1 to {DORMANT_DAYS_DEFAULT} (clause 5.3.3.3-c)")]
    Dormant(u32),
}

impl LockoutPolicy {
    /// Refuses settings that break the clause.
    pub fn validate(&self) -> Result<(), LockoutPolicyError> {
        if !(1..=FAILURES_MAX_CEILING).contains(&self.failures_max) {
            return Err(LockoutPolicyError::Failures(self.failures_max));
        }
        if !(60..=86_400).contains(&self.lock_s) {
            return Err(LockoutPolicyError::Duration(self.lock_s));
        }
        if !(1..=DORMANT_DAYS_DEFAULT).contains(&self.dormant_days) {
            return Err(LockoutPolicyError::Dormant(self.dormant_days));
        }
        Ok(())
    }
}

/// An account's failure state as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureState {
    /// Consecutive failures since the last success or the end of the last lock.
    pub consecutive: u32,
    /// Locked until this unix time, if locked.
    pub locked_until_s: Option<i64>,
}

impl FailureState {
    /// Whether the account is locked at `now_s`.
    pub fn is_locked(&self, now_s: i64) -> bool {
        self.locked_until_s.is_some_and(|until| now_s < until)
    }

    /// The state after a failed attempt at `now_s`. A failure while locked does not extend
    /// the lock (so an attacker cannot keep a customer locked out for ever by guessing).
    pub fn after_failure(self, policy: &LockoutPolicy, now_s: i64) -> FailureState {
        if self.is_locked(now_s) {
            return self;
        }
        let consecutive = match self.locked_until_s {
            Some(_) => 1,
            None => self.consecutive + 1,
        };
        if consecutive >= policy.failures_max {
            FailureState {
                consecutive,
                locked_until_s: Some(now_s + policy.lock_s),
            }
        } else {
            FailureState {
                consecutive,
                locked_until_s: None,
            }
        }
    }

    /// The state after a successful authentication (only possible while not locked).
    pub fn after_success(self) -> FailureState {
        FailureState::default()
    }
}
