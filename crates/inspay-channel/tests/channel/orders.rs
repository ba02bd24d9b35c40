//! Pay, payout, refund and query against the simulator.

use crate::helpers::*;
use inspay_channel::{
    AMOUNT_FEN_MAX, ChannelError, OrderError, OrderStatus, PayOrder, PaySource, PaymentChannel,
    PayoutOrder, RefundOrder, signing,
};
use inspay_core::sensitive::{CardNumber, LegalName};

fn failed(reason: &str) -> OrderStatus {
    OrderStatus::Failed {
        reason_code: reason.to_string(),
    }
}

/// A card payment succeeds with a channel reference, a card token, the card masked to its
/// first 6 and last 4 digits, today's settlement date, and a signature we can check again
/// later.
/// req: 5.6.2-d1
#[tokio::test]
async fn pay_by_card_succeeds_with_token_and_masked_card() {
    let bank = spawn_bank().await;
    let answer = bank
        .channel
        .pay(pay_card("P-card", 12_345, CARD_OK))
        .await
        .expect("pay");
    assert_eq!(answer.status, OrderStatus::Succeeded);
    assert_eq!(answer.order_id.as_str(), "P-card");
    assert_eq!(answer.amount_fen, 12_345);
    assert_eq!(answer.masked_card.as_deref(), Some("622202*********0128"));
    assert!(
        answer
            .card_token
            .as_deref()
            .is_some_and(|t| t.starts_with("tok_"))
    );
    assert!(answer.channel_ref.is_some());
    assert_eq!(
        answer.settled_on.as_deref(),
        Some(bank.sim.today().as_str())
    );
    let evidence = answer.evidence.expect("evidence");
    assert!(signing::verify_evidence(bank.sim.public_key(), &evidence));
    let mut forged = evidence.clone();
    forged.body = forged.body.replace("12345", "12346");
    assert!(!signing::verify_evidence(bank.sim.public_key(), &forged));
    bank.sim.shutdown().await.expect("shutdown");
}

