//! Products, policies and their premium schedules (issue 5 item 1; clause 5.3.1.3).
//!
//! A product fixes the cover, the premium per instalment, how often it is paid and for how
//! long. A policy written on it is `applied` until its first premium is paid, then `active`;
//! it `lapses` when a renewal premium stays unpaid past the grace period, `expires` at the end
//! of its term, and may be `cancelled` (退保) with a pro-rata refund computed by
//! [`cancellation_refund`]. Every other move is refused by [`PolicyStatus::on`].

use crate::money::{Amount, Money};
use time::{Date, Duration, Month};

/// The longest term a product may have: 50 years.
pub const TERM_MONTHS_MAX: u32 = 600;
/// The longest grace period after a missed renewal.
pub const GRACE_DAYS_MAX: u32 = 90;

/// How often the premium is paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFrequency {
    /// Once, at the start.
    Single,
    /// Every month.
    Monthly,
    /// Every year.
    Yearly,
}

impl PaymentFrequency {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentFrequency::Single => "single",
            PaymentFrequency::Monthly => "monthly",
            PaymentFrequency::Yearly => "yearly",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "single" => Some(PaymentFrequency::Single),
            "monthly" => Some(PaymentFrequency::Monthly),
            "yearly" => Some(PaymentFrequency::Yearly),
            _ => None,
        }
    }
}

/// Why product terms are refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TermsError {
    /// Term outside 1..=600 months.
    #[error("the term is 1 to {TERM_MONTHS_MAX} months")]
    Term,
    /// A yearly product's term is not whole years.
    #[error("a yearly product's term is a whole number of years")]
    YearlyTerm,
    /// Grace period above the maximum.
    #[error("the grace period is at most {GRACE_DAYS_MAX} days")]
    Grace,
    /// The premiums over the term add up past what the system holds.
    #[error("the premiums over the term are too large")]
    TotalTooLarge,
}

/// A product's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProductTerms {
    cover: Amount,
    premium: Amount,
    frequency: PaymentFrequency,
    term_months: u32,
    grace_days: u32,
}

/// One premium due under a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduledInstalment {
    /// 1 for the first premium.
    pub number: u32,
    /// The day it is due: the first day of the period it pays for.
    pub due_on: Date,
    /// The first day it covers.
    pub period_start: Date,
    /// The day after the last day it covers.
    pub period_end: Date,
    /// How much.
    pub amount: Amount,
}

impl ProductTerms {
    /// Checks the terms: the term fits the frequency, the grace period is bounded and the
    /// total premium is a valid sum.
    pub fn new(
        cover: Amount,
        premium: Amount,
        frequency: PaymentFrequency,
        term_months: u32,
        grace_days: u32,
    ) -> Result<Self, TermsError> {
        if !(1..=TERM_MONTHS_MAX).contains(&term_months) {
            return Err(TermsError::Term);
        }
        if frequency == PaymentFrequency::Yearly && !term_months.is_multiple_of(12) {
            return Err(TermsError::YearlyTerm);
        }
        if grace_days > GRACE_DAYS_MAX {
            return Err(TermsError::Grace);
        }
        let terms = Self {
            cover,
            premium,
            frequency,
            term_months,
            grace_days,
        };
        terms.total_premium().ok_or(TermsError::TotalTooLarge)?;
        Ok(terms)
    }

    /// The most all claims on one policy may pay.
    pub fn cover(&self) -> Amount {
        self.cover
    }

    /// The premium of one instalment.
    pub fn premium(&self) -> Amount {
        self.premium
    }

    /// How often.
    pub fn frequency(&self) -> PaymentFrequency {
        self.frequency
    }

    /// How long a policy runs.
    pub fn term_months(&self) -> u32 {
        self.term_months
    }

    /// Days a renewal may stay unpaid before the policy lapses.
    pub fn grace_days(&self) -> u32 {
        self.grace_days
    }

    /// Months each instalment covers.
    pub fn months_per_instalment(&self) -> u32 {
        match self.frequency {
            PaymentFrequency::Single => self.term_months,
            PaymentFrequency::Monthly => 1,
            PaymentFrequency::Yearly => 12,
        }
    }

    /// How many premiums a policy pays over its term.
    pub fn instalment_count(&self) -> u32 {
        self.term_months / self.months_per_instalment()
    }

    /// All premiums over the term, if it is a valid sum.
    pub fn total_premium(&self) -> Option<Money> {
        (0..self.instalment_count())
            .map(|_| self.premium.money())
            .sum()
    }

    /// The day after the last day of cover for a policy starting on `start`.
    pub fn end_date(&self, start: Date) -> Date {
        add_months(start, self.term_months)
    }

    /// The premiums due, in order, for a policy starting on `start`.
    pub fn schedule(&self, start: Date) -> Vec<ScheduledInstalment> {
        let step = self.months_per_instalment();
        (0..self.instalment_count())
            .map(|index| {
                let period_start = add_months(start, index * step);
                ScheduledInstalment {
                    number: index + 1,
                    due_on: period_start,
                    period_start,
                    period_end: add_months(start, (index + 1) * step),
                    amount: self.premium,
                }
            })
            .collect()
    }
}

