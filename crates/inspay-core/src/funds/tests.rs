use super::*;

fn fen(value: i64) -> Amount {
    Amount::from_fen(value).expect("positive")
}

fn money(value: i64) -> Money {
    Money::from_fen(value).expect("money")
}

/// An order settles once; a duplicated answer is a no-op and a contradicting one is refused,
/// so no obligation is paid or recorded twice.
/// req: 5.3.1.3
#[test]
fn orders_settle_once() {
    use ChannelOutcome as O;
    use OrderStatus as S;
    assert_eq!(
        S::Pending.settle(O::Succeeded),
        Ok(Settlement::Changed(S::Succeeded))
    );
    assert_eq!(
        S::Pending.settle(O::Failed),
        Ok(Settlement::Changed(S::Failed))
    );
    assert_eq!(S::Succeeded.settle(O::Succeeded), Ok(Settlement::AlreadySo));
    assert_eq!(S::Failed.settle(O::Failed), Ok(Settlement::AlreadySo));
    assert!(S::Succeeded.settle(O::Failed).is_err());
    assert!(S::Failed.settle(O::Succeeded).is_err());
    for status in [S::Pending, S::Succeeded, S::Failed] {
        assert_eq!(S::parse(status.as_str()), Some(status));
    }
}

/// Refunds never exceed what was paid, counting pending refunds, and only a completed
/// payment is refunded.
/// req: 5.3.1.3
#[test]
fn refunds_never_exceed_the_payment() {
    let paid = fen(10_000);
    assert_eq!(
        check_refund(OrderStatus::Succeeded, paid, money(0), fen(10_000)),
        Ok(())
    );
    assert_eq!(
        check_refund(OrderStatus::Succeeded, paid, money(9_850), fen(150)),
        Ok(())
    );
    assert_eq!(
        check_refund(OrderStatus::Succeeded, paid, money(9_900), fen(150)),
        Err(RefundError::ExceedsRefundable {
            refundable: money(100)
        })
    );
    assert_eq!(
        check_refund(OrderStatus::Succeeded, paid, money(20_000), fen(1)),
        Err(RefundError::ExceedsRefundable {
            refundable: Money::ZERO
        })
    );
    assert_eq!(
        check_refund(OrderStatus::Pending, paid, money(0), fen(1)),
        Err(RefundError::PaymentNotSucceeded)
    );
    assert_eq!(
        check_refund(OrderStatus::Failed, paid, money(0), fen(1)),
        Err(RefundError::PaymentNotSucceeded)
    );
}

/// Approval never exceeds the claim or the remaining cover; above the large threshold a
/// second, different approver is needed; the payout runs once from `Approved`.
/// req: 5.3.1.3, 5.3.2.2, 5.6.2-d2
#[test]
fn claims_follow_the_fund_rules() {
    let large = money(5_000_000);
    let claimed = fen(8_000_000);
    let cover = remaining_cover(fen(10_000_000), &[money(3_000_000)]);
    assert_eq!(cover, money(7_000_000));
    let approve = |amount| Decision::Approve(fen(amount));
    assert_eq!(
        assess(
            ClaimStatus::Filed,
            claimed,
            cover,
            approve(8_000_000),
            large
        ),
        Err(ClaimError::AboveCover { remaining: cover })
    );
    assert_eq!(
        assess(ClaimStatus::Filed, fen(100), cover, approve(101), large),
        Err(ClaimError::AboveClaimed)
    );
    assert_eq!(
        assess(
            ClaimStatus::Filed,
            claimed,
            cover,
            approve(5_000_000),
            large
        ),
        Ok(ClaimStatus::Approved),
        "the threshold itself is not large"
    );
    let waiting = assess(
        ClaimStatus::Filed,
        claimed,
        cover,
        approve(5_000_001),
        large,
    );
    assert_eq!(waiting, Ok(ClaimStatus::AwaitingSecondApproval));
    assert_eq!(
        assess(ClaimStatus::Filed, claimed, cover, Decision::Reject, large),
        Ok(ClaimStatus::Rejected)
    );
    assert_eq!(
        assess(ClaimStatus::Approved, claimed, cover, approve(1), large),
        Err(ClaimError::IllegalStep(ClaimStatus::Approved))
    );
    let waiting = ClaimStatus::AwaitingSecondApproval;
    assert_eq!(
        second_approval(waiting, "adj-1", "adj-1"),
        Err(ClaimError::SameApprover)
    );
    assert_eq!(
        second_approval(waiting, "adj-1", "mgr-2"),
        Ok(ClaimStatus::Approved)
    );
    assert!(second_approval(ClaimStatus::Approved, "adj-1", "mgr-2").is_err());
    assert!(
        payout_started(waiting).is_err(),
        "no payout before the second approval"
    );
    let pending = payout_started(ClaimStatus::Approved).expect("start");
    assert!(payout_started(pending).is_err(), "one payout at a time");
    assert_eq!(
        payout_settled(pending, ChannelOutcome::Failed),
        Ok(ClaimStatus::Approved)
    );
    assert_eq!(
        payout_settled(pending, ChannelOutcome::Succeeded),
        Ok(ClaimStatus::Paid)
    );
    assert!(payout_settled(ClaimStatus::Paid, ChannelOutcome::Succeeded).is_err());
    assert_eq!(
        remaining_cover(fen(100), &[money(60), money(60)]),
        Money::ZERO
    );
    for status in [
        ClaimStatus::Filed,
        ClaimStatus::AwaitingSecondApproval,
        ClaimStatus::Approved,
        ClaimStatus::Rejected,
        ClaimStatus::PayoutPending,
        ClaimStatus::Paid,
    ] {
        assert_eq!(ClaimStatus::parse(status.as_str()), Some(status));
    }
}
