//! Parsing, masking and redaction of personal and payment-sensitive values.

use inspay_core::sensitive::{
    CardExpiry, CardNumber, CardPin, Cvv, Exposed, IdNumber, LegalName, MobileNumber,
    PersonalField, SensitiveParseError, TransactionPassword,
};

const CARD: &str = "6222021234567890128";
const ID: &str = "11010519491231002X";
const MOBILE: &str = "13812345678";

/// Display masking follows the catalogue: card first 6 and last 4, mobile first 3 and last 4,
/// ID number first 1 and last 1, legal name surname only.
/// req: 5.6.4.1
#[test]
fn masking_rules_follow_the_catalogue() {
    let card = CardNumber::parse("6222 0212 3456 7890 128").expect("card");
    assert_eq!(card.masked().as_str(), "622202*********0128");
    assert_eq!(card.last_four(), "0128");
    let mobile = MobileNumber::parse("+86 138-1234-5678").expect("mobile");
    assert_eq!(mobile.expose(), MOBILE);
    assert_eq!(mobile.masked().as_str(), "138****5678");
    let id = IdNumber::parse("11010519491231002x").expect("id");
    assert_eq!(id.expose(), ID);
    assert_eq!(id.masked().as_str(), "1****************X");
    assert_eq!(id.birth_date(), "19491231");
    assert_eq!(
        LegalName::parse("张三丰").expect("name").masked().as_str(),
        "张**"
    );
    assert_eq!(
        LegalName::parse("欧阳 娜娜")
            .expect("name")
            .masked()
            .as_str(),
        "欧阳 **"
    );
    assert_eq!(
        LegalName::parse("Zhang  San")
            .expect("name")
            .masked()
            .as_str(),
        "Zhang ***"
    );
    assert_eq!(
        LegalName::parse("买买提·艾力")
            .expect("name")
            .masked()
            .as_str(),
        "买买提·**"
    );
}

/// `Debug` of a personal value shows only its masked form; of a payment-sensitive value,
/// nothing at all. Neither can reach a log line in full.
/// req: 5.6.1-a5
#[test]
fn debug_output_never_holds_the_full_value() {
    let card = CardNumber::parse(CARD).expect("card");
    let mobile = MobileNumber::parse(MOBILE).expect("mobile");
    let id = IdNumber::parse(ID).expect("id");
    let name = LegalName::parse("张三丰").expect("name");
    let debug = format!("{card:?} {mobile:?} {id:?} {name:?}");
    for full in [CARD, MOBILE, ID, "三丰"] {
        assert!(!debug.contains(full), "{debug}");
    }
    let cvv = Cvv::parse("123").expect("cvv");
    let expiry = CardExpiry::parse("12/29").expect("expiry");
    let pin = CardPin::parse("987123").expect("pin");
    let password = TransactionPassword::parse("860714").expect("password");
    let debug = format!("{cvv:?} {expiry:?} {pin:?} {password:?}");
    assert_eq!(
        debug,
        "Cvv([REDACTED]) CardExpiry([REDACTED]) CardPin([REDACTED]) TransactionPassword([REDACTED])"
    );
}

/// Input is parsed into a domain type at the edge; malformed values are refused with an
/// error that names the field but never echoes its content.
/// req: 5.6.1-c
#[test]
fn malformed_values_are_refused_without_echoing_them() {
    let cases: Vec<(Result<(), SensitiveParseError>, &str)> = vec![
        (
            CardNumber::parse("6222021234567890127").map(drop),
            "6222021234567890127",
        ),
        (CardNumber::parse("62220212345").map(drop), "62220212345"),
        (
            CardNumber::parse("6222a21234567890128").map(drop),
            "6222a21234567890128",
        ),
        (MobileNumber::parse("12812345678").map(drop), "12812345678"),
        (MobileNumber::parse("1381234567").map(drop), "1381234567"),
        (
            IdNumber::parse("110105194912310021").map(drop),
            "110105194912310021",
        ),
        (
            IdNumber::parse("11010519491331002X").map(drop),
            "11010519491331002X",
        ),
        (LegalName::parse("Robert'); DROP TABLE").map(drop), "DROP"),
        (LegalName::parse("").map(drop), ""),
        (Cvv::parse("12").map(drop), "12"),
        (CardExpiry::parse("13/29").map(drop), "13/29"),
        (TransactionPassword::parse("12345a").map(drop), "12345a"),
    ];
    for (result, raw) in cases {
        let error = result.expect_err(raw);
        if !raw.is_empty() {
            assert!(!error.to_string().contains(raw), "{error}");
        }
    }
    assert!(matches!(
        CardNumber::parse("6222021234567890127"),
        Err(SensitiveParseError::CheckDigit(_))
    ));
}

/// Trivial transaction passwords (repeats and runs) are recognised.
/// req: 5.2.4.1
#[test]
fn trivial_transaction_passwords_are_recognised() {
    for trivial in ["111111", "123456", "654321", "000000", "456789"] {
        assert!(
            TransactionPassword::parse(trivial)
                .expect("digits")
                .is_trivial(),
            "{trivial}"
        );
    }
    for fine in ["860714", "135790", "112233"] {
        assert!(
            !TransactionPassword::parse(fine)
                .expect("digits")
                .is_trivial(),
            "{fine}"
        );
    }
}

/// A personal value parsed back after decryption equals the original.
#[test]
fn personal_fields_round_trip_through_their_stored_form() {
    let card = CardNumber::parse(CARD).expect("card");
    let again = <CardNumber as PersonalField>::parse(card.expose()).expect("again");
    assert_eq!(card, again);
}
