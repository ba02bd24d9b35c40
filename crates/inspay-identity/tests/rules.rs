//! The identity rules, without a server: hashing, password policy, gestures, codes, lockout.

use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber, TransactionPassword};
use inspay_identity::gesture::{Gesture, GestureError};
use inspay_identity::lockout::{FailureState, LockoutPolicy};
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_identity::password_policy::{
    LoginPasswordPolicy, PasswordRejection, PersonalData, check_transaction_password,
};
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind, verify_dummy};

/// Secrets are stored as PBKDF2-HMAC-SM3 hashes with a fresh salt, tagged with algorithm, kind
/// and cost; the right secret verifies, any other does not; a cost below the minimum is refused.
/// req: 5.2.2.1-a
#[test]
fn secrets_are_stored_as_slow_salted_hashes() {
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        b"Correct-Horse-9",
        ITERATIONS_MIN,
    )
    .expect("hash");
    let text = hash.to_text();
    assert!(
        text.starts_with("pbkdf2-hmac-sm3:login-password:i=100000:"),
        "{text}"
    );
    assert!(!text.contains("Correct-Horse-9"));
    let parsed = SecretHash::parse(&text).expect("parse");
    assert!(parsed.verify(b"Correct-Horse-9"));
    assert!(!parsed.verify(b"Correct-Horse-8"));
    let again = SecretHash::new(
        SecretKind::LoginPassword,
        b"Correct-Horse-9",
        ITERATIONS_MIN,
    )
    .expect("hash");
    assert_ne!(again.to_text(), text, "a fresh salt every time");
    assert!(SecretHash::new(SecretKind::LoginPassword, b"x", ITERATIONS_MIN - 1).is_err());
    assert!(SecretHash::parse("md5:login-password:i=1:AAAA:AAAA").is_err());
    assert!(!verify_dummy(
        SecretKind::LoginPassword,
        b"Correct-Horse-9",
        ITERATIONS_MIN
    ));
    assert!(!format!("{hash:?}").contains(&text[40..]));
}

/// Factors are independent: the same secret hashed as two kinds gives unrelated hashes, and
/// one kind's hash never verifies as another's.
/// req: 5.2.1.1-b
#[test]
fn factor_hashes_are_independent() {
    let login =
        SecretHash::new(SecretKind::LoginPassword, b"860714", ITERATIONS_MIN).expect("hash");
    let payment =
        SecretHash::new(SecretKind::TransactionPassword, b"860714", ITERATIONS_MIN).expect("hash");
    let login_text = login.to_text();
    let payment_text = payment.to_text();
    let login_digest = login_text.rsplit(':').next().expect("digest");
    let payment_digest = payment_text.rsplit(':').next().expect("digest");
    assert_ne!(login_digest, payment_digest);
    let swapped = payment_text.replacen("transaction-password", "login-password", 1);
    assert!(
        !SecretHash::parse(&swapped)
            .expect("parse")
            .verify(b"860714")
    );
}

fn person() -> (LegalName, MobileNumber, IdNumber) {
    (
        LegalName::parse("Zhang Wei").expect("name"),
        MobileNumber::parse("13812345678").expect("mobile"),
        IdNumber::parse("11010519491231002X").expect("id"),
    )
}

/// Login passwords are checked on the server: length, classes, common and leaked passwords
/// (including Chinese-leak favourites), the person's own data, and an estimated strength.
/// req: 5.2.4.1, 5.2.4.3
#[test]
fn login_password_policy() {
    let (name, mobile, id) = person();
    let personal = PersonalData {
        name: Some(&name),
        mobile: Some(&mobile),
        id_number: Some(&id),
        username: None,
    };
    let policy = LoginPasswordPolicy::default();
    let cases = [
        ("Ab1!", PasswordRejection::TooShort),
        (&"Ab1!".repeat(17) as &str, PasswordRejection::TooLong),
        ("alllowercase1", PasswordRejection::TooFewClasses),
        ("P@ssw0rd", PasswordRejection::Common),
        ("Woaini1314", PasswordRejection::Common),
        ("Qq5201314", PasswordRejection::Common),
        ("Wei!13812345678", PasswordRejection::PersonalData),
        ("Birth@19491231x", PasswordRejection::PersonalData),
        ("Zhang-Is-Strong-9", PasswordRejection::PersonalData),
        ("Aaaaaaaa1!", PasswordRejection::TooWeak),
    ];
    for (password, expected) in cases {
        assert_eq!(
            policy.check(password, &personal),
            Err(expected),
            "{password}"
        );
    }
    for strong in ["Tea-Kettle-Orbit-42", "l1ght#House&Moor", "凤凰Nest!2049x"] {
        assert_eq!(policy.check(strong, &personal), Ok(()), "{strong}");
    }
    assert!(policy.is_within_catalogue());
    assert!(
        !LoginPasswordPolicy {
            chars_min: 6,
            ..policy
        }
        .is_within_catalogue()
    );
}

