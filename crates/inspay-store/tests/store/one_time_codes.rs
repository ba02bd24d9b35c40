//! SMS one-time codes at rest, on every configured database.

use crate::support::{initialised, stores};
use inspay_core::sensitive::MobileNumber;
use inspay_identity::otp::{OneTimeCode, OtpPurpose};
use inspay_store::one_time_codes::{CodeCheck, IssueRefused, OtpPolicy};
use sqlx::Row;

const T0: i64 = 1_800_000_000_000;
const SECOND: i64 = 1_000;

/// A code is accepted once, only for its purpose and binding, only within 300 s, and only
/// within 5 tries; it is stored as a keyed MAC, never in clear.
/// req: 5.2.1.1-d2
#[tokio::test]
async fn codes_are_single_use_bound_expiring_and_limited() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let policy = OtpPolicy::default();
        let mobile = MobileNumber::parse("13812345678").expect("mobile");
        let issue = |purpose, binding: &'static str, at| {
            let (ring, mobile) = (&ring, &mobile);
            async move {
                store
                    .otp_issue(ring, mobile, purpose, binding, &policy, at)
                    .await
                    .expect("issue")
                    .expect("not rate limited")
            }
        };
        let code = issue(OtpPurpose::Login, "session-1", T0).await;
        let stored: String = sqlx::query("SELECT code_mac FROM one_time_codes")
            .fetch_one(store.pool())
            .await
            .expect("row")
            .try_get(0)
            .expect("mac");
        assert!(
            stored.starts_with("hmac-sm3:v1:") && !stored.contains(code.expose()),
            "{stored}"
        );
        let check = |purpose, binding: &'static str, typed: &OneTimeCode, at| {
            let ring = &ring;
            let typed = typed.clone();
            async move {
                store
                    .otp_check(ring, purpose, binding, &typed, &policy, at)
                    .await
                    .expect("check")
            }
        };
        assert_eq!(
            check(OtpPurpose::PasswordReset, "session-1", &code, T0 + SECOND).await,
            CodeCheck::NoLiveCode
        );
        assert_eq!(
            check(OtpPurpose::Login, "session-2", &code, T0 + SECOND).await,
            CodeCheck::NoLiveCode
        );
        assert_eq!(
            check(OtpPurpose::Login, "session-1", &code, T0 + SECOND).await,
            CodeCheck::Accepted,
            "{}",
            test.label
        );
        assert_eq!(
            check(OtpPurpose::Login, "session-1", &code, T0 + 2 * SECOND).await,
            CodeCheck::NoLiveCode,
            "single use"
        );

        let late = issue(OtpPurpose::StepUp, "op-1", T0 + 100 * SECOND).await;
        assert_eq!(
            check(OtpPurpose::StepUp, "op-1", &late, T0 + 400 * SECOND).await,
            CodeCheck::NoLiveCode,
            "expired"
        );

        let guessed = issue(OtpPurpose::ChangeMobile, "op-2", T0 + 200 * SECOND).await;
        let wrong = OneTimeCode::parse(if guessed.expose() == "000000" {
            "111111"
        } else {
            "000000"
        })
        .expect("code");
        for _ in 0..5 {
            assert_eq!(
                check(OtpPurpose::ChangeMobile, "op-2", &wrong, T0 + 201 * SECOND).await,
                CodeCheck::Wrong
            );
        }
        assert_eq!(
            check(
                OtpPurpose::ChangeMobile,
                "op-2",
                &guessed,
                T0 + 202 * SECOND
            )
            .await,
            CodeCheck::NoLiveCode,
            "out of tries: even the right code is refused"
        );
    }
}

/// Sends to one number are limited to one per 60 seconds and ten per 24 hours.
/// req: 5.2.1.1-d2
#[tokio::test]
async fn sends_are_rate_limited_per_number() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let policy = OtpPolicy::default();
        let mobile = MobileNumber::parse("13812345678").expect("mobile");
        let other = MobileNumber::parse("13987654321").expect("mobile");
        let mut now = T0;
        for send in 0..10 {
            let issued = test
                .store
                .otp_issue(&ring, &mobile, OtpPurpose::Login, "s", &policy, now)
                .await
                .expect("issue");
            assert!(issued.is_ok(), "{}: send {send}", test.label);
            let again = test
                .store
                .otp_issue(
                    &ring,
                    &mobile,
                    OtpPurpose::Login,
                    "s",
                    &policy,
                    now + 30 * SECOND,
                )
                .await
                .expect("issue");
            assert_eq!(
                again.err(),
                Some(IssueRefused::RateLimited { retry_after_s: 31 })
            );
            now += 61 * SECOND;
        }
        let eleventh = test
            .store
            .otp_issue(&ring, &mobile, OtpPurpose::Login, "s", &policy, now)
            .await
            .expect("issue");
        assert!(
            matches!(eleventh, Err(IssueRefused::RateLimited { .. })),
            "ten per day"
        );
        let elsewhere = test
            .store
            .otp_issue(&ring, &other, OtpPurpose::Login, "s2", &policy, now)
            .await
            .expect("issue");
        assert!(elsewhere.is_ok(), "limits are per number");
        let next_day = test
            .store
            .otp_issue(
                &ring,
                &mobile,
                OtpPurpose::Login,
                "s",
                &policy,
                T0 + 86_400 * SECOND + SECOND,
            )
            .await
            .expect("issue");
        assert!(next_day.is_ok());
    }
}

/// Spent and expired codes, and send records older than the day the limit counts, are purged;
/// a live code and today's sends stay (clauses 5.2.1.1-d2, 6.1.3).
/// req: 5.2.1.1-d2, 6.1.3
#[tokio::test]
async fn spent_codes_and_old_sends_are_purged() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let policy = OtpPolicy::default();
        let old = MobileNumber::parse("13812345678").expect("mobile");
        let live = MobileNumber::parse("13912345678").expect("mobile");
        store
            .otp_issue(&ring, &old, OtpPurpose::Login, "flow-old", &policy, T0)
            .await
            .expect("issue")
            .expect("not limited");
        let later = T0 + 86_400 * SECOND + 10 * SECOND;
        store
            .otp_issue(&ring, &live, OtpPurpose::Login, "flow-live", &policy, later)
            .await
            .expect("issue")
            .expect("not limited");
        let count = |table: &'static str| async move {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}")))
                .fetch_one(store.pool())
                .await
                .expect("count");
            row.try_get::<i64, _>(0).expect("n")
        };
        assert_eq!(count("one_time_codes").await, 2);
        assert_eq!(count("sms_sends").await, 2);
        let purged = store.otp_purge(later + SECOND).await.expect("purge");
        assert_eq!(purged, 2, "{}: the old code and the old send", test.label);
        assert_eq!(count("one_time_codes").await, 1, "the live code stays");
        assert_eq!(count("sms_sends").await, 1, "today's send stays");
    }
}
