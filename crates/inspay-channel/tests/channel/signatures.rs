//! Signed requests and answers.

use crate::helpers::*;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use inspay_channel::{
    ChannelError, FaultMode, FaultPlan, HttpChannel, OrderStatus, PaymentChannel, signing,
};
use inspay_crypto::sm2::Sm2PrivateKey;
use reqwest::Method;

fn fresh_nonce() -> String {
    signing::new_nonce().expect("nonce")
}

/// A client whose key is not the merchant's is refused with a signed refusal, and no money
/// moves.
/// req: 5.6.2-d1
#[tokio::test]
async fn a_request_signed_with_the_wrong_key_is_refused() {
    let bank = spawn_bank().await;
    let impostor = HttpChannel::new(
        &bank.sim.base_url(),
        Sm2PrivateKey::generate().expect("key"),
        bank.sim.public_key().clone(),
        MERCHANT,
        TIMEOUT_LONG,
    )
    .expect("channel");
    let refused = impostor.pay(pay_card("P-1", 100, CARD_OK)).await;
    assert!(
        matches!(&refused, Err(ChannelError::Refused { code, .. }) if code == "SIGNATURE_INVALID"),
        "{refused:?}"
    );
    let unknown = HttpChannel::new(
        &bank.sim.base_url(),
        bank.merchant_key(),
        bank.sim.public_key().clone(),
        "m-other",
        TIMEOUT_LONG,
    )
    .expect("channel");
    let refused = unknown.pay(pay_card("P-2", 100, CARD_OK)).await;
    assert!(
        matches!(refused, Err(ChannelError::Refused { code, .. }) if code == "MERCHANT_UNKNOWN")
    );
    assert!(bank.ledger().await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// Timestamps more than 300 s off either way are refused; a body other than the one signed
/// is refused.
/// req: 5.6.2-d1
#[tokio::test]
async fn stale_timestamps_and_altered_bodies_are_refused() {
    let bank = spawn_bank().await;
    let key = bank.merchant_key();
    let body = format!(
        r#"{{"order_id":"P-1","amount_fen":100,"card":{{"number":"{CARD_OK}","expiry":"0731"}}}}"#
    );
    let now = signing::unix_now_s();
    for (timestamp_s, signed_body, code) in [
        (now - signing::WINDOW_S - 5, None, "TIMESTAMP_STALE"),
        (now + signing::WINDOW_S + 5, None, "TIMESTAMP_STALE"),
        (now, Some(&body.replace("100", "1")), "SIGNATURE_INVALID"),
    ] {
        let nonce = fresh_nonce();
        let (status, _, answer) = bank
            .raw(RawRequest {
                key: &key,
                method: Method::POST,
                path: "/v1/pay",
                timestamp_s,
                nonce: &nonce,
                body: body.as_bytes(),
                signed_body: signed_body.map(String::as_bytes),
            })
            .await;
        assert_eq!((status, refusal_code(&answer).as_str()), (401, code));
    }
    assert!(bank.ledger().await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// A captured request sent again with its nonce is refused: the money moves once.
/// req: 5.6.2-d1
#[tokio::test]
async fn a_replayed_nonce_is_refused() {
    let bank = spawn_bank().await;
    let key = bank.merchant_key();
    let body = format!(
        r#"{{"order_id":"P-1","amount_fen":100,"card":{{"number":"{CARD_OK}","expiry":"0731"}}}}"#
    );
    let nonce = fresh_nonce();
    let request = || RawRequest {
        key: &key,
        method: Method::POST,
        path: "/v1/pay",
        timestamp_s: signing::unix_now_s(),
        nonce: &nonce,
        body: body.as_bytes(),
        signed_body: None,
    };
    let (first, headers, answer) = bank.raw(request()).await;
    assert_eq!(first, 200);
    let signed = signing::SignatureHeaders::read(&headers).expect("signed answer");
    let canonical = signing::answer_string(200, signed.timestamp_s, &signed.nonce, &nonce, &answer);
    assert!(signing::verify(
        bank.sim.public_key(),
        &canonical,
        &signed.signature_base64
    ));
    let (again, _, answer) = bank.raw(request()).await;
    assert_eq!(
        (again, refusal_code(&answer).as_str()),
        (401, "NONCE_REPLAYED")
    );
    assert_eq!(bank.movements_of("P-1").await.len(), 1);
    bank.sim.shutdown().await.expect("shutdown");
}

/// The bad_signature fault moves the money and answers with a signature that fails: the
/// client reports BadSignature (outcome unknown), and a query shows the payment.
/// req: 5.6.2-d1, 5.3.4
#[tokio::test]
async fn an_answer_with_a_corrupted_signature_is_bad_signature() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "bad_signature"}))
        .await;
    let answer = bank.channel.pay(pay_card("P-1", 100, CARD_OK)).await;
    assert_eq!(answer, Err(ChannelError::BadSignature));
    assert!(ChannelError::BadSignature.money_may_have_moved());
    let found = bank.channel.query(&id("P-1")).await.expect("query");
    assert_eq!(found.status, OrderStatus::Succeeded);
    bank.sim
        .set_faults(&FaultPlan::new(FaultMode::None, 0))
        .expect("clear");
    bank.sim.shutdown().await.expect("shutdown");
}