/// Transaction passwords: no repeats or runs, not the birthday or a piece of the mobile or ID
/// number, and never the same as the login password.
/// req: 5.2.4.1, 5.2.1.1-b
#[test]
fn transaction_password_policy() {
    let (name, mobile, id) = person();
    let personal = PersonalData {
        name: Some(&name),
        mobile: Some(&mobile),
        id_number: Some(&id),
        username: None,
    };
    let check = |digits: &str, login: Option<&str>| {
        check_transaction_password(
            &TransactionPassword::parse(digits).expect("digits"),
            login,
            &personal,
        )
    };
    assert_eq!(
        check("111111", None),
        Err(PasswordRejection::TransactionTrivial)
    );
    assert_eq!(
        check("654321", None),
        Err(PasswordRejection::TransactionTrivial)
    );
    assert_eq!(check("491231", None), Err(PasswordRejection::PersonalData));
    assert_eq!(
        check("345678", None),
        Err(PasswordRejection::TransactionTrivial)
    );
    assert_eq!(check("235678", None), Ok(()));
    assert!(TransactionPassword::parse("31002x").is_err(), "not digits");
    assert_eq!(
        check("860715", Some("860715")),
        Err(PasswordRejection::SameAsLoginPassword)
    );
    assert_eq!(check("860715", Some("Tea-Kettle-Orbit-42")), Ok(()));
}

/// Gesture patterns connect at least 4 points of the 3x3 grid, each once, without jumping
/// over an unvisited point; the pattern never shows in `Debug`.
/// req: 5.2.1.1-d1
#[test]
fn gesture_patterns() {
    for good in [
        "1-2-3-6",
        "1236",
        "2,4,8,6",
        "1-5-9-6-3",
        "2-1-3-5",
        "7-4-1-2-3-6-9-8-5",
    ] {
        assert!(Gesture::parse(good).is_ok(), "{good}");
    }
    let cases = [
        ("1-2-3", GestureError::TooShort),
        ("1-2-1-4", GestureError::Repeated),
        ("1-3-5-7", GestureError::Jump),
        ("2-4-6-8", GestureError::Jump),
        ("1-9-5-2", GestureError::Jump),
        ("1-2-3-0", GestureError::Malformed),
        ("a-b-c-d", GestureError::Malformed),
    ];
    for (bad, expected) in cases {
        assert_eq!(Gesture::parse(bad), Err(expected), "{bad}");
    }
    let gesture = Gesture::parse("2-1-3-5").expect("valid: 2 is visited before 1-3");
    assert_eq!(gesture.canonical().as_str(), "2135");
    assert_eq!(format!("{gesture:?}"), "Gesture([REDACTED])");
}

/// SMS codes are 6 digits drawn uniformly from the CSPRNG, never shown by `Debug`, and their
/// message names the purpose and the validity.
/// req: 5.2.1.1-d2
#[test]
fn one_time_codes() {
    let mut counts = [0u32; 10];
    for _ in 0..5_000 {
        let code = OneTimeCode::generate().expect("code");
        assert_eq!(code.expose().len(), 6);
        for digit in code.expose().bytes() {
            counts[usize::from(digit - b'0')] += 1;
        }
    }
    // 30,000 digits: each should appear about 3,000 times; a skewed generator fails this.
    assert!(
        counts.iter().all(|count| (2_600..=3_400).contains(count)),
        "{counts:?}"
    );
    let code = OneTimeCode::parse(" 042917 ").expect("typed code");
    assert_eq!(format!("{code:?}"), "OneTimeCode([REDACTED])");
    let message = code.message(OtpPurpose::PasswordReset, 300);
    assert!(
        message.contains("042917") && message.contains("重置密码") && message.contains("5分钟")
    );
    assert!(OneTimeCode::parse("12345").is_err() && OneTimeCode::parse("12345a").is_err());
}

/// Three consecutive failures lock the account for 30 minutes; failures while locked do not
/// extend the lock; a success resets the count; a policy allowing more than 3 is refused.
/// req: 5.2.3.1
#[test]
fn lockout_after_three_failures() {
    let policy = LockoutPolicy::default();
    policy.validate().expect("default is within the catalogue");
    let now = 1_800_000_000;
    let mut state = FailureState::default();
    for attempt in 1..=2 {
        state = state.after_failure(&policy, now + attempt);
        assert!(!state.is_locked(now + attempt));
    }
    state = state.after_failure(&policy, now + 3);
    assert!(state.is_locked(now + 3));
    assert_eq!(state.locked_until_s, Some(now + 3 + 30 * 60));
    let during = state.after_failure(&policy, now + 60);
    assert_eq!(during, state, "a failure while locked changes nothing");
    assert!(!state.is_locked(now + 3 + 30 * 60));
    let after = state.after_failure(&policy, now + 3 + 30 * 60);
    assert_eq!(
        (after.consecutive, after.is_locked(now + 3 + 30 * 60)),
        (1, false)
    );
    assert_eq!(after.after_success(), FailureState::default());
    assert!(
        LockoutPolicy {
            failures_max: 4,
            ..policy
        }
        .validate()
        .is_err()
    );
    assert!(
        LockoutPolicy {
            lock_s: 10,
            ..policy
        }
        .validate()
        .is_err()
    );
}
