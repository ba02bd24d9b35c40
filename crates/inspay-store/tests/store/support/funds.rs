//! Shared fixtures of the fund tests: a keyring, a customer and a product, and short ways to
//! apply for a policy, pay and settle a premium, and check the ledger.

use super::{TestStore, create_account, initialised};
use inspay_core::funds::ChannelOutcome;
use inspay_core::ledger::{AccountKind, AccountRef};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_identity::login_name::LoginName;
use inspay_kms::Keyring;
use inspay_store::Store;
use inspay_store::funds::{
    BeginPayment, FundsError, NewProduct, Payment, PaymentMethod, Product, SettleOrder,
};

pub const NOW_MS: i64 = 1_800_000_000_000;
pub const MASKED: &str = "622202******0128";

pub fn fen(value: i64) -> Amount {
    Amount::from_fen(value).expect("positive")
}

pub struct Fixture {
    pub keyring: std::sync::Arc<Keyring>,
    pub customer: String,
    pub product: Product,
}

pub async fn fixture(test: &TestStore, frequency: PaymentFrequency, months: u32) -> Fixture {
    let master = initialised(test).await;
    let keyring = test.store.keyring_load(&master).await.expect("keyring");
    let name = LoginName::customer("13800138000").expect("mobile");
    let customer = create_account(&test.store, &keyring, &name, "pw", false, NOW_MS).await;
    let terms =
        ProductTerms::new(fen(50_000_000), fen(36_500), frequency, months, 30).expect("terms");
    let product = test
        .store
        .product_create(
            &keyring,
            &NewProduct {
                code: "TERM-1".into(),
                name: "Term life".into(),
                terms,
            },
            "operator:test",
            "req-product",
            NOW_MS,
        )
        .await
        .expect("product");
    Fixture {
        keyring: std::sync::Arc::new(keyring),
        customer,
        product,
    }
}

pub async fn begin(
    store: &Store,
    f: &Fixture,
    policy: &inspay_core::ids::PolicyId,
    number: u32,
) -> Result<Payment, FundsError> {
    store
        .payment_begin(
            &f.keyring,
            BeginPayment {
                policy_id: policy,
                number,
                account_id: &f.customer,
                method: PaymentMethod::Card {
                    masked: MASKED.into(),
                },
                resolve_at_ms: NOW_MS + 30_000,
            },
            "req-pay",
            NOW_MS,
        )
        .await
}

pub fn answer(outcome: ChannelOutcome) -> SettleOrder {
    SettleOrder {
        outcome,
        channel_ref: Some("CH-1".into()),
        failure_code: match outcome {
            ChannelOutcome::Failed => Some("CARD_DECLINED".into()),
            ChannelOutcome::Succeeded => None,
        },
        evidence: None,
    }
}

pub async fn apply_on(
    store: &Store,
    f: &Fixture,
    start: time::Date,
) -> inspay_store::funds::Policy {
    store
        .policy_apply(&f.keyring, &f.customer, &f.product.id, start, "r", NOW_MS)
        .await
        .expect("apply")
        .0
}

pub async fn settle(
    store: &Store,
    f: &Fixture,
    payment: &inspay_core::ids::PaymentId,
    outcome: ChannelOutcome,
) {
    store
        .payment_settle(&f.keyring, payment, &answer(outcome), None, "r", NOW_MS)
        .await
        .expect("settle");
}

pub async fn assert_sound(store: &Store, keyring: &Keyring, label: &str) {
    let report = store.ledger_check(keyring).await.expect("check");
    assert!(report.is_sound(), "{label}: {report:?}");
    assert_eq!(report.debits_fen, report.credits_fen, "{label}");
}

pub async fn balance(store: &Store, kind: AccountKind, customer: Option<&str>) -> i64 {
    let account = match customer {
        Some(customer) => AccountRef::customer(kind, customer),
        None => AccountRef::insurer(kind),
    }
    .expect("account");
    store.ledger_balance(&account).await.expect("balance")
}
