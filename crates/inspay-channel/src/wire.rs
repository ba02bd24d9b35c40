//! The JSON bodies of the channel protocol, shared by the client and the simulator.
//!
//! The request bodies carry card and account details in clear (inside the signed, and in
//! production TLS-protected, request), so their wire structs hold them in `Zeroizing` strings
//! and have no `Debug`. Serialised bodies are kept in `Zeroizing` buffers too; the copy the
//! HTTP stack makes while sending is outside our control.

use crate::error::ChannelError;
use crate::order::{
    AnswerEvidence, CardDetails, CardToken, ChannelAnswer, OrderId, OrderStatus, PayOrder,
    PaySource, PayoutOrder, RefundOrder, is_token,
};
use crate::verify::{AccountCheck, AccountVerdict};
use inspay_core::sensitive::{
    CardExpiry, CardNumber, Cvv, Exposed, IdNumber, LegalName, MobileNumber, PersonalField,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Why a request body was refused; a fixed text that never echoes the content.
pub(crate) type BodyError = &'static str;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CardWire {
    number: Zeroizing<String>,
    expiry: Zeroizing<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cvv: Option<Zeroizing<String>>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayWire {
    order_id: String,
    amount_fen: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card: Option<CardWire>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    card_token: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PayoutWire {
    order_id: String,
    amount_fen: i64,
    account_number: Zeroizing<String>,
    holder_name: Zeroizing<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundWire {
    order_id: String,
    pay_order_id: String,
    amount_fen: i64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyWire {
    check_id: String,
    account_number: Zeroizing<String>,
    holder_name: Zeroizing<String>,
    id_number: Zeroizing<String>,
    mobile: Zeroizing<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictWire {
    check_id: String,
    verified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
    masked_account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    debit_token: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct AnswerWire {
    order_id: String,
    status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    reason_code: Option<String>,
    #[serde(default)]
    channel_ref: Option<String>,
    amount_fen: i64,
    #[serde(default)]
    card_token: Option<String>,
    #[serde(default)]
    masked_card: Option<String>,
    #[serde(default)]
    settled_on: Option<String>,
}

/// A refusal: the channel's stable code and a message.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct RefusalWire {
    pub(crate) code: String,
    pub(crate) message: String,
}

fn to_body<T: Serialize>(value: &T) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    serde_json::to_vec(value)
        .map(Zeroizing::new)
        .map_err(|_| ChannelError::Local("the request body could not be serialised"))
}

/// The body of a pay request.
pub(crate) fn pay_body(order: &PayOrder) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    let (card, card_token) = match order.source() {
        PaySource::Card(card) => (
            Some(CardWire {
                number: Zeroizing::new(card.number.expose().to_string()),
                expiry: Zeroizing::new(card.expiry.expose().to_string()),
                cvv: card
                    .cvv
                    .as_ref()
                    .map(|cvv| Zeroizing::new(cvv.expose().to_string())),
            }),
            None,
        ),
        PaySource::Token(token) => (None, Some(token.as_str().to_string())),
    };
    to_body(&PayWire {
        order_id: order.order_id().to_string(),
        amount_fen: order.amount_fen(),
        card,
        card_token,
    })
}

/// The body of a payout request.
pub(crate) fn payout_body(order: &PayoutOrder) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    to_body(&PayoutWire {
        order_id: order.order_id().to_string(),
        amount_fen: order.amount_fen(),
        account_number: Zeroizing::new(order.account_number().expose().to_string()),
        holder_name: Zeroizing::new(order.holder_name().expose().to_string()),
    })
}

/// The body of a refund request.
pub(crate) fn refund_body(order: &RefundOrder) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    to_body(&RefundWire {
        order_id: order.order_id().to_string(),
        pay_order_id: order.pay_order_id().to_string(),
        amount_fen: order.amount_fen(),
    })
}

/// The body of an account verification request.
pub(crate) fn verify_body(check: &AccountCheck) -> Result<Zeroizing<Vec<u8>>, ChannelError> {
    to_body(&VerifyWire {
        check_id: check.check_id().to_string(),
        account_number: Zeroizing::new(check.account_number().expose().to_string()),
        holder_name: Zeroizing::new(check.holder_name().expose().to_string()),
        id_number: Zeroizing::new(check.id_number().expose().to_string()),
        mobile: Zeroizing::new(check.mobile().expose().to_string()),
    })
}

fn order_id(text: &str) -> Result<OrderId, BodyError> {
    OrderId::parse(text).map_err(|_| "order_id is not 1 to 64 characters of A-Z a-z 0-9 _ -")
}

/// Reads a pay request.
pub(crate) fn parse_pay(body: &[u8]) -> Result<PayOrder, BodyError> {
    let wire: PayWire = serde_json::from_slice(body).map_err(|_| "not a pay request")?;
    let source = match (wire.card, wire.card_token) {
        (Some(card), None) => PaySource::Card(CardDetails {
            number: CardNumber::parse(&card.number).map_err(|_| "card.number is not valid")?,
            expiry: CardExpiry::parse(&card.expiry).map_err(|_| "card.expiry is not valid")?,
            cvv: match card.cvv {
                Some(cvv) => Some(Cvv::parse(&cvv).map_err(|_| "card.cvv is not valid")?),
                None => None,
            },
        }),
        (None, Some(token)) => {
            PaySource::Token(CardToken::parse(&token).map_err(|_| "card_token is not valid")?)
        }
        _ => return Err("give exactly one of card and card_token"),
    };
    PayOrder::new(order_id(&wire.order_id)?, wire.amount_fen, source)
        .map_err(|_| "amount_fen must be positive")
}

/// Reads a payout request.
pub(crate) fn parse_payout(body: &[u8]) -> Result<PayoutOrder, BodyError> {
    let wire: PayoutWire = serde_json::from_slice(body).map_err(|_| "not a payout request")?;
    let account = CardNumber::parse(&wire.account_number)
        .map_err(|_| "account_number is not a valid card number")?;
    let holder = LegalName::parse(&wire.holder_name).map_err(|_| "holder_name is not valid")?;
    PayoutOrder::new(order_id(&wire.order_id)?, wire.amount_fen, account, holder)
        .map_err(|_| "amount_fen must be positive")
}

/// Reads a refund request.
pub(crate) fn parse_refund(body: &[u8]) -> Result<RefundOrder, BodyError> {
    let wire: RefundWire = serde_json::from_slice(body).map_err(|_| "not a refund request")?;
    RefundOrder::new(
        order_id(&wire.order_id)?,
        order_id(&wire.pay_order_id)?,
        wire.amount_fen,
    )
    .map_err(|_| "amount_fen must be positive and pay_order_id another order")
}

/// Reads an account verification request.
pub(crate) fn parse_verify(body: &[u8]) -> Result<AccountCheck, BodyError> {
    let wire: VerifyWire = serde_json::from_slice(body).map_err(|_| "not a verify request")?;
    let check_id =
        OrderId::parse(&wire.check_id).map_err(|_| "check_id is not 1 to 64 of A-Z a-z 0-9 _ -")?;
    let account = CardNumber::parse(&wire.account_number)
        .map_err(|_| "account_number is not a valid card number")?;
    let holder = LegalName::parse(&wire.holder_name).map_err(|_| "holder_name is not valid")?;
    let id_number = IdNumber::parse(&wire.id_number).map_err(|_| "id_number is not valid")?;
    let mobile = MobileNumber::parse(&wire.mobile).map_err(|_| "mobile is not valid")?;
    Ok(AccountCheck::new(
        check_id, account, holder, id_number, mobile,
    ))
}

/// The body of an account verification answer.
pub(crate) fn verdict_body(verdict: &AccountVerdict) -> Vec<u8> {
    let wire = VerdictWire {
        check_id: verdict.check_id.to_string(),
        verified: verdict.verified,
        reason: verdict.reason.clone(),
        masked_account: verdict.masked_account.clone(),
        debit_token: verdict.debit_token.clone(),
    };
    // Strings and booleans always serialise.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Reads a signed account verification answer, refusing anything outside the documented
/// shape: a reason exactly when not verified, a well-formed debit token exactly when
/// verified, and an account shown masked only.
pub(crate) fn parse_verdict(
    body: &[u8],
    evidence: Option<AnswerEvidence>,
) -> Result<AccountVerdict, ChannelError> {
    let malformed = |what: &str| ChannelError::Protocol(what.to_string());
    let wire: VerdictWire = serde_json::from_slice(body)
        .map_err(|_| malformed("the answer is not an account verdict"))?;
    let reason_ok = match (wire.verified, wire.reason.as_deref()) {
        (true, None) => true,
        (false, Some(reason)) => is_token(reason, 64),
        _ => false,
    };
    if !reason_ok {
        return Err(malformed(
            "a verdict needs a reason code exactly when not verified",
        ));
    }
    let token_ok = match (wire.verified, wire.debit_token.as_deref()) {
        (true, Some(token)) => CardToken::parse(token).is_ok(),
        (false, None) => true,
        _ => false,
    };
    if !token_ok {
        return Err(malformed(
            "a verdict needs a well-formed debit token exactly when verified",
        ));
    }
    if !is_masked_card(&wire.masked_account) {
        return Err(malformed("the verdict's account is not masked"));
    }
    Ok(AccountVerdict {
        check_id: OrderId::parse(&wire.check_id).map_err(|_| malformed("bad check id"))?,
        verified: wire.verified,
        reason: wire.reason,
        masked_account: wire.masked_account,
        debit_token: wire.debit_token,
        evidence,
    })
}

/// The masked form of an account, as verdicts show it.
pub(crate) fn masked_account(account: &CardNumber) -> String {
    account.masked().to_string()
}

/// The body of an answer.
pub(crate) fn answer_body(answer: &ChannelAnswer) -> Vec<u8> {
    let (status, reason_code) = match &answer.status {
        OrderStatus::Succeeded => ("SUCCEEDED", None),
        OrderStatus::Failed { reason_code } => ("FAILED", Some(reason_code.clone())),
        OrderStatus::Processing => ("PROCESSING", None),
        OrderStatus::NotFound => ("NOT_FOUND", None),
    };
    let wire = AnswerWire {
        order_id: answer.order_id.to_string(),
        status: status.to_string(),
        reason_code,
        channel_ref: answer.channel_ref.clone(),
        amount_fen: answer.amount_fen,
        card_token: answer.card_token.clone(),
        masked_card: answer.masked_card.clone(),
        settled_on: answer.settled_on.clone(),
    };
    // Strings and integers always serialise.
    serde_json::to_vec(&wire).unwrap_or_default()
}

/// Whether a masked card shows no more than 6 + 4 digits and hides the rest.
fn is_masked_card(text: &str) -> bool {
    let digits = text.bytes().filter(u8::is_ascii_digit).count();
    text.len() <= 19
        && digits <= 10
        && text.contains('*')
        && text
            .bytes()
            .all(|byte| byte.is_ascii_digit() || byte == b'*')
}

/// Reads a signed answer, refusing anything outside the documented shape.
pub(crate) fn parse_answer(
    body: &[u8],
    evidence: Option<AnswerEvidence>,
) -> Result<ChannelAnswer, ChannelError> {
    let malformed = |what: &str| ChannelError::Protocol(what.to_string());
    let wire: AnswerWire =
        serde_json::from_slice(body).map_err(|_| malformed("the answer is not an order answer"))?;
    let status = match (wire.status.as_str(), wire.reason_code) {
        ("SUCCEEDED", None) => OrderStatus::Succeeded,
        ("FAILED", Some(reason_code)) if is_token(&reason_code, 64) => {
            OrderStatus::Failed { reason_code }
        }
        ("PROCESSING", None) => OrderStatus::Processing,
        ("NOT_FOUND", None) => OrderStatus::NotFound,
        _ => return Err(malformed("unknown status or reason code")),
    };
    let token_ok = |value: &Option<String>| value.as_deref().is_none_or(|text| is_token(text, 64));
    let fields_ok = token_ok(&wire.channel_ref)
        && token_ok(&wire.card_token)
        && wire.masked_card.as_deref().is_none_or(is_masked_card)
        && wire
            .settled_on
            .as_deref()
            .is_none_or(|date| crate::date::BusinessDate::parse(date).is_ok())
        && (0..=crate::order::AMOUNT_FEN_MAX).contains(&wire.amount_fen);
    if !fields_ok {
        return Err(malformed("a field of the answer is out of shape"));
    }
    Ok(ChannelAnswer {
        order_id: OrderId::parse(&wire.order_id).map_err(|_| malformed("bad order id"))?,
        status,
        channel_ref: wire.channel_ref,
        amount_fen: wire.amount_fen,
        card_token: wire.card_token,
        masked_card: wire.masked_card,
        settled_on: wire.settled_on,
        evidence,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_round_trip_and_unmasked_cards_are_refused() {
        let answer = ChannelAnswer {
            order_id: OrderId::parse("P-1").expect("id"),
            status: OrderStatus::Failed {
                reason_code: "CARD_DECLINED".to_string(),
            },
            channel_ref: Some("sim_1".to_string()),
            amount_fen: 100,
            card_token: None,
            masked_card: Some("622202*********0002".to_string()),
            settled_on: None,
            evidence: None,
        };
        let body = answer_body(&answer);
        assert_eq!(parse_answer(&body, None), Ok(answer));
        let leaked = String::from_utf8(body)
            .expect("utf-8")
            .replace("622202*********0002", "6222021234567070002");
        assert!(matches!(
            parse_answer(leaked.as_bytes(), None),
            Err(ChannelError::Protocol(_))
        ));
    }

    #[test]
    fn verdicts_round_trip_and_inconsistent_or_unmasked_ones_are_refused() {
        let verdict = AccountVerdict {
            check_id: OrderId::parse("V-1").expect("id"),
            verified: false,
            reason: Some("NAME_MISMATCH".to_string()),
            masked_account: "621700*********0051".to_string(),
            debit_token: None,
            evidence: None,
        };
        let body = String::from_utf8(verdict_body(&verdict)).expect("utf-8");
        assert_eq!(parse_verdict(body.as_bytes(), None), Ok(verdict));
        for bad in [
            body.replace("621700*********0051", "6217001234000060051"),
            body.replace(r#","reason":"NAME_MISMATCH""#, ""),
            body.replace("false", "true"),
            body.replace("NAME_MISMATCH", "NAME MISMATCH"),
        ] {
            assert!(
                matches!(
                    parse_verdict(bad.as_bytes(), None),
                    Err(ChannelError::Protocol(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_verified_verdict_needs_a_well_formed_debit_token_and_an_unverified_one_none() {
        let verdict = AccountVerdict {
            check_id: OrderId::parse("V-1").expect("id"),
            verified: true,
            reason: None,
            masked_account: "621700*********0122".to_string(),
            debit_token: Some("tok_abc-123".to_string()),
            evidence: None,
        };
        let body = String::from_utf8(verdict_body(&verdict)).expect("utf-8");
        assert!(body.contains(r#""debit_token":"tok_abc-123""#), "{body}");
        assert_eq!(parse_verdict(body.as_bytes(), None), Ok(verdict));
        let unverified = body.replace(
            r#""verified":true"#,
            r#""verified":false,"reason":"NAME_MISMATCH""#,
        );
        let long = format!("tok_{}", "a".repeat(crate::order::CARD_TOKEN_CHARS_MAX));
        for bad in [
            body.replace(r#","debit_token":"tok_abc-123""#, ""),
            body.replace("tok_abc-123", ""),
            body.replace("tok_abc-123", "tok abc"),
            body.replace("tok_abc-123", &long),
            unverified,
        ] {
            assert!(
                matches!(
                    parse_verdict(bad.as_bytes(), None),
                    Err(ChannelError::Protocol(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn verify_requests_need_all_four_elements_well_formed() {
        let good = r#"{"check_id":"V-1","account_number":"6217001234567890122",
            "holder_name":"张三丰","id_number":"110101199003071233","mobile":"13800138000"}"#;
        let check = parse_verify(good.as_bytes()).expect("check");
        assert_eq!(check.account_number().last_four(), "0122");
        for bad in [
            good.replace("110101199003071233", "110101199003071234"),
            good.replace("13800138000", "12800138000"),
            good.replace("6217001234567890122", "6217001234567890123"),
            good.replace(r#","mobile":"13800138000""#, ""),
        ] {
            assert!(parse_verify(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn pay_requests_need_exactly_one_source() {
        let both = br#"{"order_id":"P-1","amount_fen":5,"card_token":"t",
            "card":{"number":"6222021234567890128","expiry":"1230"}}"#;
        assert!(parse_pay(both).is_err());
        assert!(parse_pay(br#"{"order_id":"P-1","amount_fen":5}"#).is_err());
        assert!(parse_pay(br#"{"order_id":"P-1","amount_fen":0,"card_token":"t"}"#).is_err());
        assert!(parse_pay(br#"{"order_id":"P-1","amount_fen":5,"card_token":"t"}"#).is_ok());
    }
}
