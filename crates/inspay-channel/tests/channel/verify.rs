//! Bank-account verification (银行卡四要素验证): verdicts, their debit tokens (代扣协议号),
//! their signatures, faults and redaction.

use crate::helpers::*;
use inspay_channel::{
    AccountCheck, AccountVerdict, CardToken, ChannelError, HttpChannel, OrderStatus,
    PaymentChannel, signing,
};
use inspay_core::sensitive::{CardNumber, IdNumber, LegalName, MobileNumber};
use inspay_crypto::sm2::Sm2PrivateKey;
use reqwest::Method;

/// Ends in 0044: the bank has no such account.
const ACCOUNT_UNKNOWN: &str = "6217001234000060044";
/// Ends in 0051: held by someone else.
const ACCOUNT_NAME_MISMATCH: &str = "6217001234000060051";
const ID_NUMBER: &str = "110101199003071233";
const MOBILE: &str = "13800138000";
const VERIFY_PATH: &str = "/v1/accounts/verify";

fn check(check_id: &str, account: &str) -> AccountCheck {
    AccountCheck::new(
        id(check_id),
        CardNumber::parse(account).expect("account"),
        LegalName::parse("张三丰").expect("name"),
        IdNumber::parse(ID_NUMBER).expect("ID number"),
        MobileNumber::parse(MOBILE).expect("mobile"),
    )
}

fn verify_json(check_id: &str, account: &str) -> String {
    format!(
        r#"{{"check_id":"{check_id}","account_number":"{account}","holder_name":"张三丰","id_number":"{ID_NUMBER}","mobile":"{MOBILE}"}}"#
    )
}

/// A verify request signed with `key` now, with `nonce`; `signed_body` is signed instead of
/// `body` when given.
fn verify_request<'a>(
    key: &'a Sm2PrivateKey,
    nonce: &'a str,
    body: &'a str,
    signed_body: Option<&'a str>,
) -> RawRequest<'a> {
    RawRequest {
        key,
        method: Method::POST,
        path: VERIFY_PATH,
        timestamp_s: signing::unix_now_s(),
        nonce,
        body: body.as_bytes(),
        signed_body: signed_body.map(str::as_bytes),
    }
}

/// The debit token of a verdict that must have one.
fn debit_token(verdict: &AccountVerdict) -> String {
    let token = verdict
        .debit_token
        .clone()
        .expect("a verified account has a debit token");
    assert!(CardToken::parse(&token).is_ok(), "{token}");
    token
}