/// `date` plus whole months; a day past the end of the target month becomes its last day
/// (31 January + 1 month = 28 or 29 February), the convention insurers use for monthly dates.
/// Months are always counted from the policy's start, so a schedule never drifts.
pub fn add_months(date: Date, months: u32) -> Date {
    let index =
        i64::from(date.year()) * 12 + i64::from(u8::from(date.month()) - 1) + i64::from(months);
    let year = i32::try_from(index.div_euclid(12)).unwrap_or(i32::MAX);
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).unwrap_or(1))
        .unwrap_or(Month::January);
    let day = date.day().min(month.length(year));
    // The day is clamped to the month's length, so the date exists unless the year is out of
    // `time`'s range, which TERM_MONTHS_MAX keeps us far from.
    Date::from_calendar_date(year, month, day).unwrap_or(Date::MAX)
}

/// Where a policy stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyStatus {
    /// Applied for (投保); no cover until the first premium is paid.
    Applied,
    /// In force.
    Active,
    /// A renewal premium stayed unpaid past the grace period.
    Lapsed,
    /// Cancelled by the policyholder (退保) or, before it started, withdrawn.
    Cancelled,
    /// The term ended.
    Expired,
}

/// What happens to a policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyEvent {
    /// The first premium was paid.
    FirstPremiumPaid,
    /// A later premium was paid.
    RenewalPaid,
    /// The grace period of an unpaid renewal passed.
    GracePeriodEnded,
    /// The policyholder cancelled.
    Cancelled,
    /// The term ended.
    TermEnded,
}

/// A move the policy state machine does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a policy that is {from:?} cannot take {event:?}")]
pub struct IllegalPolicyTransition {
    /// The state it was in.
    pub from: PolicyStatus,
    /// The event refused.
    pub event: PolicyEvent,
}

impl PolicyStatus {
    /// The next state, or the refusal.
    pub fn on(self, event: PolicyEvent) -> Result<PolicyStatus, IllegalPolicyTransition> {
        use PolicyEvent as E;
        use PolicyStatus as S;
        match (self, event) {
            (S::Applied, E::FirstPremiumPaid) => Ok(S::Active),
            (S::Applied | S::Active | S::Lapsed, E::Cancelled) => Ok(S::Cancelled),
            (S::Active, E::RenewalPaid) => Ok(S::Active),
            (S::Active, E::GracePeriodEnded) => Ok(S::Lapsed),
            (S::Active, E::TermEnded) => Ok(S::Expired),
            (from, event) => Err(IllegalPolicyTransition { from, event }),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyStatus::Applied => "applied",
            PolicyStatus::Active => "active",
            PolicyStatus::Lapsed => "lapsed",
            PolicyStatus::Cancelled => "cancelled",
            PolicyStatus::Expired => "expired",
        }
    }

    /// Parses the stored name.
    pub fn parse(text: &str) -> Option<Self> {
        [
            PolicyStatus::Applied,
            PolicyStatus::Active,
            PolicyStatus::Lapsed,
            PolicyStatus::Cancelled,
            PolicyStatus::Expired,
        ]
        .into_iter()
        .find(|status| status.as_str() == text)
    }
}

/// Whether a premium due on `due_on` and still unpaid on `today` has run out of grace: the
/// policy lapses on the day after the last day of grace.
pub fn grace_expired(due_on: Date, grace_days: u32, today: Date) -> bool {
    today > due_on + Duration::days(i64::from(grace_days))
}

/// A premium paid, and the period it covers, for the refund rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PaidPeriod {
    /// First day covered.
    pub period_start: Date,
    /// Day after the last day covered.
    pub period_end: Date,
    /// The premium paid for it, less anything already refunded of it.
    pub amount: Money,
}

/// The refund on cancellation (退保), by this rule:
///
/// - cover ends at the start of `cancelled_on`;
/// - each paid premium is earned day by day over the period it pays for; the refund is the
///   unearned part, `amount × days left ÷ days in the period`, rounded down to the fen;
/// - a premium for a period that has not started yet is refunded whole, one whose period has
///   ended is not refunded;
/// - if any claim has been paid out under the policy, nothing is refunded (the cover was used).
pub fn cancellation_refund(paid: &[PaidPeriod], cancelled_on: Date, claims_paid: bool) -> Money {
    if claims_paid {
        return Money::ZERO;
    }
    paid.iter()
        .map(|period| unearned(period, cancelled_on))
        .sum::<Option<Money>>()
        .unwrap_or(Money::ZERO)
}

fn unearned(period: &PaidPeriod, cancelled_on: Date) -> Money {
    if cancelled_on <= period.period_start {
        return period.amount;
    }
    if cancelled_on >= period.period_end {
        return Money::ZERO;
    }
    let days_total = (period.period_end - period.period_start).whole_days();
    let days_left = (period.period_end - cancelled_on).whole_days();
    let (Ok(left), Ok(total)) = (u64::try_from(days_left), u64::try_from(days_total)) else {
        return Money::ZERO;
    };
    period.amount.share(left, total).unwrap_or(Money::ZERO)
}

#[cfg(test)]
mod tests;
