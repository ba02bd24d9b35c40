//! Recovery (issue 5 item 7; clauses 5.3.4, 5.3.5.2): `inspay serve` is killed with SIGKILL at
//! random moments, twenty times, and restarted each time on the same database (SQLite, or
//! PostgreSQL when `INSPAY_TEST_POSTGRES_URL` is set), while customers pay premiums by card
//! through the SDK and, beside them, claims are approved and refunds granted (written to the
//! database as staff would, so the server's outbox must send their payouts and refunds to the
//! bank across the kills). The bank (`inspay channel-sim`) runs in its own process
//! throughout. Afterwards every payment, payout and refund has settled, the ledger balances,
//! the audit chain verifies, no payment the server acknowledged is missing, and every movement
//! at the bank is matched by exactly one succeeded payment, payout or refund in inspay, and
//! the reverse: nothing was lost and nothing was applied twice.

use inspay_core::calendar::date_at_ms;
use inspay_core::funds::ChannelOutcome;
use inspay_core::funds::Decision;
use inspay_core::ids::{PaymentId, PolicyId};
use inspay_core::money::Amount;
use inspay_core::money::Money;
use inspay_core::policy::{PaymentFrequency, ProductTerms};
use inspay_core::sensitive::{CardNumber, IdNumber, LegalName, MobileNumber};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_identity::session::SessionPolicy;
use inspay_kms::{MasterKey, MasterKeySource};
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::funds::{
    BeginPayment, NewClaim, NewDecision, NewPayoutAccount, NewProduct, NewRefund, PartySignature,
    PaymentMethod, RefundReason, SettleOrder,
};
use inspay_store::keys::{Actor, RotationPolicy};
use inspay_store::persons::NewPerson;
use inspay_store::{PoolSettings, Store};
use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "kill-recovery",
};
/// Kills, as the issue asks.
const KILLS: usize = 20;
/// Customers paying at once.
const CUSTOMERS: usize = 6;
const CARD: &str = "6222021234567890128";

