//! When a request is sent again.
//!
//! Only failures that say nothing about whether the server acted are retried: a connection
//! that could not be made or broke, a time-out, and a `502`, `503` or `504` from the server or
//! a gateway. A `4xx` is an answer about the request itself and is never retried. And only
//! requests that are safe to send twice are retried: `GET`s, and requests that carry an
//! `Idempotency-Key` (the server runs those once and gives every retry the first answer). Each
//! retry is signed anew (fresh nonce and timestamp) and its sensitive fields are encrypted
//! again under a fresh field nonce; the idempotency key stays the same.

use std::time::Duration;

/// How often and how patiently a request is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (1 = never retry).
    pub max_attempts: u32,
    /// The wait before the first retry; it doubles before each next one.
    pub base_delay: Duration,
}

impl Default for RetryPolicy {
    /// Three attempts, waiting 100 ms and then 200 ms.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(100),
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub const fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            base_delay: Duration::ZERO,
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): `base_delay * 2^(attempt-1)`.
    pub fn delay_after(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(16);
        self.base_delay.saturating_mul(1 << doublings)
    }
}

/// What a failed attempt looked like, as far as retrying is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Connection refused, reset or closed.
    Connection,
    /// Timed out.
    Timeout,
    /// An HTTP status, verified or not.
    Status(u16),
    /// Anything else (bad signature on a non-gateway answer, encryption, configuration).
    Other,
}

/// Whether, and after how long, to send again after failed attempt number `attempt` (1-based).
/// `replayable`: the request is a `GET` or carries an idempotency key.
pub(crate) fn plan_retry(
    policy: &RetryPolicy,
    attempt: u32,
    replayable: bool,
    failure: Failure,
) -> Option<Duration> {
    let transient = match failure {
        Failure::Connection | Failure::Timeout => true,
        Failure::Status(status) => matches!(status, 502..=504),
        Failure::Other => false,
    };
    (replayable && transient && attempt < policy.max_attempts).then(|| policy.delay_after(attempt))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_failures_of_replayable_requests_are_retried_with_backoff() {
        let policy = RetryPolicy::default();
        assert_eq!(
            plan_retry(&policy, 1, true, Failure::Connection),
            Some(Duration::from_millis(100))
        );
        assert_eq!(
            plan_retry(&policy, 2, true, Failure::Timeout),
            Some(Duration::from_millis(200))
        );
        assert_eq!(plan_retry(&policy, 3, true, Failure::Connection), None);
        for status in [502, 503, 504] {
            assert!(plan_retry(&policy, 1, true, Failure::Status(status)).is_some());
        }
        for status in [400, 401, 404, 409, 422, 429, 500, 501] {
            assert_eq!(
                plan_retry(&policy, 1, true, Failure::Status(status)),
                None,
                "{status}"
            );
        }
        assert_eq!(plan_retry(&policy, 1, true, Failure::Other), None);
        assert_eq!(plan_retry(&policy, 1, false, Failure::Connection), None);
        assert_eq!(plan_retry(&policy, 1, false, Failure::Status(503)), None);
        assert_eq!(
            plan_retry(&RetryPolicy::none(), 1, true, Failure::Connection),
            None
        );
    }

    #[test]
    fn delays_double_and_saturate() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay_after(1), Duration::from_millis(100));
        assert_eq!(policy.delay_after(2), Duration::from_millis(200));
        assert_eq!(policy.delay_after(3), Duration::from_millis(400));
        assert!(policy.delay_after(u32::MAX) >= policy.delay_after(17));
    }
}
