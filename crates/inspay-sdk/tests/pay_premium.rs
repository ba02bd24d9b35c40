//! The `pay_premium` example's flow, run against a real server with the simulated bank: the
//! SDK signs in a customer, applies for a policy and pays its first premium, end to end.

#[path = "../examples/pay_premium/flow.rs"]
#[allow(dead_code)]
mod flow;

use flow::{Card, Challenges};
use inspay_core::calendar::{date_at_ms, date_text};
use inspay_core::money::Amount;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_identity::captcha::CaptchaAnswer;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_sdk::{Client, Sm2PrivateKey};
use inspay_server::state::AppState;
use inspay_server::{Application, Settings};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::funds::NewProduct;
use inspay_store::keys::Actor;
use inspay_store::persons::NewPerson;

const APP_ID: &str = "sdk-example-app";
const MOBILE: &str = "13812340001";
const PASSWORD: &str = "Harbor!Lamp7Violet";
const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "sdk-example",
};

/// The test answers what a person would: it swaps in CAPTCHAs whose answer it knows, reads
/// codes from the development outbox, and moves the server's clock instead of sleeping.
struct Harness {
    state: AppState,
    dir: std::path::PathBuf,
}

impl Challenges for Harness {
    fn captcha(&mut self, _id: &str, png: &[u8]) -> (String, String) {
        assert!(png.starts_with(b"\x89PNG"), "the server draws a PNG");
        let answer = CaptchaAnswer::parse("ACDEF").expect("answer");
        let id = futures_block(self.state.store.captcha_issue(
            &self.state.keyring(),
            &answer,
            self.state.now_ms(),
        ))
        .expect("captcha");
        (id, "acdef".into())
    }

    fn sms_code(&mut self, _purpose: &str) -> String {
        let entries = inspay_server::sms::outbox_read(&self.dir).expect("outbox");
        let text = entries
            .iter()
            .rev()
            .find(|entry| entry.to.ends_with(&MOBILE[3..]))
            .map(|entry| entry.text.to_string())
            .expect("a text to the customer");
        let digits: Vec<char> = text.chars().collect();
        digits
            .windows(6)
            .find(|window| window.iter().all(char::is_ascii_digit))
            .map(|window| window.iter().collect())
            .expect("a six-digit code")
    }

    async fn wait(&mut self, seconds: u64) {
        self.state
            .advance_clock(i64::try_from(seconds).expect("small") * 1000);
    }
}

/// Runs a future to completion from synchronous code inside the test's runtime.
fn futures_block<F: std::future::Future>(future: F) -> F::Output {
    tokio::task::block_in_place(|| tokio::runtime::Handle::current().block_on(future))
}

async fn customer(state: &AppState) {
    let keyring = state.keyring();
    let now = state.now_ms();
    let person_id = state
        .store
        .person_insert(
            &keyring,
            &NewPerson {
                legal_name: LegalName::parse("张三丰").expect("name"),
                mobile: MobileNumber::parse(MOBILE).expect("mobile"),
                id_number: IdNumber::parse("11010519491231002X").expect("id"),
            },
            WHO,
            now,
        )
        .await
        .expect("person");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    state
        .store
        .account_create(
            &keyring,
            &NewAccount {
                population: Population::Customer,
                login_name: &LoginName::customer(MOBILE).expect("login"),
                person_id: Some(&person_id),
                password: &hash,
                must_change_password: false,
            },
            WHO,
            now,
        )
        .await
        .expect("account");
}

/// The documented example pays a first premium through the SDK: sign-in with two factors, a
/// policy application, a step-up and a card payment whose fields travel encrypted; the policy
/// is then active and the books balance.
/// req: 5.6.2-c, 5.2.2.1-c, 5.1-b, 5.3.1.3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_pays_a_first_premium() {
    let dir = tempfile::tempdir().expect("dir");
    let mut settings = Settings {
        data_dir: dir.path().to_path_buf(),
        database_url: String::new(),
        ..Settings::default()
    };
    settings.listen.address = "127.0.0.1:0".parse().expect("address");
    let app = Application::build(settings).await.expect("server builds");
    let ca_pem = std::fs::read_to_string(app.development_ca.clone().expect("CA")).expect("CA PEM");
    let url = format!("https://localhost:{}", app.address().port());
    let state = app.state().clone();
    tokio::spawn(app.run());
    let key = Sm2PrivateKey::generate().expect("key");
    state
        .store
        .client_app_register(
            &NewClientApp {
                id: APP_ID,
                name: "SDK example",
                class: AppClass::FundTransaction,
                public_key: key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            WHO,
            state.now_ms(),
        )
        .await
        .expect("register");
    customer(&state).await;
    let terms = ProductTerms::new(
        Amount::from_fen(50_000_000).expect("cover"),
        Amount::from_fen(36_500).expect("premium"),
        PaymentFrequency::Yearly,
        12,
        30,
    )
    .expect("terms");
    state
        .store
        .product_create(
            &state.keyring(),
            &NewProduct {
                code: "TERM-1Y".into(),
                name: "Term life 1y".into(),
                terms,
            },
            "operator:test",
            "sdk-example",
            state.now_ms(),
        )
        .await
        .expect("product");

    let builder = Client::builder(&url)
        .app_id(APP_ID)
        .key(1, key)
        .trust_ca_pem(&ca_pem)
        .expect("CA");
    let keys = builder.fetch_server_keys().await.expect("server keys");
    let client = builder.server_keys(&keys).build().expect("client");
    let mut harness = Harness {
        state: state.clone(),
        dir: dir.path().to_path_buf(),
    };
    let card = Card {
        number: "6222021234567890128".into(),
        expiry: "12/30".into(),
        cvv: "123".into(),
    };
    let today = date_text(date_at_ms(state.now_ms()));
    let policy = flow::pay_first_premium(
        &client,
        MOBILE,
        PASSWORD,
        "TERM-1Y",
        &today,
        &card,
        &mut harness,
    )
    .await
    .expect("the example's flow");
    assert_eq!(policy["status"], "active", "{policy}");
    assert_eq!(policy["premiums"][0]["status"], "paid");
    assert_eq!(policy["payments"][0]["card"], "622202*********0128");
    assert!(!policy.to_string().contains(&card.number));
    let report = state
        .store
        .ledger_check(&state.keyring())
        .await
        .expect("ledger");
    assert!(report.is_sound(), "{report:?}");
    assert_eq!(report.debits_fen, 2 * 36_500, "one premium, in and applied");
}
