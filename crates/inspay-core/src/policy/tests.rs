use super::*;
use time::macros::date;

fn fen(value: i64) -> Amount {
    Amount::from_fen(value).expect("positive")
}

fn monthly() -> ProductTerms {
    ProductTerms::new(
        fen(10_000_000),
        fen(12_000),
        PaymentFrequency::Monthly,
        12,
        30,
    )
    .expect("terms")
}

/// Terms are checked: the term fits the frequency and the grace period is bounded.
#[test]
fn product_terms_are_checked() {
    let terms =
        |frequency, months, grace| ProductTerms::new(fen(100), fen(10), frequency, months, grace);
    assert_eq!(
        terms(PaymentFrequency::Monthly, 0, 0),
        Err(TermsError::Term)
    );
    assert_eq!(
        terms(PaymentFrequency::Monthly, 601, 0),
        Err(TermsError::Term)
    );
    assert_eq!(
        terms(PaymentFrequency::Yearly, 18, 0),
        Err(TermsError::YearlyTerm)
    );
    assert_eq!(
        terms(PaymentFrequency::Yearly, 24, 91),
        Err(TermsError::Grace)
    );
    let huge = ProductTerms::new(
        fen(100),
        Amount::from_fen(crate::money::MONEY_FEN_MAX).expect("max"),
        PaymentFrequency::Monthly,
        2,
        0,
    );
    assert_eq!(huge, Err(TermsError::TotalTooLarge));
    let yearly = terms(PaymentFrequency::Yearly, 36, 60).expect("terms");
    assert_eq!(yearly.instalment_count(), 3);
    assert_eq!(yearly.total_premium().map(Money::fen), Some(30));
    let single = terms(PaymentFrequency::Single, 12, 0).expect("terms");
    assert_eq!(single.instalment_count(), 1);
}

/// A monthly schedule counts months from the start and clamps to month ends, without drift.
#[test]
fn schedules_follow_the_calendar() {
    let schedule = monthly().schedule(date!(2026 - 01 - 31));
    assert_eq!(schedule.len(), 12);
    assert_eq!(schedule[0].due_on, date!(2026 - 01 - 31));
    assert_eq!(schedule[1].due_on, date!(2026 - 02 - 28));
    assert_eq!(
        schedule[2].due_on,
        date!(2026 - 03 - 31),
        "no drift after February"
    );
    assert_eq!(schedule[11].period_end, date!(2027 - 01 - 31));
    assert_eq!(
        monthly().end_date(date!(2026 - 01 - 31)),
        date!(2027 - 01 - 31)
    );
    assert!(
        schedule
            .windows(2)
            .all(|pair| pair[0].period_end == pair[1].period_start)
    );
    assert_eq!(add_months(date!(2028 - 01 - 31), 1), date!(2028 - 02 - 29));
    assert_eq!(add_months(date!(2026 - 12 - 15), 1), date!(2027 - 01 - 15));
}

/// The policy state machine allows only its documented moves.
/// req: 5.3.1.3
#[test]
fn policy_states_refuse_illegal_moves() {
    use PolicyEvent as E;
    use PolicyStatus as S;
    assert_eq!(S::Applied.on(E::FirstPremiumPaid), Ok(S::Active));
    assert_eq!(S::Active.on(E::RenewalPaid), Ok(S::Active));
    assert_eq!(S::Active.on(E::GracePeriodEnded), Ok(S::Lapsed));
    assert_eq!(S::Active.on(E::TermEnded), Ok(S::Expired));
    assert_eq!(S::Lapsed.on(E::Cancelled), Ok(S::Cancelled));
    let refused = [
        (S::Applied, E::RenewalPaid),
        (S::Applied, E::GracePeriodEnded),
        (S::Active, E::FirstPremiumPaid),
        (S::Lapsed, E::RenewalPaid),
        (S::Cancelled, E::FirstPremiumPaid),
        (S::Cancelled, E::Cancelled),
        (S::Expired, E::Cancelled),
        (S::Expired, E::RenewalPaid),
    ];
    for (from, event) in refused {
        assert_eq!(from.on(event), Err(IllegalPolicyTransition { from, event }));
    }
    for status in [S::Applied, S::Active, S::Lapsed, S::Cancelled, S::Expired] {
        assert_eq!(PolicyStatus::parse(status.as_str()), Some(status));
    }
}

/// Grace runs through its last day; the policy lapses the day after.
#[test]
fn grace_ends_after_its_last_day() {
    let due = date!(2026 - 03 - 01);
    assert!(!grace_expired(due, 30, date!(2026 - 03 - 31)));
    assert!(grace_expired(due, 30, date!(2026 - 04 - 01)));
    assert!(grace_expired(due, 0, date!(2026 - 03 - 02)));
}

/// The cancellation refund is the unearned part of each paid premium, rounded down, and
/// nothing once a claim has been paid.
/// req: 5.3.1.3
#[test]
fn cancellation_refunds_the_unearned_premium() {
    let money = |value| Money::from_fen(value).expect("money");
    let year = PaidPeriod {
        period_start: date!(2026 - 01 - 01),
        period_end: date!(2027 - 01 - 01),
        amount: money(36_500),
    };
    // 1 July: 184 of 365 days left.
    assert_eq!(
        cancellation_refund(&[year], date!(2026 - 07 - 01), false),
        money(18_400)
    );
    assert_eq!(
        cancellation_refund(&[year], date!(2026 - 01 - 01), false),
        money(36_500)
    );
    assert_eq!(
        cancellation_refund(&[year], date!(2025 - 12 - 01), false),
        money(36_500)
    );
    assert_eq!(
        cancellation_refund(&[year], date!(2027 - 01 - 01), false),
        Money::ZERO
    );
    assert_eq!(
        cancellation_refund(&[year], date!(2026 - 07 - 01), true),
        Money::ZERO
    );
    // Three months paid, cancelled ten days into February (28 days): January is earned,
    // 18/28 of February and all of March come back.
    let month = |start, end| PaidPeriod {
        period_start: start,
        period_end: end,
        amount: money(1_000),
    };
    let paid = [
        month(date!(2026 - 01 - 01), date!(2026 - 02 - 01)),
        month(date!(2026 - 02 - 01), date!(2026 - 03 - 01)),
        month(date!(2026 - 03 - 01), date!(2026 - 04 - 01)),
    ];
    assert_eq!(
        cancellation_refund(&paid, date!(2026 - 02 - 11), false),
        money(642 + 1_000)
    );
    // Never more than was paid.
    for day in 0..120 {
        let on = date!(2025 - 12 - 01) + Duration::days(day);
        assert!(cancellation_refund(&paid, on, false) <= money(3_000));
    }
}