/// The database every process of the test uses.
static DATABASE_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A child process, killed when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn inspay(dir: &Path, key_file: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_inspay"));
    command
        .env("INSPAY__DATA_DIR", dir)
        .env("INSPAY__MASTER_KEY__SOURCE", "file")
        .env("INSPAY__MASTER_KEY__FILE", key_file)
        .env(
            "INSPAY__DATABASE_URL",
            DATABASE_URL.get().expect("database chosen"),
        )
        .env("INSPAY__LOG__FILTER", "error")
        .env_remove("INSPAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

/// Whether something answers HTTP on this port with this status.
fn answers(url: &str, ca: Option<&Path>) -> bool {
    let mut command = Command::new("curl");
    command.args([
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code}",
        "--max-time",
        "2",
    ]);
    if let Some(ca) = ca {
        command.arg("--cacert").arg(ca);
    }
    command
        .arg(url)
        .output()
        .map(|output| output.stdout == b"200")
        .unwrap_or(false)
}

fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(90);
    while !ready() {
        assert!(Instant::now() < deadline, "{what} did not become ready");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A fresh PostgreSQL database when `INSPAY_TEST_POSTGRES_URL` is set (CI's PostgreSQL run),
/// else the SQLite file in `dir`.
fn database_url(dir: &Path) -> String {
    let Ok(base) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        return format!("sqlite://{}/inspay.db?mode=rwc", dir.display());
    };
    let name = format!("inspay_test_kill_{}_{}", std::process::id(), free_port());
    let status = Command::new("psql")
        .arg(&base)
        .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "create database");
    let (server, _) = base.rsplit_once('/').expect("URL ends in /DATABASE");
    format!("{server}/{name}")
}

fn start_server(dir: &Path, key_file: &Path, port: u16, bank: &str) -> Process {
    let child = inspay(dir, key_file)
        .arg("serve")
        .env("INSPAY__LISTEN__ADDRESS", format!("127.0.0.1:{port}"))
        .env("INSPAY__PAYMENTS__CHANNEL__URL", bank)
        .env(
            "INSPAY__PAYMENTS__CHANNEL__PUBLIC_KEY_FILE",
            dir.join("bank.pub.pem"),
        )
        .env("INSPAY__PAYMENTS__CHANNEL__TIMEOUT_MS", "500")
        // The bank here accepts nothing late (loopback, no delays): a short window and resolve
        // delay let the outbox settle unanswered payments within seconds.
        .env("INSPAY__PAYMENTS__CHANNEL__ACCEPTANCE_WINDOW_S", "1")
        .env("INSPAY__PAYMENTS__RESOLVE_AFTER_MS", "1000")
        .env("INSPAY__PAYMENTS__WORKER_INTERVAL_MS", "200")
        .env("INSPAY__PAYMENTS__PREMIUM_PAYMENTS_PER_DAY_MAX", "1000")
        .env("INSPAY__PAYMENTS__PREMIUM_PER_DAY_FEN_MAX", "100000000000")
        .env("INSPAY__PROTECTION__ACCOUNT_PER_MINUTE", "1000000")
        .env("INSPAY__PROTECTION__IP_PER_MINUTE", "1000000")
        .spawn()
        .expect("inspay serve starts");
    let process = Process(child);
    let ca = dir.join("dev-tls/ca.pem");
    let url = format!("https://localhost:{port}/health/ready");
    wait_until("the server", || ca.exists() && answers(&url, Some(&ca)));
    process
}

struct Customer {
    session: String,
    policy_id: String,
    account_id: String,
    payout_account_id: String,
}

/// Payout accounts: most pay out; one in three ends in 0002, which the bank refuses, so the
/// compensation path (back to claims payable) runs under the kills too.
const PAYOUT_ACCOUNTS: [&str; 3] = [
    "6217001234567890122",
    "6222021234567890128",
    "6222021234567070002",
];

/// The application, a monthly product of small premiums, and customers whose first premium
/// is recorded paid, each with a session, made directly in the store.
async fn prepare(store: &Store, master: &MasterKey, app_key: &Sm2PrivateKey) -> Vec<Customer> {
    store
        .kms_initialise(
            master,
            &RotationPolicy::default(),
            WHO,
            inspay_store::now_ms(),
        )
        .await
        .expect("keys");
    let keyring = store.keyring_load(master).await.expect("keyring");
    store
        .client_app_register(
            &NewClientApp {
                id: "kill-test",
                name: "kill test",
                class: AppClass::FundTransaction,
                public_key: app_key.public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            WHO,
            inspay_store::now_ms(),
        )
        .await
        .expect("app");
    let terms = ProductTerms::new(
        Amount::from_fen(100_000_000).expect("cover"),
        Amount::from_fen(12_345).expect("premium"),
        PaymentFrequency::Monthly,
        600,
        30,
    )
    .expect("terms");
    let product = store
        .product_create(
            &keyring,
            &NewProduct {
                code: "KILL-M".into(),
                name: "Kill test monthly".into(),
                terms,
            },
            WHO.actor,
            WHO.request_id,
            inspay_store::now_ms(),
        )
        .await
        .expect("product");
    let hash = SecretHash::new(SecretKind::LoginPassword, b"unused", ITERATIONS_MIN).expect("hash");
    let mut customers = vec![];
    for index in 0..CUSTOMERS {
        let now = inspay_store::now_ms();
        let person = store
            .person_insert(
                &keyring,
                &NewPerson {
                    legal_name: LegalName::parse("张三丰").expect("name"),
                    mobile: MobileNumber::parse(&format!("1370000{index:04}")).expect("mobile"),
                    id_number: IdNumber::parse("11010519491231002X").expect("id"),
                },
                WHO,
                now,
            )
            .await
            .expect("person");
        let account = store
            .account_create(
                &keyring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &LoginName::customer(&format!("1370000{index:04}")).expect("login"),
                    person_id: Some(&person),
                    password: &hash,
                    must_change_password: false,
                },
                WHO,
                now,
            )
            .await
            .expect("account");
        let (session, _) = store
            .session_start(
                &account,
                "two-factor",
                &SessionPolicy::default(),
                "kill",
                now,
            )
            .await
            .expect("session");
        let (policy, _) = store
            .policy_apply(
                &keyring,
                &account,
                &product.id,
                date_at_ms(now),
                "kill",
                now,
            )
            .await
            .expect("policy");
        let first = store
            .payment_begin(
                &keyring,
                BeginPayment {
                    policy_id: &policy.id,
                    number: 1,
                    account_id: &account,
                    method: PaymentMethod::Card {
                        masked: "622202*********0128".into(),
                    },
                    resolve_at_ms: now + 3_600_000,
                },
                "kill",
                now,
            )
            .await
            .expect("first premium");
        let settled = SettleOrder {
            outcome: ChannelOutcome::Succeeded,
            channel_ref: None,
            failure_code: None,
            evidence: None,
        };
        store
            .payment_settle(&keyring, &first.id, &settled, None, "kill", now)
            .await
            .expect("first premium paid");
        let number = CardNumber::parse(PAYOUT_ACCOUNTS[index % PAYOUT_ACCOUNTS.len()])
            .expect("payout account");
        let payout_account = store
            .payout_account_add(
                &keyring,
                NewPayoutAccount {
                    account_id: &account,
                    number: &number,
                    verification_ref: "kill-check",
                    evidence: None,
                    debit_token: None,
                },
                "kill",
                now,
            )
            .await
            .expect("payout account");
        customers.push(Customer {
            session: session.expose().to_string(),
            policy_id: policy.id.to_string(),
            account_id: account,
            payout_account_id: payout_account.id,
        });
    }
    customers
}

/// One customer paying renewal after renewal until told to stop; returns the ids of the
/// payments the server acknowledged as succeeded (201).
async fn pay_renewals(
    client: inspay_sdk::Client,
    customer: Customer,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let mut acknowledged = vec![];
    let mut number = 2u32;
    while !stop.load(Ordering::Relaxed) && number <= 600 {
        let request = client
            .post(format!(
                "/v1/policies/{}/premiums/{number}/pay",
                customer.policy_id
            ))
            .session(&customer.session)
            .idempotent()
            .json(&serde_json::json!({ "card_number": CARD, "expiry": "12/30", "cvv": "123" }));
        let Ok(request) = request else { break };
        match request.send().await {
            Ok(answer) => {
                if answer.status() == 201
                    && let Ok(body) = answer.json::<serde_json::Value>()
                    && let Some(id) = body["id"].as_str()
                {
                    acknowledged.push(id.to_string());
                }
                number += 1;
            }
            // Paid already, or a payment of it still pending: on to the next premium.
            Err(inspay_sdk::Error::Api { code, .. })
                if code == "INSPAY-PAY-002" || code == "INSPAY-PAY-003" =>
            {
                number += 1;
            }
            // The server is down or restarting, or refused for a passing reason: again.
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    acknowledged
}

/// Staff working beside the customers until told to stop: a claim approved for one customer
/// after another (each starts a payout), and a goodwill refund of a renewal the bank took.
/// Written straight to the database, as the staff routes would; the server's outbox sends
/// them. Returns how many claims and refunds were committed.
async fn staff_work(
    store: Store,
    keyring: Arc<inspay_kms::Keyring>,
    customers: Vec<(String, String, String)>,
    stop: Arc<AtomicBool>,
) -> (usize, usize) {
    let (mut claims, mut refunds) = (0, 0);
    let mut turn = 0usize;
    while !stop.load(Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let (account, policy, payout_account) = &customers[turn % customers.len()];
        turn += 1;
        let now = inspay_store::now_ms();
        let Ok(policy_id) = PolicyId::parse(policy) else {
            continue;
        };
        let key = format!("kill-claim-{turn}");
        let filed = store
            .claim_file(
                &keyring,
                NewClaim {
                    policy_id: &policy_id,
                    claimant: account,
                    claimed: Amount::from_fen(1_000).expect("amount"),
                    incident_on: date_at_ms(now),
                    description: "kill test",
                    payout_account_id: payout_account,
                    idempotency_key: &key,
                    signature: PartySignature {
                        signer: "device-key:kill".into(),
                        public_key: "04".into(),
                        signature: "MA==".into(),
                    },
                    today: date_at_ms(now),
                },
                "kill",
                now,
            )
            .await;
        if let Ok(claim) = filed {
            let decided = store
                .claim_decide(
                    &keyring,
                    NewDecision {
                        claim_id: &claim.id,
                        adjuster: "kill-adjuster",
                        decision: Decision::Approve(Amount::from_fen(1_000).expect("amount")),
                        signature: PartySignature {
                            signer: "staff-key:kill".into(),
                            public_key: "04".into(),
                            signature: "MA==".into(),
                        },
                        large_threshold: Money::from_fen(5_000_000).expect("money"),
                    },
                    "kill",
                    now,
                )
                .await;
            if decided.is_ok() {
                claims += 1;
            }
        }
        if turn.is_multiple_of(2) {
            continue;
        }
        let unrefunded: Option<String> = {
            use sqlx::Row;
            sqlx::query(
                "SELECT p.id FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
                 WHERE p.status = 'succeeded' AND i.number >= 2
                 AND NOT EXISTS (SELECT 1 FROM refunds r WHERE r.payment_id = p.id)
                 ORDER BY p.id LIMIT 1",
            )
            .fetch_optional(store.pool())
            .await
            .ok()
            .flatten()
            .and_then(|row| row.try_get(0).ok())
        };
        let Some(payment_id) = unrefunded.and_then(|id| PaymentId::parse(&id).ok()) else {
            continue;
        };
        let refunded = store
            .refund_request(
                &keyring,
                NewRefund {
                    payment_id: &payment_id,
                    amount: Amount::from_fen(100).expect("amount"),
                    reason: RefundReason::Goodwill,
                    requested_by: "account:kill-staff",
                },
                "kill",
                now,
            )
            .await;
        if refunded.is_ok() {
            refunds += 1;
        }
    }
    (claims, refunds)
}

/// The bank's succeeded orders of one kind (`pay`, `payout`, `refund`), by order id.
fn bank_orders(ledger: &[serde_json::Value], kind: &str) -> HashMap<String, i64> {
    let mut orders = HashMap::new();
    for entry in ledger {
        if entry["kind"] == kind && entry["status"] == "SUCCEEDED" {
            let id = entry["order_id"].as_str().expect("order id").to_string();
            let amount = entry["amount_fen"].as_i64().expect("amount");
            assert!(orders.insert(id, amount).is_none(), "one bank order per id");
        }
    }
    orders
}

/// Our succeeded rows of a query returning (id, amount).
fn ours(
    runtime: &tokio::runtime::Runtime,
    store: &Store,
    sql: &'static str,
) -> HashMap<String, i64> {
    runtime.block_on(async {
        use sqlx::Row;
        sqlx::query(sql)
            .fetch_all(store.pool())
            .await
            .expect("rows")
            .iter()
            .map(|row| (row.try_get(0).expect("id"), row.try_get(1).expect("amount")))
            .collect()
    })
}

fn bank_ledger(bank: &str) -> Vec<serde_json::Value> {
    let output = Command::new("curl")
        .args(["-s", "--max-time", "10"])
        .arg(format!("{bank}/control/ledger"))
        .output()
        .expect("curl");
    serde_json::from_slice::<Vec<serde_json::Value>>(&output.stdout).expect("the bank's ledger")
}

/// The server is killed twenty times under a load of card payments and restarted on the same
/// database each time; then nothing acknowledged is lost, nothing is applied twice, every bank
/// movement matches exactly one payment, the ledger balances and the audit chain verifies.
/// req: 5.3.4, 5.3.5.2, 5.3.1.3
#[test]
fn killed_servers_lose_nothing_and_apply_nothing_twice() {
    let dir = tempfile::tempdir().expect("dir");
    let dir = dir.path();
    let key_file = dir.join("master.key");
    let master = MasterKey::generate(MasterKeySource::File).expect("master");
    std::fs::write(&key_file, format!("{}\n", master.to_hex().as_str())).expect("key file");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("mode");
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let database_url = DATABASE_URL.get_or_init(|| database_url(dir)).clone();
    let store = runtime
        .block_on(Store::connect(&database_url, &PoolSettings::default()))
        .expect("store");
    let app_key = Sm2PrivateKey::generate().expect("app key");
    let customers = runtime.block_on(prepare(&store, &master, &app_key));

    let bank_port = free_port();
    let bank = format!("http://127.0.0.1:{bank_port}");
    let _bank_process = Process(
        inspay(dir, &key_file)
            .arg("channel-sim")
            .arg("--listen")
            .arg(format!("127.0.0.1:{bank_port}"))
            .arg("--key-file")
            .arg(dir.join("bank.key"))
            .arg("--public-key-out")
            .arg(dir.join("bank.pub.pem"))
            .spawn()
            .expect("inspay channel-sim starts"),
    );
    wait_until("the bank", || {
        dir.join("bank.pub.pem").exists() && answers(&format!("{bank}/v1/keys"), None)
    });

    let port = free_port();
    let mut server = start_server(dir, &key_file, port, &bank);
    let ca = std::fs::read_to_string(dir.join("dev-tls/ca.pem")).expect("CA");
    let client = runtime.block_on(async {
        let builder = inspay_sdk::Client::builder(format!("https://localhost:{port}"))
            .app_id("kill-test")
            .key(1, app_key)
            .trust_ca_pem(&ca)
            .expect("CA")
            .retry(inspay_sdk::RetryPolicy::none())
            .timeout(Duration::from_secs(5));
        let keys = builder.fetch_server_keys().await.expect("server keys");
        builder.server_keys(&keys).build().expect("client")
    });
    let stop = Arc::new(AtomicBool::new(false));
    let keyring = Arc::new(
        runtime
            .block_on(store.keyring_load(&master))
            .expect("keyring"),
    );
    let staff = runtime.spawn(staff_work(
        store.clone(),
        Arc::clone(&keyring),
        customers
            .iter()
            .map(|c| {
                (
                    c.account_id.clone(),
                    c.policy_id.clone(),
                    c.payout_account_id.clone(),
                )
            })
            .collect(),
        stop.clone(),
    ));
    let payers: Vec<_> = customers
        .into_iter()
        .map(|customer| runtime.spawn(pay_renewals(client.clone(), customer, stop.clone())))
        .collect();

    // Kill at pseudo-random moments (a fixed seed: a failure can be replayed).
    let mut seed: u64 = 0x5DEE_CE66_D1CE_4E5B;
    for _ in 0..KILLS {
        seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        let wait_ms = 250 + (seed >> 33) % 900;
        std::thread::sleep(Duration::from_millis(wait_ms));
        drop(server);
        server = start_server(dir, &key_file, port, &bank);
    }
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let acknowledged: Vec<String> = payers
        .into_iter()
        .flat_map(|payer| runtime.block_on(payer).expect("payer"))
        .collect();
    let (claims, refunds) = runtime.block_on(staff).expect("staff");

    // The outbox of the last server settles whatever the kills left pending.
    let pending = |store: &Store| -> i64 {
        runtime.block_on(async {
            use sqlx::Row;
            sqlx::query(
                "SELECT (SELECT COUNT(*) FROM payments WHERE status = 'pending')
                      + (SELECT COUNT(*) FROM payouts WHERE status = 'pending')
                      + (SELECT COUNT(*) FROM refunds WHERE status = 'pending')",
            )
            .fetch_one(store.pool())
            .await
            .expect("count")
            .try_get(0)
            .expect("count")
        })
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while pending(&store) > 0 {
        assert!(
            Instant::now() < deadline,
            "payments, payouts or refunds still pending a minute after the last restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    drop(server);

    let ledger = runtime
        .block_on(store.ledger_check(&keyring))
        .expect("ledger");
    assert!(ledger.is_sound(), "{ledger:?}");
    let audit = runtime
        .block_on(store.audit_verify(None, |_| {}))
        .expect("audit");
    assert!(audit.is_intact(), "the audit chain: {audit:?}");

    // Our succeeded renewals, payouts and refunds against the bank's succeeded orders, one
    // for one.
    let ledger_at_bank = bank_ledger(&bank);
    let ours_paid = ours(
        &runtime,
        &store,
        "SELECT p.id, p.amount_fen FROM payments p JOIN premium_instalments i ON i.id = p.instalment_id
         WHERE p.status = 'succeeded' AND i.number >= 2",
    );
    assert_eq!(
        ours_paid,
        bank_orders(&ledger_at_bank, "pay"),
        "every payment at the bank is one succeeded payment, and the reverse"
    );
    let ours_payouts = ours(
        &runtime,
        &store,
        "SELECT id, amount_fen FROM payouts WHERE status = 'succeeded'",
    );
    assert_eq!(
        ours_payouts,
        bank_orders(&ledger_at_bank, "payout"),
        "every payout at the bank is one succeeded payout, and the reverse"
    );
    let ours_refunds = ours(
        &runtime,
        &store,
        "SELECT id, amount_fen FROM refunds WHERE status = 'succeeded'",
    );
    assert_eq!(
        ours_refunds,
        bank_orders(&ledger_at_bank, "refund"),
        "every refund at the bank is one succeeded refund, and the reverse"
    );
    let ours = ours_paid;
    for id in &acknowledged {
        assert!(
            ours.contains_key(id),
            "acknowledged payment {id} is missing"
        );
    }
    assert!(
        ours.len() >= KILLS,
        "the load paid too little to mean anything: {} payments",
        ours.len()
    );
    assert!(
        claims > 0 && refunds > 0 && !ours_payouts.is_empty(),
        "the staff made too few payouts and refunds to mean anything: {claims} claims, \
         {refunds} refunds"
    );
    println!(
        "{KILLS} kills: {} renewals paid ({} acknowledged with 201), {claims} claims approved \
         ({} paid out), {refunds} refunds ({} at the bank); ledger and bank agree",
        ours.len(),
        acknowledged.len(),
        ours_payouts.len(),
        ours_refunds.len()
    );
}