/// A token from a successful payment pays again without the card details; an unknown token
/// is refused and moves nothing.
#[tokio::test]
async fn pay_by_token() {
    let bank = spawn_bank().await;
    let first = bank
        .channel
        .pay(pay_card("P-first", 100, CARD_OK))
        .await
        .expect("pay");
    let token = first.card_token.expect("token");
    let again = bank
        .channel
        .pay(pay_token("P-again", 250, &token))
        .await
        .expect("pay by token");
    assert_eq!(again.status, OrderStatus::Succeeded);
    assert_eq!(again.masked_card, first.masked_card);
    assert_eq!(again.card_token.as_deref(), Some(token.as_str()));
    let unknown = bank
        .channel
        .pay(pay_token("P-unknown", 250, "tok_nobody"))
        .await;
    assert!(matches!(unknown, Err(ChannelError::Refused { code, .. }) if code == "TOKEN_UNKNOWN"));
    assert!(bank.movements_of("P-unknown").await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// The test cards ending in 0002 and 0051 fail with their reason codes, get no token, and
/// the simulator records that no money moved.
#[tokio::test]
async fn declined_test_cards_fail_without_moving_money() {
    let bank = spawn_bank().await;
    let declined = bank
        .channel
        .pay(pay_card("P-declined", 500, CARD_DECLINED))
        .await
        .expect("answer");
    assert_eq!(declined.status, failed("CARD_DECLINED"));
    assert_eq!(declined.card_token, None);
    assert_eq!(declined.settled_on, None);
    let poor = bank
        .channel
        .pay(pay_card("P-poor", 500, CARD_NO_FUNDS))
        .await
        .expect("answer");
    assert_eq!(poor.status, failed("INSUFFICIENT_FUNDS"));
    let ledger = bank.ledger().await;
    assert_eq!(ledger.len(), 2);
    assert!(ledger.iter().all(|entry| entry.status == "FAILED"));
    bank.sim.shutdown().await.expect("shutdown");
}

/// Two partial refunds pass; a third above what is left is refused; what is left can still
/// be refunded, and nothing more. Refunds of unknown or failed orders are refused.
/// req: 5.3.1.3
#[tokio::test]
async fn partial_refunds_never_exceed_the_paid_amount() {
    let bank = spawn_bank().await;
    let channel = &bank.channel;
    channel
        .pay(pay_card("P-10000", 10_000, CARD_OK))
        .await
        .expect("pay");
    for (refund_id, amount) in [("R-1", 3_000), ("R-2", 5_000)] {
        let answer = channel
            .refund(refund(refund_id, "P-10000", amount))
            .await
            .expect("refund");
        assert_eq!(answer.status, OrderStatus::Succeeded, "{refund_id}");
    }
    let above = channel.refund(refund("R-3", "P-10000", 2_001)).await;
    assert!(
        matches!(&above, Err(ChannelError::Refused { code, .. }) if code == "REFUND_EXCEEDS_PAID"),
        "{above:?}"
    );
    let rest = channel
        .refund(refund("R-4", "P-10000", 2_000))
        .await
        .expect("the rest");
    assert_eq!(rest.status, OrderStatus::Succeeded);
    let more = channel.refund(refund("R-5", "P-10000", 1)).await;
    assert!(
        matches!(more, Err(ChannelError::Refused { code, .. }) if code == "REFUND_EXCEEDS_PAID")
    );
    let refunded: i64 = bank
        .ledger()
        .await
        .iter()
        .filter(|entry| entry.kind == "refund" && entry.status == "SUCCEEDED")
        .map(|entry| entry.amount_fen)
        .sum();
    assert_eq!(refunded, 10_000);

    channel
        .pay(pay_card("P-no", 100, CARD_DECLINED))
        .await
        .expect("answer");
    let of_failed = channel.refund(refund("R-6", "P-no", 50)).await;
    assert!(
        matches!(of_failed, Err(ChannelError::Refused { code, .. }) if code == "ORIGINAL_NOT_REFUNDABLE")
    );
    let of_unknown = channel.refund(refund("R-7", "P-none", 50)).await;
    assert!(
        matches!(of_unknown, Err(ChannelError::Refused { code, .. }) if code == "ORIGINAL_NOT_FOUND")
    );
    bank.sim.shutdown().await.expect("shutdown");
}

/// A payout reaches a good account; one to the test account ending in 0002 fails.
#[tokio::test]
async fn payouts_pay_accounts() {
    let bank = spawn_bank().await;
    let paid = bank
        .channel
        .payout(payout("C-1", 88_800, ACCOUNT_OK))
        .await
        .expect("payout");
    assert_eq!(paid.status, OrderStatus::Succeeded);
    assert_eq!(paid.masked_card.as_deref(), Some("621700*********0122"));
    let invalid = bank
        .channel
        .payout(payout("C-2", 100, ACCOUNT_INVALID))
        .await
        .expect("answer");
    assert_eq!(invalid.status, failed("ACCOUNT_INVALID"));
    let ledger = bank.ledger().await;
    let kinds: Vec<(&str, &str)> = ledger
        .iter()
        .map(|entry| (entry.kind.as_str(), entry.status.as_str()))
        .collect();
    assert_eq!(kinds, [("payout", "SUCCEEDED"), ("payout", "FAILED")]);
    bank.sim.shutdown().await.expect("shutdown");
}

/// A query finds recorded orders and says NotFound for others.
#[tokio::test]
async fn query_reports_any_order() {
    let bank = spawn_bank().await;
    let paid = bank
        .channel
        .pay(pay_card("P-q", 700, CARD_OK))
        .await
        .expect("pay");
    let found = bank.channel.query(&id("P-q")).await.expect("query");
    assert_eq!(found.content(), paid.content());
    let missing = bank.channel.query(&id("P-missing")).await.expect("query");
    assert_eq!(missing.status, OrderStatus::NotFound);
    assert_eq!(missing.amount_fen, 0);
    bank.sim.shutdown().await.expect("shutdown");
}

/// Zero, negative and oversized amounts cannot be put in an order, so they are never sent;
/// a refund cannot name itself. The simulator refuses a zero amount that reaches it anyway.
/// req: 5.3.1.3
#[tokio::test]
async fn amounts_must_be_positive_fen() {
    for amount in [0, -1, -10_000, AMOUNT_FEN_MAX + 1] {
        let source = PaySource::Card(card(CARD_OK));
        assert_eq!(
            PayOrder::new(id("P"), amount, source),
            Err(OrderError::Amount)
        );
        let account = CardNumber::parse(ACCOUNT_OK).expect("account");
        let name = LegalName::parse("Li Lei").expect("name");
        assert_eq!(
            PayoutOrder::new(id("C"), amount, account, name),
            Err(OrderError::Amount)
        );
        assert_eq!(
            RefundOrder::new(id("R"), id("P"), amount),
            Err(OrderError::Amount)
        );
    }
    assert_eq!(
        RefundOrder::new(id("P"), id("P"), 1),
        Err(OrderError::SameOrderId)
    );

    let bank = spawn_bank().await;
    let key = bank.merchant_key();
    let body = br#"{"order_id":"P-zero","amount_fen":0,"card_token":"tok_x"}"#;
    let nonce = signing::new_nonce().expect("nonce");
    let (status, _, answer) = bank
        .raw(RawRequest {
            key: &key,
            method: reqwest::Method::POST,
            path: "/v1/pay",
            timestamp_s: signing::unix_now_s(),
            nonce: &nonce,
            body,
            signed_body: None,
        })
        .await;
    assert_eq!(
        (status, refusal_code(&answer).as_str()),
        (400, "BAD_REQUEST")
    );
    assert!(bank.ledger().await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}
