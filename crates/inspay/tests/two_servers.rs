//! Two `inspay serve` processes sharing one PostgreSQL database: the sign-in failure count is
//! the database's, so failures at either node add up and the lock holds at both
//! (clause 5.2.3.1); a signed request sent to both at once is served by one only (clause
//! 5.6.2-e). Runs when `INSPAY_TEST_POSTGRES_URL` is set (CI sets it). Requests go through
//! curl, signed as a registered application signs them.

use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
use inspay_crypto::sm2::Sm2PrivateKey;
use inspay_identity::captcha::CaptchaAnswer;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
use inspay_kms::{MasterKey, MasterKeySource};
use inspay_protocol::authorization::SignedHeader;
use inspay_protocol::canonical::CanonicalRequest;
use inspay_store::accounts::{NewAccount, Population};
use inspay_store::client_apps::{AppClass, NewClientApp};
use inspay_store::keys::Actor;
use inspay_store::persons::NewPerson;
use inspay_store::{PoolSettings, Store};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PASSWORD: &str = "Harbor!Lamp7Violet";
const WHO: Actor<'static> = Actor {
    actor: "operator:test",
    request_id: "two-servers",
};

/// A server process, stopped when dropped.
struct Node {
    child: Child,
    port: u16,
    ca: PathBuf,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free port")
}

