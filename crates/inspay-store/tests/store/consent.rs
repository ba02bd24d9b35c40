//! Consent, on every configured database.

use crate::support::{create_account, initialised, stores};
use inspay_identity::consent::{ConsentError, Notice, NoticePurpose};
use inspay_identity::login_name::LoginName;
use std::collections::BTreeMap;

const T0: i64 = 1_800_000_000_000;

fn notice() -> Notice {
    Notice {
        version: "2026-11".into(),
        purposes: vec![
            NoticePurpose {
                id: "policy-administration".into(),
                required: true,
            },
            NoticePurpose {
                id: "marketing-sms".into(),
                required: false,
            },
            NoticePurpose {
                id: "product-analytics".into(),
                required: false,
            },
        ],
    }
}

fn choices(pairs: &[(&str, bool)]) -> BTreeMap<String, bool> {
    pairs
        .iter()
        .map(|(id, granted)| (id.to_string(), *granted))
        .collect()
}

/// Consent needs an explicit answer for every purpose of the notice; optional purposes can be
/// refused and the service goes on; a required one cannot be refused.
/// req: 6.1.5, 6.1.3
#[test]
fn consent_is_explicit_granular_and_not_forced() {
    let notice = notice();
    let missing = notice.accept(&choices(&[("policy-administration", true)]));
    assert_eq!(missing, Err(ConsentError::Missing("marketing-sms".into())));
    let refused = notice.accept(&choices(&[
        ("policy-administration", false),
        ("marketing-sms", false),
        ("product-analytics", false),
    ]));
    assert!(matches!(refused, Err(ConsentError::RequiredRefused(_))));
    let unknown = notice.accept(&choices(&[("share-with-partners", true)]));
    assert!(matches!(unknown, Err(ConsentError::Unknown(_))));
    let minimal = notice
        .accept(&choices(&[
            ("policy-administration", true),
            ("marketing-sms", false),
            ("product-analytics", false),
        ]))
        .expect("optional purposes may be refused");
    assert_eq!(minimal.iter().filter(|(_, granted)| *granted).count(), 1);
}

/// Decisions are recorded against the notice version (kept by the SM3 digest of its text) and
/// audited; a withdrawal is recorded and becomes the current state.
/// req: 6.1.4
#[tokio::test]
async fn consent_is_recorded_versioned_and_withdrawable() {
    for test in stores().await {
        let master = initialised(&test).await;
        let ring = test.store.keyring_load(&master).await.expect("ring");
        let store = &test.store;
        let name = LoginName::customer("13812345678").expect("mobile");
        let id = create_account(store, &ring, &name, "Tea-Kettle-Orbit-42", false, T0).await;
        store
            .notice_publish("2026-11", "隐私政策 ... full text", T0)
            .await
            .expect("publish");
        store
            .notice_publish("2026-11", "隐私政策 ... full text", T0)
            .await
            .expect("same text again");
        assert!(
            store
                .notice_publish("2026-11", "a different text", T0)
                .await
                .is_err(),
            "a version is immutable"
        );
        let answer = notice()
            .accept(&choices(&[
                ("policy-administration", true),
                ("marketing-sms", true),
                ("product-analytics", false),
            ]))
            .expect("valid");
        store
            .consent_record(&id, "2026-11", &answer, "r", T0 + 1)
            .await
            .expect("record");
        let current = store.consent_current(&id).await.expect("current");
        assert_eq!(current.get("marketing-sms"), Some(&true), "{}", test.label);
        store
            .consent_withdraw(&id, "marketing-sms", "r", T0 + 2)
            .await
            .expect("withdraw");
        let current = store.consent_current(&id).await.expect("current");
        assert_eq!(current.get("marketing-sms"), Some(&false));
        assert_eq!(current.get("policy-administration"), Some(&true));
        let actions: Vec<String> = store
            .audit_entries(0, 10_000)
            .await
            .expect("audit")
            .into_iter()
            .map(|e| e.action)
            .collect();
        assert!(
            actions.contains(&"consent.record".to_string())
                && actions.contains(&"consent.withdraw".to_string())
        );
    }
}
