//! Every fault mode, and what the client makes of it.

use crate::helpers::*;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use inspay_channel::{ChannelError, HttpChannel, OrderStatus, PaymentChannel, signing};
use inspay_crypto::sm2::Sm2PrivateKey;
use std::time::Duration;
use tokio::sync::mpsc;

/// `timeout`: the money moves but no answer comes; the client gives up with Timeout (money
/// may have moved) and a query shows the payment.
/// req: 5.3.4
#[tokio::test]
async fn timeout_moves_money_without_answering() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "timeout", "count": 1}))
        .await;
    let impatient = bank.channel_with_timeout(TIMEOUT_SHORT);
    let answer = impatient.pay(pay_card("P-1", 100, CARD_OK)).await;
    assert_eq!(answer, Err(ChannelError::Timeout));
    assert!(ChannelError::Timeout.money_may_have_moved());
    let found = query_until_known(&impatient, "P-1").await;
    assert_eq!(found.status, OrderStatus::Succeeded);
    // Retrying the order after the query moves nothing more.
    let retried = impatient
        .pay(pay_card("P-1", 100, CARD_OK))
        .await
        .expect("retry");
    assert_eq!(retried.content(), found.content());
    assert_eq!(bank.movements_of("P-1").await.len(), 1);
    bank.sim.shutdown().await.expect("shutdown");
}

/// `drop`: nothing moves and no answer comes; a query finds nothing, and a retry with the
/// same order id then pays once.
/// req: 5.3.4
#[tokio::test]
async fn drop_neither_moves_money_nor_answers() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "drop"})).await;
    let impatient = bank.channel_with_timeout(TIMEOUT_SHORT);
    let answer = impatient.payout(payout("C-1", 100, ACCOUNT_OK)).await;
    assert_eq!(answer, Err(ChannelError::Timeout));
    let found = impatient.query(&id("C-1")).await.expect("query");
    assert_eq!(found.status, OrderStatus::NotFound);
    assert!(bank.ledger().await.is_empty());
    let retried = impatient
        .payout(payout("C-1", 100, ACCOUNT_OK))
        .await
        .expect("retry");
    assert_eq!(retried.status, OrderStatus::Succeeded);
    assert_eq!(bank.movements_of("C-1").await.len(), 1);
    bank.sim.shutdown().await.expect("shutdown");
}

/// `late`: a client that waits longer than the delay gets the answer; one that waits less
/// gets Timeout, yet the money moved.
/// req: 5.3.4
#[tokio::test]
async fn late_answers_reach_only_patient_clients() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "late", "delay_ms": 100}))
        .await;
    let answer = bank
        .channel
        .pay(pay_card("P-patient", 100, CARD_OK))
        .await
        .expect("pay");
    assert_eq!(answer.status, OrderStatus::Succeeded);

    bank.set_fault(serde_json::json!({"mode": "late", "delay_ms": 1500}))
        .await;
    let impatient = bank.channel_with_timeout(TIMEOUT_SHORT);
    let answer = impatient.pay(pay_card("P-impatient", 100, CARD_OK)).await;
    assert_eq!(answer, Err(ChannelError::Timeout));
    let found = query_until_known(&impatient, "P-impatient").await;
    assert_eq!(found.status, OrderStatus::Succeeded);
    bank.sim.shutdown().await.expect("shutdown");
}

/// `fail`: the answer is Failed without moving money, for exactly `count` requests; a repeat
/// of a failed order keeps its answer.
/// req: 5.3.4
#[tokio::test]
async fn fail_answers_failed_for_count_requests() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "fail", "count": 2}))
        .await;
    let channel = &bank.channel;
    let failed = OrderStatus::Failed {
        reason_code: "CHANNEL_FAULT".to_string(),
    };
    let first = channel
        .pay(pay_card("P-1", 100, CARD_OK))
        .await
        .expect("answer");
    assert_eq!(first.status, failed);
    let second = channel
        .payout(payout("C-1", 100, ACCOUNT_OK))
        .await
        .expect("answer");
    assert_eq!(second.status, failed);
    let third = channel
        .pay(pay_card("P-2", 100, CARD_OK))
        .await
        .expect("answer");
    assert_eq!(third.status, OrderStatus::Succeeded);
    let repeat = channel
        .pay(pay_card("P-1", 100, CARD_OK))
        .await
        .expect("answer");
    assert_eq!(repeat.status, failed);
    let statuses: Vec<String> = bank.ledger().await.into_iter().map(|e| e.status).collect();
    assert_eq!(statuses, ["FAILED", "FAILED", "SUCCEEDED"]);
    bank.sim.shutdown().await.expect("shutdown");
}