/// An account that belongs to the person is verified; the signed verdict is kept as
/// evidence that verifies again under the bank's key, shows the account masked only, and
/// the check moves nothing in the bank's books.
/// req: 5.6.2-d1
#[tokio::test]
async fn a_matching_account_is_verified_with_signed_evidence() {
    let bank = spawn_bank().await;
    let verdict = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert_eq!(verdict.check_id, id("V-1"));
    assert!(verdict.verified);
    assert_eq!(verdict.reason, None);
    assert_eq!(verdict.masked_account, "621700*********0122");
    let evidence = verdict.evidence.clone().expect("evidence");
    assert_eq!(evidence.status, 200);
    assert!(signing::verify_evidence(bank.sim.public_key(), &evidence));
    for secret in [ACCOUNT_OK, &ACCOUNT_OK[6..15], ID_NUMBER, MOBILE, "张三丰"] {
        assert!(!evidence.body.contains(secret), "{}", evidence.body);
    }
    // Safe to repeat: the same check gets the same verdict, and nothing is booked.
    let again = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert_eq!(again.content(), verdict.content());
    assert!(bank.ledger().await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// A verified account comes with a direct-debit agreement token; a pay order whose source
/// is that token collects the premium from the account and the bank records the money
/// moving, while the verifications themselves record nothing. The same account verified
/// again, under another check id, gets the same token, which is the card token a payment
/// from the same number gets.
#[tokio::test]
async fn a_verified_account_gets_a_debit_token_that_collects_premiums() {
    let bank = spawn_bank().await;
    let first = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert!(first.verified);
    let token = debit_token(&first);
    let second = bank
        .channel
        .verify_account(check("V-2", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert_eq!(second.debit_token.as_deref(), Some(token.as_str()));
    assert!(bank.ledger().await.is_empty());

    let paid = bank
        .channel
        .pay(pay_token("P-debit", 8_800, &token))
        .await
        .expect("pay by debit token");
    assert_eq!(paid.status, OrderStatus::Succeeded);
    assert_eq!(paid.amount_fen, 8_800);
    assert_eq!(paid.masked_card.as_deref(), Some("621700*********0122"));
    assert_eq!(paid.card_token.as_deref(), Some(token.as_str()));
    let movements = bank.movements_of("P-debit").await;
    assert_eq!(movements.len(), 1, "{movements:?}");
    assert_eq!(
        (
            movements[0].kind.as_str(),
            movements[0].amount_fen,
            movements[0].status.as_str()
        ),
        ("pay", 8_800, "SUCCEEDED")
    );

    let by_card = bank
        .channel
        .pay(pay_card("P-card", 100, ACCOUNT_OK))
        .await
        .expect("pay by card");
    assert_eq!(by_card.card_token.as_deref(), Some(token.as_str()));
    bank.sim.shutdown().await.expect("shutdown");
}

/// A debit token pays by the card rules: an account ending in 0002 verifies and gets a
/// token, but a payment with it is declined and the bank records that no money moved.
#[tokio::test]
async fn a_debit_token_pays_by_the_card_rules() {
    let bank = spawn_bank().await;
    let verdict = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_INVALID))
        .await
        .expect("verdict");
    assert!(verdict.verified);
    let token = debit_token(&verdict);
    let declined = bank
        .channel
        .pay(pay_token("P-declined", 500, &token))
        .await
        .expect("answer");
    assert_eq!(
        declined.status,
        OrderStatus::Failed {
            reason_code: "CARD_DECLINED".to_string()
        }
    );
    let movements = bank.movements_of("P-declined").await;
    assert_eq!(movements.len(), 1, "{movements:?}");
    assert_eq!(movements[0].status, "FAILED");
    bank.sim.shutdown().await.expect("shutdown");
}

/// The debit token is part of the signed verdict: the kept evidence shows it, and evidence
/// whose token is altered or removed afterwards no longer verifies; a verdict with a token
/// answered under the `bad_signature` fault is refused.
/// req: 5.6.2-d1
#[tokio::test]
async fn the_debit_token_is_signed_with_the_verdict() {
    let bank = spawn_bank().await;
    let verdict = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    let token = debit_token(&verdict);
    let evidence = verdict.evidence.expect("evidence");
    let signed_token = format!(r#""debit_token":"{token}""#);
    assert!(evidence.body.contains(&signed_token), "{}", evidence.body);
    assert!(signing::verify_evidence(bank.sim.public_key(), &evidence));
    for altered in [
        evidence.body.replace(&token, "tok_someone_else"),
        evidence.body.replace(&format!(",{signed_token}"), ""),
    ] {
        assert_ne!(altered, evidence.body);
        let mut tampered = evidence.clone();
        tampered.body = altered;
        assert!(!signing::verify_evidence(bank.sim.public_key(), &tampered));
    }

    bank.set_fault(serde_json::json!({"mode": "bad_signature"}))
        .await;
    let forged = bank.channel.verify_account(check("V-2", ACCOUNT_OK)).await;
    assert_eq!(forged, Err(ChannelError::BadSignature));
    bank.sim.shutdown().await.expect("shutdown");
}

/// An account the bank does not know is not verified, with `ACCOUNT_UNKNOWN`.
#[tokio::test]
async fn an_unknown_account_is_not_verified() {
    let bank = spawn_bank().await;
    let verdict = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_UNKNOWN))
        .await
        .expect("verdict");
    assert!(!verdict.verified);
    assert_eq!(verdict.reason.as_deref(), Some("ACCOUNT_UNKNOWN"));
    assert_eq!(verdict.masked_account, "621700*********0044");
    assert_eq!(verdict.debit_token, None);
    assert!(verdict.evidence.is_some());
    bank.sim.shutdown().await.expect("shutdown");
}

/// An account held by someone else is not verified, with `NAME_MISMATCH`.
#[tokio::test]
async fn an_account_of_someone_else_is_a_name_mismatch() {
    let bank = spawn_bank().await;
    let verdict = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_NAME_MISMATCH))
        .await
        .expect("verdict");
    assert!(!verdict.verified);
    assert_eq!(verdict.reason.as_deref(), Some("NAME_MISMATCH"));
    assert_eq!(verdict.debit_token, None);
    bank.sim.shutdown().await.expect("shutdown");
}

