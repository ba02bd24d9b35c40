//! Concurrent refunds of one payment.

use crate::helpers::*;
use inspay_channel::{ChannelError, OrderStatus, PaymentChannel};

/// 100 concurrent refunds of 1.50 against one 100.00 payment: exactly 66 pass (99.00), the
/// other 34 are refused as above the paid amount, and the simulator's ledger shows 9900 fen
/// refunded.
/// req: 5.3.1.3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refunds_never_exceed_the_payment() {
    let bank = spawn_bank().await;
    bank.channel
        .pay(pay_card("P-100", 10_000, CARD_OK))
        .await
        .expect("pay");
    let tasks: Vec<_> = (0..100)
        .map(|index| {
            let channel = bank.channel.clone();
            tokio::spawn(async move {
                channel
                    .refund(refund(&format!("R-{index:03}"), "P-100", 150))
                    .await
            })
        })
        .collect();
    let (mut succeeded, mut refused) = (0, 0);
    for task in tasks {
        match task.await.expect("task") {
            Ok(answer) if answer.status == OrderStatus::Succeeded => succeeded += 1,
            Err(ChannelError::Refused { code, .. }) if code == "REFUND_EXCEEDS_PAID" => {
                refused += 1
            }
            other => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!((succeeded, refused), (66, 34));
    let ledger = bank.ledger().await;
    let refunds: Vec<_> = ledger
        .iter()
        .filter(|entry| entry.kind == "refund")
        .collect();
    assert_eq!(refunds.len(), 66);
    assert!(refunds.iter().all(|entry| entry.status == "SUCCEEDED"));
    let refunded_fen: i64 = refunds.iter().map(|entry| entry.amount_fen).sum();
    assert_eq!(refunded_fen, 9_900);
    bank.sim.shutdown().await.expect("shutdown");
}