/// `twice`: the request is processed twice (money moves once) and the signed answer is
/// POSTed to the notify URL two times; both notifications verify.
/// req: 5.3.4, 5.6.2-d1
#[tokio::test]
async fn twice_is_safe_and_notifies_twice() {
    let (sender, mut notifications) = mpsc::channel::<(HeaderMap, Bytes)>(8);
    let receiver = axum::Router::new()
        .route(
            "/notify",
            axum::routing::post(
                |State(sender): State<mpsc::Sender<(HeaderMap, Bytes)>>,
                 headers: HeaderMap,
                 body: Bytes| async move {
                    let _ = sender.send((headers, body)).await;
                    "ok"
                },
            ),
        )
        .with_state(sender);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let notify_url = format!("http://{}/notify", listener.local_addr().expect("address"));
    let server = tokio::spawn(async move { axum::serve(listener, receiver).await });

    let bank = spawn_bank_with(|config| config.notify_url = Some(notify_url)).await;
    bank.set_fault(serde_json::json!({"mode": "twice"})).await;
    let answer = bank
        .channel
        .pay(pay_card("P-1", 4_200, CARD_OK))
        .await
        .expect("pay");
    assert_eq!(answer.status, OrderStatus::Succeeded);
    for delivery in 1..=2 {
        let (headers, body) = tokio::time::timeout(Duration::from_secs(5), notifications.recv())
            .await
            .expect("a notification within 5 s")
            .expect("channel open");
        let notified = signing::verify_notification(
            bank.sim.public_key(),
            &headers,
            &body,
            signing::unix_now_s(),
        )
        .expect("the notification verifies");
        assert_eq!(notified.content(), answer.content(), "delivery {delivery}");
        let mut altered = body.to_vec();
        altered.push(b' ');
        assert_eq!(
            signing::verify_notification(
                bank.sim.public_key(),
                &headers,
                &altered,
                signing::unix_now_s()
            ),
            Err(ChannelError::BadSignature)
        );
    }
    assert_eq!(bank.movements_of("P-1").await.len(), 1);
    server.abort();
    bank.sim.shutdown().await.expect("shutdown");
}

/// A channel nobody listens on is Unreachable: nothing was sent, money did not move.
/// req: 5.3.4
#[tokio::test]
async fn a_closed_port_is_unreachable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let key = Sm2PrivateKey::generate().expect("key");
    let channel = HttpChannel::new(
        &format!("http://{address}"),
        Sm2PrivateKey::generate().expect("key"),
        key.public_key().clone(),
        MERCHANT,
        TIMEOUT_SHORT,
    )
    .expect("channel");
    let answer = channel.pay(pay_card("P-1", 100, CARD_OK)).await;
    assert_eq!(answer, Err(ChannelError::Unreachable));
    assert!(!ChannelError::Unreachable.money_may_have_moved());
}

/// The control plane refuses plans it cannot apply.
#[tokio::test]
async fn bad_fault_plans_are_refused() {
    let bank = spawn_bank().await;
    let client = reqwest::Client::new();
    for plan in [
        r#"{"mode":"explode"}"#,
        r#"{"mode":"late"}"#,
        r#"{"mode":"fail","delay_ms":5}"#,
        r#"{"mode":"fail","count":1000000}"#,
    ] {
        let answer = client
            .post(format!("{}/control/faults", bank.sim.base_url()))
            .body(plan)
            .send()
            .await
            .expect("control plane");
        assert_eq!(answer.status().as_u16(), 400, "{plan}");
    }
    bank.sim.shutdown().await.expect("shutdown");
}