/// A verdict whose signature does not verify (the `bad_signature` fault), or that is signed
/// by a key other than the bank's, is refused as BadSignature; kept evidence whose body is
/// altered afterwards no longer verifies.
/// req: 5.6.2-d1
#[tokio::test]
async fn a_tampered_or_forged_verdict_is_refused() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "bad_signature"}))
        .await;
    let tampered = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_NAME_MISMATCH))
        .await;
    assert_eq!(tampered, Err(ChannelError::BadSignature));

    let misled = HttpChannel::new(
        &bank.sim.base_url(),
        bank.merchant_key(),
        Sm2PrivateKey::generate().expect("key").public_key().clone(),
        MERCHANT,
        TIMEOUT_LONG,
    )
    .expect("channel");
    let forged = misled.verify_account(check("V-2", ACCOUNT_OK)).await;
    assert_eq!(forged, Err(ChannelError::BadSignature));

    let verdict = bank
        .channel
        .verify_account(check("V-3", ACCOUNT_NAME_MISMATCH))
        .await
        .expect("verdict");
    let mut evidence = verdict.evidence.expect("evidence");
    assert!(signing::verify_evidence(bank.sim.public_key(), &evidence));
    evidence.body = evidence
        .body
        .replace(r#""verified":false"#, r#""verified":true"#);
    assert!(!signing::verify_evidence(bank.sim.public_key(), &evidence));
    bank.sim.shutdown().await.expect("shutdown");
}

/// The verify request is signed like the others: a body other than the one signed and a
/// replayed nonce are refused, and a malformed request is refused without echoing the
/// account number.
/// req: 5.6.2-d1
#[tokio::test]
async fn verify_requests_are_authenticated_like_the_others() {
    let bank = spawn_bank().await;
    let key = bank.merchant_key();
    let body = verify_json("V-1", ACCOUNT_OK);
    let altered = verify_json("V-1", ACCOUNT_NAME_MISMATCH);
    let nonce = signing::new_nonce().expect("nonce");
    let (status, _, answer) = bank
        .raw(verify_request(&key, &nonce, &body, Some(&altered)))
        .await;
    assert_eq!(
        (status, refusal_code(&answer).as_str()),
        (401, "SIGNATURE_INVALID")
    );
    let (status, _, _) = bank.raw(verify_request(&key, &nonce, &body, None)).await;
    assert_eq!(status, 200);
    let (status, _, answer) = bank.raw(verify_request(&key, &nonce, &body, None)).await;
    assert_eq!(
        (status, refusal_code(&answer).as_str()),
        (401, "NONCE_REPLAYED")
    );

    let bad_luhn = "6217001234567890123";
    let malformed = verify_json("V-2", bad_luhn);
    let nonce = signing::new_nonce().expect("nonce");
    let (status, _, answer) = bank
        .raw(verify_request(&key, &nonce, &malformed, None))
        .await;
    assert_eq!(status, 400);
    assert_eq!(refusal_code(&answer), "BAD_REQUEST");
    let answer = String::from_utf8(answer).expect("utf-8");
    assert!(!answer.contains(&bad_luhn[6..15]), "{answer}");
    bank.sim.shutdown().await.expect("shutdown");
}

/// Faults apply to checks too: `fail` answers not verified with `CHANNEL_FAULT`, `drop`
/// gives Timeout, and the check retried afterwards gets the bank's real verdict.
#[tokio::test]
async fn faults_apply_to_checks_and_a_retry_is_safe() {
    let bank = spawn_bank().await;
    bank.set_fault(serde_json::json!({"mode": "fail"})).await;
    let failed = bank
        .channel
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert!(!failed.verified);
    assert_eq!(failed.reason.as_deref(), Some("CHANNEL_FAULT"));
    assert_eq!(failed.debit_token, None);

    bank.set_fault(serde_json::json!({"mode": "drop"})).await;
    let impatient = bank.channel_with_timeout(TIMEOUT_SHORT);
    let dropped = impatient.verify_account(check("V-1", ACCOUNT_OK)).await;
    assert_eq!(dropped, Err(ChannelError::Timeout));

    let retried = impatient
        .verify_account(check("V-1", ACCOUNT_OK))
        .await
        .expect("verdict");
    assert!(retried.verified);
    debit_token(&retried);
    assert!(bank.ledger().await.is_empty());
    bank.sim.shutdown().await.expect("shutdown");
}

/// Debug of a check shows every element masked: no full or middle digits of the account,
/// no full ID or mobile number, no given name.
/// req: 5.6.4.1
#[test]
fn a_check_shows_no_personal_data_in_debug() {
    let check = check("V-1", ACCOUNT_OK);
    for debug in [format!("{check:?}"), format!("{check:#?}")] {
        for secret in [ACCOUNT_OK, &ACCOUNT_OK[6..15], ID_NUMBER, MOBILE, "三丰"] {
            assert!(!debug.contains(secret), "{secret} in {debug}");
        }
        assert!(debug.contains("621700*********0122"), "{debug}");
        assert!(debug.contains("138****8000"), "{debug}");
        assert!(debug.contains("1****************3"), "{debug}");
    }
}
