//! The channel is idempotent by order id.

use crate::helpers::*;
use inspay_channel::{ChannelError, OrderStatus, PaymentChannel};

/// The same pay, payout and refund order sent twice gets the same answer and moves money
/// once each.
/// req: 5.3.1.3
#[tokio::test]
async fn the_same_order_twice_moves_money_once() {
    let bank = spawn_bank().await;
    let channel = &bank.channel;
    let first = channel
        .pay(pay_card("P-1", 10_000, CARD_OK))
        .await
        .expect("pay");
    let second = channel
        .pay(pay_card("P-1", 10_000, CARD_OK))
        .await
        .expect("pay again");
    assert_eq!(first.content(), second.content());
    assert_ne!(
        first.evidence, second.evidence,
        "each answer is signed afresh"
    );

    let payout_first = channel
        .payout(payout("C-1", 500, ACCOUNT_OK))
        .await
        .expect("payout");
    let payout_second = channel
        .payout(payout("C-1", 500, ACCOUNT_OK))
        .await
        .expect("payout");
    assert_eq!(payout_first.content(), payout_second.content());

    for _ in 0..3 {
        let answer = channel
            .refund(refund("R-1", "P-1", 6_000))
            .await
            .expect("refund");
        assert_eq!(answer.status, OrderStatus::Succeeded);
    }
    // Had the repeats counted, 6000 x 3 would exceed 10000 and this would be refused.
    let rest = channel
        .refund(refund("R-2", "P-1", 4_000))
        .await
        .expect("rest");
    assert_eq!(rest.status, OrderStatus::Succeeded);

    for order_id in ["P-1", "C-1", "R-1", "R-2"] {
        assert_eq!(bank.movements_of(order_id).await.len(), 1, "{order_id}");
    }
    assert_eq!(bank.ledger().await.len(), 4);
    bank.sim.shutdown().await.expect("shutdown");
}

/// The same order id with another amount, card, kind or original order is a conflict and
/// changes nothing.
/// req: 5.3.1.3
#[tokio::test]
async fn the_same_id_with_other_content_conflicts() {
    let bank = spawn_bank().await;
    let channel = &bank.channel;
    let paid = channel
        .pay(pay_card("P-1", 10_000, CARD_OK))
        .await
        .expect("pay");
    channel
        .pay(pay_card("P-2", 100, CARD_OK))
        .await
        .expect("pay");
    channel
        .refund(refund("R-1", "P-1", 100))
        .await
        .expect("refund");

    let conflicts = [
        channel.pay(pay_card("P-1", 10_001, CARD_OK)).await,
        channel.pay(pay_card("P-1", 10_000, CARD_NO_FUNDS)).await,
        channel.payout(payout("P-1", 10_000, ACCOUNT_OK)).await,
        channel.refund(refund("R-1", "P-1", 101)).await,
        channel.refund(refund("R-1", "P-2", 100)).await,
    ];
    for (index, conflict) in conflicts.into_iter().enumerate() {
        assert_eq!(conflict, Err(ChannelError::OrderConflict), "case {index}");
    }
    let still = channel.query(&id("P-1")).await.expect("query");
    assert_eq!(still.content(), paid.content());
    assert_eq!(bank.ledger().await.len(), 3);
    bank.sim.shutdown().await.expect("shutdown");
}
