//! Card numbers, account numbers, expiry dates, CVVs and names never show in Debug output,
//! answers or the control plane.

use crate::helpers::*;
use inspay_channel::{CardDetails, HttpChannelConfig, PaySource, PaymentChannel};
use inspay_crypto::sm2::Sm2PrivateKey;
use std::time::Duration;

/// The middle digits of a number: what masking must hide.
fn hidden_part(number: &str) -> &str {
    &number[6..number.len() - 4]
}

/// No card or account number, in full or its hidden middle.
fn assert_no_numbers(text: &str) {
    for number in [CARD_OK, ACCOUNT_OK] {
        assert!(!text.contains(number), "full number in {text}");
        assert!(
            !text.contains(hidden_part(number)),
            "middle digits in {text}"
        );
    }
}

/// No number, CVV, expiry or given name. Only for text without random parts (a random
/// token could hold three digits of a CVV by chance).
fn assert_redacted(debug: &str) {
    assert_no_numbers(debug);
    for secret in ["938", "0731", "07/31", "三丰"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

/// Debug of every order type, of the card details and of the client configuration shows no
/// card or account number, CVV, expiry or full name.
#[tokio::test]
async fn debug_output_shows_no_card_data() {
    let card: CardDetails = card(CARD_OK);
    let by_card = pay_card("P-1", 12_345, CARD_OK);
    let by_token = pay_token("P-2", 12_345, "tok_abc");
    let payout = payout("C-1", 12_345, ACCOUNT_OK);
    let refund = refund("R-1", "P-1", 12_345);
    let debugs = [
        format!("{card:?}"),
        format!("{by_card:?}"),
        format!("{by_card:#?}"),
        format!("{:?}", PaySource::Card(card.clone())),
        format!("{by_token:?}"),
        format!("{payout:?}"),
        format!("{payout:#?}"),
        format!("{refund:?}"),
    ];
    for debug in &debugs {
        assert_redacted(debug);
    }
    // The masked forms are what remains.
    assert!(debugs[1].contains("622202*********0128"));
    assert!(debugs[5].contains("621700*********0122"));

    let key = Sm2PrivateKey::generate().expect("key");
    let config = HttpChannelConfig {
        base_url: "http://127.0.0.1:1".to_string(),
        merchant_id: MERCHANT.to_string(),
        channel_key: key.public_key().clone(),
        merchant_key: std::sync::Arc::new(key),
        timeout: Duration::from_secs(1),
        trusted_ca_pem: None,
    };
    let debug = format!("{config:?}");
    assert!(debug.contains("REDACTED"), "{debug}");
}

/// What the channel sends back (answers, refusals, the ledger) holds at most the masked
/// card; the refusal of a malformed card number does not echo it.
#[tokio::test]
async fn answers_and_the_ledger_show_no_card_data() {
    let bank = spawn_bank().await;
    let answer = bank
        .channel
        .pay(pay_card("P-1", 100, CARD_OK))
        .await
        .expect("pay");
    let evidence = answer.evidence.clone().expect("evidence");
    assert_no_numbers(&evidence.body);
    assert_no_numbers(&format!("{answer:?}"));
    let payout = bank
        .channel
        .payout(payout("C-1", 100, ACCOUNT_OK))
        .await
        .expect("payout");
    assert_no_numbers(&format!("{payout:?}"));
    let ledger = format!("{:?}", bank.ledger().await);
    assert_no_numbers(&ledger);

    let key = bank.merchant_key();
    let nonce = inspay_channel::signing::new_nonce().expect("nonce");
    let body = br#"{"order_id":"P-2","amount_fen":1,"card":{"number":"6222021234567890129","expiry":"0731"}}"#;
    let (status, _, refusal) = bank
        .raw(RawRequest {
            key: &key,
            method: reqwest::Method::POST,
            path: "/v1/pay",
            timestamp_s: inspay_channel::signing::unix_now_s(),
            nonce: &nonce,
            body,
            signed_body: None,
        })
        .await;
    assert_eq!(status, 400);
    let refusal = String::from_utf8(refusal).expect("utf-8");
    assert!(!refusal.contains("6222021234567890129"), "{refusal}");
    assert!(
        !refusal.contains(hidden_part("6222021234567890129")),
        "{refusal}"
    );
    bank.sim.shutdown().await.expect("shutdown");
}