fn start(dir: &Path, database_url: &str, key_file: &Path) -> Node {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_inspay"))
        .arg("serve")
        .env("INSPAY__DATA_DIR", dir)
        .env("INSPAY__DATABASE_URL", database_url)
        .env("INSPAY__LISTEN__ADDRESS", format!("127.0.0.1:{port}"))
        .env("INSPAY__MASTER_KEY__SOURCE", "file")
        .env("INSPAY__MASTER_KEY__FILE", key_file)
        .env("INSPAY__LOG__FILTER", "warn")
        .env_remove("INSPAY_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("inspay serve starts");
    let node = Node {
        child,
        port,
        ca: dir.join("dev-tls/ca.pem"),
    };
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        if node.ca.exists() && curl(&node, "GET", "/health/ready", None).0 == 200 {
            return node;
        }
        assert!(
            Instant::now() < deadline,
            "node on port {port} did not become ready"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

const APP_ID: &str = "two-servers-app";

/// The test application's key, registered by [`register_app`].
fn app_key() -> &'static Sm2PrivateKey {
    static KEY: OnceLock<Sm2PrivateKey> = OnceLock::new();
    KEY.get_or_init(|| Sm2PrivateKey::generate().expect("key"))
}

async fn register_app(store: &Store) {
    store
        .client_app_register(
            &NewClientApp {
                id: APP_ID,
                name: "Two-server test",
                class: AppClass::FundTransaction,
                public_key: app_key().public_key(),
                tls_fingerprint: None,
                sdk_version_min: None,
            },
            WHO,
            inspay_store::now_ms(),
        )
        .await
        .expect("register the application");
}

/// The Authorization header for a request, signed now with a fresh nonce.
fn authorization(method: &str, path: &str, body: &[u8]) -> String {
    let nonce: String = inspay_crypto::random::bytes::<16>()
        .expect("random")
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let now_s = inspay_store::now_ms() / 1000;
    let canonical = CanonicalRequest::new(method, path, now_s, &nonce, body).expect("canonical");
    SignedHeader::sign(app_key(), APP_ID, 1, &canonical)
        .expect("sign")
        .format()
}

/// Status and body of a request, through curl (a separate client process, real TLS), signed
/// unless it is a health probe.
fn curl(node: &Node, method: &str, path: &str, body: Option<&serde_json::Value>) -> (u16, String) {
    let body = body.map(serde_json::Value::to_string);
    let header = (!path.starts_with("/health/"))
        .then(|| authorization(method, path, body.as_deref().unwrap_or("").as_bytes()));
    curl_with(node, method, path, body.as_deref(), header.as_deref())
}

/// A request with exactly this body and Authorization header.
fn curl_with(
    node: &Node,
    method: &str,
    path: &str,
    body: Option<&str>,
    authorization: Option<&str>,
) -> (u16, String) {
    let mut command = Command::new("curl");
    command
        .args([
            "-s",
            "-o",
            "-",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            "--cacert",
        ])
        .arg(&node.ca)
        .arg(format!("https://localhost:{}{path}", node.port));
    if let Some(value) = authorization {
        command.arg("-H").arg(format!("authorization: {value}"));
    }
    if let Some(body) = body {
        command
            .args(["-H", "content-type: application/json", "--data-binary"])
            .arg(body);
    }
    let output = command.output().expect("curl runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

fn fresh_database(base: &str) -> String {
    let name = format!("inspay_test_{}", std::process::id()) + &format!("_{}", free_port());
    let status = Command::new("psql")
        .arg(base)
        .args(["-q", "-c", &format!("CREATE DATABASE {name}")])
        .status()
        .expect("psql runs");
    assert!(status.success(), "create database");
    let (server, _) = base.rsplit_once('/').expect("URL ends in /DATABASE");
    format!("{server}/{name}")
}

async fn customer(store: &Store, master: &MasterKey, mobile: &str) -> String {
    let keyring = store.keyring_load(master).await.expect("keyring");
    let person_id = store
        .person_insert(
            &keyring,
            &NewPerson {
                legal_name: LegalName::parse("张三丰").expect("name"),
                mobile: MobileNumber::parse(mobile).expect("mobile"),
                id_number: IdNumber::parse("11010519491231002X").expect("id"),
            },
            WHO,
            inspay_store::now_ms(),
        )
        .await
        .expect("person");
    let hash = SecretHash::new(
        SecretKind::LoginPassword,
        PASSWORD.as_bytes(),
        ITERATIONS_MIN,
    )
    .expect("hash");
    store
        .account_create(
            &keyring,
            &NewAccount {
                population: Population::Customer,
                login_name: &LoginName::customer(mobile).expect("login"),
                person_id: Some(&person_id),
                password: &hash,
                must_change_password: false,
            },
            WHO,
            inspay_store::now_ms(),
        )
        .await
        .expect("account")
}

async fn captcha(store: &Store, master: &MasterKey) -> serde_json::Value {
    let keyring = store.keyring_load(master).await.expect("keyring");
    let answer = CaptchaAnswer::parse("ACDEF").expect("answer");
    let id = store
        .captcha_issue(&keyring, &answer, inspay_store::now_ms())
        .await
        .expect("captcha");
    serde_json::json!({ "id": id, "answer": "ACDEF" })
}

/// What a client needs to encrypt its sensitive fields: a field nonce and the server's
/// field-transport key.
struct Sealer {
    nonce: String,
    serial: u32,
    key: inspay_crypto::sm2::Sm2PublicKey,
}

impl Sealer {
    fn seal(&self, field: &str, value: &str) -> String {
        inspay_protocol::fields::seal(&self.key, self.serial, &self.nonce, field, value)
            .expect("seal")
    }
}

async fn sealer(store: &Store, master: &MasterKey) -> Sealer {
    let keyring = store.keyring_load(master).await.expect("keyring");
    let (serial, key) = keyring.transport_public_key().expect("transport key");
    let (nonce, _) = store
        .field_nonce_issue(APP_ID, inspay_store::now_ms())
        .await
        .expect("field nonce");
    Sealer {
        nonce,
        serial,
        key: key.clone(),
    }
}

fn attempt(
    node: &Node,
    sealer: Sealer,
    mobile: &str,
    password: &str,
    captcha: Option<serde_json::Value>,
) -> (u16, String) {
    let mut body = serde_json::json!({
        "login_name": sealer.seal("login_name", mobile),
        "password": sealer.seal("password", password),
    });
    if let Some(captcha) = captcha {
        body["captcha"] = captcha;
    }
    curl(node, "POST", "/v1/sign-in", Some(&body))
}

/// Failures at two nodes count as one sequence; the third locks the account at both, and the
/// lock holds even for the right password; concurrent failures at both nodes are counted
/// exactly, never more than the lock threshold.
/// req: 5.2.3.1, 5.2.3.2, 5.2.3.3
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lockout_holds_across_two_server_processes() {
    let Ok(base) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        eprintln!("skipped: INSPAY_TEST_POSTGRES_URL is not set");
        return;
    };
    let database_url = fresh_database(&base);
    let shared = tempfile::tempdir().expect("dir");
    let key_file = shared.path().join("master.key");
    let master = MasterKey::generate(MasterKeySource::File).expect("master");
    std::fs::write(&key_file, format!("{}\n", master.to_hex().as_str())).expect("key file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("mode");
    }
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let node_a = start(dir_a.path(), &database_url, &key_file);
    let node_b = start(dir_b.path(), &database_url, &key_file);
    let store = Store::connect(&database_url, &PoolSettings::default())
        .await
        .expect("store");
    register_app(&store).await;

    // One after another, alternating nodes.
    let mobile = "13912345670";
    let account = customer(&store, &master, mobile).await;
    let (status, first) = attempt(
        &node_a,
        sealer(&store, &master).await,
        mobile,
        "Wrong!Password9x",
        None,
    );
    assert_eq!(status, 401, "{first}");
    let (status, body) = attempt(
        &node_b,
        sealer(&store, &master).await,
        mobile,
        "Wrong!Password9x",
        None,
    );
    assert_eq!(
        status, 422,
        "node B knows about node A's failure: a CAPTCHA first: {body}"
    );
    let (status, _) = attempt(
        &node_b,
        sealer(&store, &master).await,
        mobile,
        "Wrong!Password9x",
        Some(captcha(&store, &master).await),
    );
    assert_eq!(status, 401);
    let failures = store.account_failures(&account).await.expect("failures");
    assert_eq!(failures.consecutive, 2);
    let (status, _) = attempt(
        &node_a,
        sealer(&store, &master).await,
        mobile,
        "Wrong!Password9x",
        Some(captcha(&store, &master).await),
    );
    assert_eq!(status, 401);
    let failures = store.account_failures(&account).await.expect("failures");
    assert!(
        failures.locked_until_s.is_some(),
        "locked after three failures at two nodes"
    );
    for node in [&node_a, &node_b] {
        let (status, body) = attempt(
            node,
            sealer(&store, &master).await,
            mobile,
            PASSWORD,
            Some(captcha(&store, &master).await),
        );
        assert_eq!(status, 401, "the lock holds at every node");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&body).expect("json")["code"],
            serde_json::from_str::<serde_json::Value>(&first).expect("json")["code"],
            "the locked answer is the wrong-password answer"
        );
    }

    // Concurrently at both nodes: exactly three counted, then locked.
    let mobile = "13912345671";
    let account = customer(&store, &master, mobile).await;
    let mut captchas = vec![];
    for _ in 0..8 {
        captchas.push((
            captcha(&store, &master).await,
            sealer(&store, &master).await,
        ));
    }
    let (node_a, node_b) = (std::sync::Arc::new(node_a), std::sync::Arc::new(node_b));
    let handles: Vec<_> = captchas
        .into_iter()
        .enumerate()
        .map(|(i, (captcha, sealer))| {
            let node = if i % 2 == 0 {
                node_a.clone()
            } else {
                node_b.clone()
            };
            std::thread::spawn(move || {
                attempt(&node, sealer, mobile, "Wrong!Password9x", Some(captcha)).0
            })
        })
        .collect();
    for handle in handles {
        assert_eq!(handle.join().expect("thread"), 401);
    }
    let failures = store.account_failures(&account).await.expect("failures");
    assert_eq!(
        failures.consecutive, 3,
        "counted exactly, never past the threshold"
    );
    assert!(failures.locked_until_s.is_some());
    store.close().await;
}

/// A signed request sent to two server processes on one PostgreSQL at the same moment is
/// served by exactly one of them; the other answers "nonce replayed". Twenty rounds, each with
/// a fresh nonce.
/// req: 5.6.2-e
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_both_accept_one_signed_request() {
    let Ok(base) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
        eprintln!("skipped: INSPAY_TEST_POSTGRES_URL is not set");
        return;
    };
    let database_url = fresh_database(&base);
    let shared = tempfile::tempdir().expect("dir");
    let key_file = shared.path().join("master.key");
    let master = MasterKey::generate(MasterKeySource::File).expect("master");
    std::fs::write(&key_file, format!("{}\n", master.to_hex().as_str())).expect("key file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).expect("mode");
    }
    let (dir_a, dir_b) = (
        tempfile::tempdir().expect("a"),
        tempfile::tempdir().expect("b"),
    );
    let node_a = std::sync::Arc::new(start(dir_a.path(), &database_url, &key_file));
    let node_b = std::sync::Arc::new(start(dir_b.path(), &database_url, &key_file));
    let store = Store::connect(&database_url, &PoolSettings::default())
        .await
        .expect("store");
    register_app(&store).await;

    let body = serde_json::json!({ "legal_name": "Wang Wei" }).to_string();
    for round in 0..20 {
        let header = authorization("POST", "/v1/validate", body.as_bytes());
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = [node_a.clone(), node_b.clone()]
            .into_iter()
            .map(|node| {
                let (header, body, barrier) = (header.clone(), body.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    curl_with(&node, "POST", "/v1/validate", Some(&body), Some(&header))
                })
            })
            .collect();
        let mut answers: Vec<(u16, String)> = handles
            .into_iter()
            .map(|handle| handle.join().expect("thread"))
            .collect();
        answers.sort();
        assert_eq!(
            answers[0].0, 200,
            "round {round}: one node serves it: {answers:?}"
        );
        assert_eq!(answers[1].0, 401, "round {round}: {answers:?}");
        assert!(
            answers[1].1.contains("INSPAY-SIG-009"),
            "round {round}: the other answers nonce replayed: {}",
            answers[1].1
        );
    }
    store.close().await;
}