/// Answers signed by another key are refused.
#[tokio::test]
async fn answers_must_come_from_the_channel_key() {
    let bank = spawn_bank().await;
    let misled = HttpChannel::new(
        &bank.sim.base_url(),
        bank.merchant_key(),
        Sm2PrivateKey::generate().expect("key").public_key().clone(),
        MERCHANT,
        TIMEOUT_LONG,
    )
    .expect("channel");
    assert_eq!(
        misled.query(&id("P-1")).await,
        Err(ChannelError::BadSignature)
    );
    bank.sim.shutdown().await.expect("shutdown");
}

/// A genuine signed answer, replayed by a man in the middle as the answer to a new request,
/// fails: it binds the nonce of the request it answered.
/// req: 5.6.2-d1
#[tokio::test]
async fn a_replayed_answer_cannot_pass_for_a_new_one() {
    let bank = spawn_bank().await;
    bank.channel
        .pay(pay_card("P-1", 100, CARD_OK))
        .await
        .expect("pay");
    let key = bank.merchant_key();
    let nonce = fresh_nonce();
    let (status, headers, body) = bank
        .raw(RawRequest {
            key: &key,
            method: Method::GET,
            path: "/v1/orders/P-1",
            timestamp_s: signing::unix_now_s(),
            nonce: &nonce,
            body: b"",
            signed_body: None,
        })
        .await;
    assert_eq!(status, 200);
    let replayer = axum::Router::new().fallback(move || {
        let (headers, body) = (headers.clone(), body.clone());
        async move {
            let mut answer = (StatusCode::OK, body).into_response();
            let kept: &mut HeaderMap = answer.headers_mut();
            for name in [
                signing::TIMESTAMP_HEADER,
                signing::NONCE_HEADER,
                signing::SIGNATURE_HEADER,
            ] {
                if let Some(value) = headers.get(name) {
                    kept.insert(name, value.clone());
                }
            }
            answer
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move { axum::serve(listener, replayer).await });
    let fooled = HttpChannel::new(
        &format!("http://{address}"),
        bank.merchant_key(),
        bank.sim.public_key().clone(),
        MERCHANT,
        TIMEOUT_LONG,
    )
    .expect("channel");
    assert_eq!(
        fooled.query(&id("P-1")).await,
        Err(ChannelError::BadSignature)
    );
    server.abort();
    bank.sim.shutdown().await.expect("shutdown");
}

/// `GET /v1/keys` publishes the key the answers verify under.
#[tokio::test]
async fn the_channel_publishes_its_key() {
    let bank = spawn_bank().await;
    let pem = reqwest::get(format!("{}/v1/keys", bank.sim.base_url()))
        .await
        .expect("keys")
        .text()
        .await
        .expect("PEM");
    let key = inspay_crypto::sm2::Sm2PublicKey::from_spki_pem(&pem).expect("SPKI PEM");
    assert_eq!(&key, bank.sim.public_key());
    bank.sim.shutdown().await.expect("shutdown");
}
