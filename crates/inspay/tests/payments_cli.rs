//! The payment commands as an operator uses them, against a real data directory: products
//! (add, list, the amount and term rules), the ledger (check, balances, statement, and the
//! tamper detection that makes `ledger check` exit 1) and the simulated bank `channel-sim`.

mod support;

use inspay_core::ledger::Transfer;
use inspay_core::money::Amount;
use inspay_crypto::sm2::Sm2PublicKey;
use inspay_kms::{MasterKey, MasterKeySource};
use inspay_store::ledger::{Subject, post};
use inspay_store::{PoolSettings, Store};
use sqlx::{Connection, Row};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use support::cli::{command, database_url, execute, inspay, runtime, text};

/// Posts a premium received from `customer` through the store, as the payment flow does;
/// returns the transfer id. The data directory must hold the development master key (any
/// command that loads the keys has made it).
fn post_premium(dir: &Path, customer: &str, yuan: &str) -> String {
    runtime().block_on(async {
        let store = Store::connect(&database_url(dir), &PoolSettings::default())
            .await
            .expect("store");
        let text = std::fs::read_to_string(dir.join("dev-master.key")).expect("master key");
        let master = MasterKey::from_text(&text, MasterKeySource::Development).expect("master");
        let keyring = store.keyring_load(&master).await.expect("keyring");
        let amount = Amount::parse_yuan(yuan).expect("amount");
        let transfer = Transfer::premium_received(customer, amount).expect("transfer");
        let mut tx = store.begin_write().await.expect("begin");
        let id = post(
            &mut tx,
            &keyring,
            &transfer,
            Subject {
                kind: "payment",
                id: "PAY-TEST-1",
            },
            "test-request-1",
            inspay_store::now_ms(),
        )
        .await
        .expect("post");
        tx.commit().await.expect("commit");
        id.as_str().to_string()
    })
}

/// `products add` for a ten-year term life product, with some of its flags' values replaced.
fn add_term_life(dir: &Path, replaced: &[(&str, &str)]) -> Output {
    let mut flags = vec![
        ("--code", "TERM-LIFE-10"),
        ("--name", "Term life 10y"),
        ("--cover", "500000.00"),
        ("--premium", "1200.00"),
        ("--frequency", "yearly"),
        ("--term-months", "120"),
        ("--grace-days", "30"),
    ];
    for (flag, value) in replaced {
        let slot = flags
            .iter_mut()
            .find(|(name, _)| name == flag)
            .unwrap_or_else(|| panic!("no flag {flag}"));
        slot.1 = value;
    }
    let mut args = vec!["products", "add"];
    for (flag, value) in &flags {
        args.push(*flag);
        args.push(*value);
    }
    inspay(dir, &args)
}

/// Every new payment command has `--help` with an example.
/// req: 6.2.3
#[test]
fn payment_commands_have_help_with_an_example() {
    let dir = tempfile::tempdir().expect("dir");
    for command in [
        vec!["products", "add"],
        vec!["products", "list"],
        vec!["ledger", "check"],
        vec!["ledger", "balances"],
        vec!["ledger", "statement"],
        vec!["channel-sim"],
        vec!["reconcile"],
        vec!["outbox", "list"],
        vec!["outbox", "redrive"],
        vec!["claims", "verify"],
        vec!["bench", "payments"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let output = inspay(dir.path(), &args);
        assert!(output.status.success(), "{command:?}");
        let help = text(&output);
        assert!(
            help.contains("Example"),
            "{command:?} --help has no example:\n{help}"
        );
    }
    for group in ["products", "ledger"] {
        let output = inspay(dir.path(), &[group, "--help"]);
        assert!(output.status.success(), "{group}");
    }
    let top = text(&inspay(dir.path(), &["--help"]));
    for command in ["products", "ledger", "channel-sim", "outbox", "claims"] {
        assert!(
            top.contains(command),
            "{command} missing from --help:\n{top}"
        );
    }
}

/// A product added from the console is listed with its terms, audited with the operator as
/// the actor, and its code cannot be taken again.
#[test]
fn products_are_added_listed_and_codes_stay_unique() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = inspay(dir.path(), &["products", "list"]);
    assert!(empty.status.success(), "{}", text(&empty));
    assert!(text(&empty).contains("no products yet"), "{}", text(&empty));

    let added = add_term_life(dir.path(), &[]);
    assert!(added.status.success(), "{}", text(&added));
    let said = text(&added);
    assert!(said.contains("TERM-LIFE-10"), "{said}");
    assert!(
        said.contains("10 premium(s), 12000.00 CNY in all"),
        "{said}"
    );

    let list = inspay(dir.path(), &["products", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    let listing = text(&list);
    let row = listing
        .lines()
        .find(|line| line.starts_with("TERM-LIFE-10"))
        .unwrap_or_else(|| panic!("no row for the product:\n{listing}"));
    for cell in [
        "Term life 10y",
        "500000.00",
        "1200.00",
        "yearly",
        "120m",
        "30d",
        "yes",
    ] {
        assert!(row.contains(cell), "{cell} missing from {row}");
    }
    assert!(listing.contains("1 product(s), 1 on sale"), "{listing}");

    let again = add_term_life(dir.path(), &[("--name", "Another")]);
    assert!(!again.status.success(), "a code is taken once");
    let refusal = text(&again);
    assert!(
        refusal.contains("a product with code TERM-LIFE-10 exists"),
        "{refusal}"
    );
    assert!(refusal.contains("choose another code"), "{refusal}");

    let audited = runtime().block_on(async {
        let mut connection = sqlx::SqliteConnection::connect(&database_url(dir.path()))
            .await
            .expect("open");
        let rows =
            sqlx::query("SELECT actor FROM audit_log WHERE action = 'product.create' ORDER BY seq")
                .fetch_all(&mut connection)
                .await
                .expect("audit");
        rows.iter()
            .map(|row| row.try_get::<String, _>(0).expect("actor"))
            .collect::<Vec<_>>()
    });
    assert_eq!(audited, vec!["operator:ops.tester".to_string()]);
}

/// Zero and negative premiums and a yearly product whose term is not whole years are
/// refused with the rule they break, a non-zero exit status and nothing written.
/// req: 5.3.1.3
#[test]
fn products_breaking_amount_or_term_rules_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    for (replaced, rule) in [
        (("--premium", "0"), "must be greater than zero"),
        (("--premium", "0.00"), "must be greater than zero"),
        (("--premium", "-1"), "may not be negative"),
        (("--cover", "12.345"), "at most two decimals"),
        (
            ("--term-months", "18"),
            "a yearly product's term is a whole number of years",
        ),
        (
            ("--grace-days", "91"),
            "the grace period is at most 90 days",
        ),
    ] {
        let output = add_term_life(dir.path(), &[replaced]);
        assert!(!output.status.success(), "{replaced:?} was accepted");
        let message = text(&output);
        assert!(message.contains(rule), "{replaced:?}: {message}");
        assert!(
            message.contains("5.3.1.3"),
            "{replaced:?} names no clause: {message}"
        );
    }
    let joined = inspay(
        dir.path(),
        &[
            "products",
            "add",
            "--code",
            "X-1",
            "--name",
            "X",
            "--cover",
            "100",
            "--premium=-1",
            "--frequency",
            "single",
            "--term-months",
            "12",
        ],
    );
    assert!(!joined.status.success());
    assert!(
        text(&joined).contains("may not be negative"),
        "{}",
        text(&joined)
    );
    let list = inspay(dir.path(), &["products", "list"]);
    assert!(list.status.success(), "{}", text(&list));
    assert!(text(&list).contains("no products yet"), "{}", text(&list));
}

/// `ledger check` says an empty ledger is sound and a ledger with a posted transfer too
/// (exit 0); balances and the statement show the posting and reconcile; once a balance is
/// changed in the database behind inspay's back, `check` exits 1 naming the account, and the
/// statement no longer reconciles.
/// req: 4-b, 5.6.1-b
#[test]
fn ledger_check_balances_and_statement_find_a_changed_balance() {
    let dir = tempfile::tempdir().expect("dir");
    let empty = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(empty.status.code(), Some(0), "{}", text(&empty));
    assert!(
        text(&empty).contains("the ledger is sound"),
        "{}",
        text(&empty)
    );
    let none = inspay(dir.path(), &["ledger", "balances"]);
    assert!(none.status.success(), "{}", text(&none));
    assert!(
        text(&none).contains("no ledger accounts yet"),
        "{}",
        text(&none)
    );

    post_premium(dir.path(), "cust-1", "1200.00");
    let sound = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(sound.status.code(), Some(0), "{}", text(&sound));
    let report = text(&sound);
    assert!(report.contains("transfers:  1"), "{report}");
    assert!(report.contains("Σ debits:   2400.00 CNY"), "{report}");
    assert!(report.contains("Σ credits:  2400.00 CNY"), "{report}");
    assert!(report.contains("the ledger is sound"), "{report}");

    let balances = inspay(dir.path(), &["ledger", "balances"]);
    assert!(balances.status.success(), "{}", text(&balances));
    let chart = text(&balances);
    let line = |code: &str| {
        chart
            .lines()
            .find(|line| line.starts_with(code))
            .unwrap_or_else(|| panic!("{code} missing:\n{chart}"))
            .to_string()
    };
    assert!(line("premium_income").contains("1200.00"), "{chart}");
    assert!(line("premium_income").ends_with(&"█".repeat(40)), "{chart}");
    assert!(line("channel_clearing").contains("1200.00"), "{chart}");
    assert!(
        line("customer_funds:cust-1").trim_end().ends_with("0.00"),
        "{chart}"
    );
    assert!(chart.contains("3 account(s)"), "{chart}");

    let statement = inspay(
        dir.path(),
        &["ledger", "statement", "--account", "premium_income"],
    );
    assert!(statement.status.success(), "{}", text(&statement));
    let lines = text(&statement);
    assert!(lines.contains("premium_received"), "{lines}");
    assert!(lines.contains("payment:PAY-TEST-1"), "{lines}");
    assert!(lines.contains("kept balance: 1200.00 CNY"), "{lines}");
    assert!(
        lines.contains("the entries add up to the kept balance"),
        "{lines}"
    );
    let unknown = inspay(
        dir.path(),
        &["ledger", "statement", "--account", "petty_cash"],
    );
    assert!(!unknown.status.success());
    assert!(
        text(&unknown).contains("premium_income"),
        "{}",
        text(&unknown)
    );

    execute(
        dir.path(),
        "UPDATE ledger_accounts SET balance_fen = balance_fen + 100 WHERE code = 'premium_income'",
    );
    let broken = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let report = text(&broken);
    assert!(
        report.contains(
            "account premium_income: kept balance 1201.00 CNY, but its entries add up to 1200.00 CNY"
        ),
        "{report}"
    );
    assert!(report.contains("NOT sound"), "{report}");
    assert!(!report.contains("the ledger is sound"), "{report}");
    let statement = inspay(
        dir.path(),
        &["ledger", "statement", "--account", "premium_income"],
    );
    assert!(!statement.status.success(), "{}", text(&statement));
    assert!(
        text(&statement).contains("add up to 1200.00 CNY but its kept balance is 1201.00 CNY"),
        "{}",
        text(&statement)
    );
}

/// A transfer rewritten in the database (its immutability trigger dropped first, as an
/// intruder with the database file could) fails its record MAC: `ledger check` exits 1 and
/// names the transfer.
/// req: 5.6.1-b
#[test]
fn ledger_check_finds_a_rewritten_transfer() {
    let dir = tempfile::tempdir().expect("dir");
    let first = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first));
    let id = post_premium(dir.path(), "cust-2", "80.50");
    let sound = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(sound.status.code(), Some(0), "{}", text(&sound));
    assert!(!text(&sound).contains(&id), "{}", text(&sound));

    execute(
        dir.path(),
        "DROP TRIGGER ledger_transfers_no_update; \
         UPDATE ledger_transfers SET subject = 'payment:PAY-OTHER'",
    );
    let broken = inspay(dir.path(), &["ledger", "check"]);
    assert_eq!(broken.status.code(), Some(1), "{}", text(&broken));
    let report = text(&broken);
    assert!(report.contains("tampered transfers (1):"), "{report}");
    assert!(
        report.contains(&format!("transfer {id}: its record MAC does not match")),
        "{report}"
    );
}

/// Kills the simulator when a test ends, passed or failed.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `channel-sim` on a free port and reads its banner up to the `merchant_id` line.
fn start_simulator(dir: &Path, args: &[&str]) -> (Running, Vec<String>) {
    let mut all = vec!["channel-sim", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut child = command(dir, &all)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("channel-sim starts");
    let stdout = child.stdout.take().expect("stdout");
    let running = Running(child);
    let mut banner = Vec::new();
    let mut lines = BufReader::new(stdout).lines();
    // The banner is about a dozen lines; the bound stops a test from reading for ever.
    for line in lines.by_ref().take(40) {
        let line = line.expect("banner line");
        let last = line.starts_with("merchant_id = ");
        banner.push(line);
        if last {
            // Keep reading what it prints after the banner: with the pipe closed, its next
            // line would fail with EPIPE and end the simulator under the test.
            std::thread::spawn(move || lines.for_each(drop));
            return (running, banner);
        }
    }
    panic!(
        "channel-sim ended before its banner:\n{}",
        banner.join("\n")
    );
}

fn banner_value<'a>(banner: &'a [String], prefix: &str) -> &'a str {
    banner
        .iter()
        .find_map(|line| line.strip_prefix(prefix))
        .unwrap_or_else(|| panic!("no '{prefix}' in:\n{}", banner.join("\n")))
}

/// `GET path` over plain HTTP/1.1; the status code and the body.
fn http_get(url: &str, path: &str) -> (u16, String) {
    let address = url.strip_prefix("http://").expect("http URL");
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    // A guard against a hung server, not a timing assertion.
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("request");
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("response");
    let (head, body) = response.split_once("\r\n\r\n").expect("HTTP response");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .expect("status");
    (status, body.to_string())
}

/// `channel-sim` serves our active channel-signing key as its merchant, prints the URL and
/// the server's TOML lines, serves the public key it wrote at `GET /v1/keys`, keeps its own
/// key in a mode 600 file and, restarted, has the same identity.
#[test]
fn channel_sim_serves_and_keeps_its_identity() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("dir");
    let key_file = dir.path().join("sim.key");
    let public_out = dir.path().join("sim.pub.pem");
    let files = [
        "--key-file",
        key_file.to_str().expect("utf-8"),
        "--public-key-out",
        public_out.to_str().expect("utf-8"),
    ];
    let (running, banner) = start_simulator(dir.path(), &files);
    let url = banner_value(&banner, "url = ")
        .trim_matches('"')
        .to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    assert!(!url.ends_with(":0"), "the real port is printed: {url}");
    assert_eq!(banner_value(&banner, "merchant id: "), "inspay");
    assert!(banner.iter().any(|line| line == "[payments.channel]"));
    let named = PathBuf::from(banner_value(&banner, "public_key_file = ").trim_matches('"'));
    assert_eq!(
        named.canonicalize().expect("named file"),
        public_out.canonicalize().expect("written file")
    );
    assert_eq!(
        std::fs::metadata(&key_file)
            .expect("key file")
            .permissions()
            .mode()
            & 0o777,
        0o600
    );
    let written = std::fs::read_to_string(&public_out).expect("public key written");
    let (status, served) = http_get(&url, "/v1/keys");
    assert_eq!(status, 200);
    assert_eq!(served.trim(), written.trim());

    // The merchant key is the active channel-signing key of this installation.
    let exported = dir.path().join("channel-signing.pem");
    let export = inspay(
        dir.path(),
        &[
            "keys",
            "export-public",
            "channel-signing",
            "--out",
            exported.to_str().expect("utf-8"),
        ],
    );
    assert!(export.status.success(), "{}", text(&export));
    let pem: String = std::fs::read_to_string(&exported)
        .expect("exported")
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| format!("{line}\n"))
        .collect();
    let ours = Sm2PublicKey::from_spki_pem(&pem).expect("one channel-signing key");
    let merchant = banner_value(&banner, "merchant key: sm3:");
    assert!(
        merchant.starts_with(&ours.fingerprint()[..16]),
        "{merchant} is not {}",
        ours.fingerprint()
    );
    drop(running);

    std::fs::remove_file(&public_out).expect("remove");
    let (_running, banner) = start_simulator(dir.path(), &files);
    let url = banner_value(&banner, "url = ")
        .trim_matches('"')
        .to_string();
    let (_, served) = http_get(&url, "/v1/keys");
    assert_eq!(served.trim(), written.trim(), "a restart keeps the key");
    assert_eq!(
        std::fs::read_to_string(&public_out)
            .expect("rewritten")
            .trim(),
        written.trim()
    );
}

/// `--merchant-public-key` serves another merchant under the id given.
#[test]
fn channel_sim_serves_another_merchant() {
    let dir = tempfile::tempdir().expect("dir");
    let merchant = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    let merchant_file = dir.path().join("merchant.pub.pem");
    std::fs::write(&merchant_file, merchant.public_key().to_spki_pem()).expect("write");
    let (_running, banner) = start_simulator(
        dir.path(),
        &[
            "--merchant-id",
            "m-42",
            "--merchant-public-key",
            merchant_file.to_str().expect("utf-8"),
        ],
    );
    assert_eq!(banner_value(&banner, "merchant id: "), "m-42");
    assert_eq!(banner_value(&banner, "merchant_id = "), "\"m-42\"");
    assert!(
        banner_value(&banner, "merchant key: sm3:")
            .starts_with(&merchant.public_key().fingerprint()[..16])
    );
    assert!(
        !dir.path().join("dev-master.key").exists(),
        "a given merchant key needs no key manager"
    );
    let refused = inspay(
        dir.path(),
        &["channel-sim", "--merchant-id", "not a token!"],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("a merchant id is 1 to 32"),
        "{}",
        text(&refused)
    );
}

/// The outbox from the console: an empty list says so, and putting back a row that is not dead
/// is refused with what to do next.
/// req: 5.3.4
#[test]
fn outbox_lists_and_refuses_to_redrive_unknown_rows() {
    let dir = tempfile::tempdir().expect("dir");
    let listed = inspay(dir.path(), &["outbox", "list"]);
    assert!(listed.status.success(), "{}", text(&listed));
    assert!(
        text(&listed).contains("no dead outbox rows"),
        "{}",
        text(&listed)
    );
    let refused = inspay(
        dir.path(),
        &["outbox", "redrive", "0193a6c2-7d1e-7b31-9f0e-2a4c8d1e5f60"],
    );
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("inspay outbox list"),
        "{}",
        text(&refused)
    );
}

/// A premium paid and settled today, made through the store as the payment flow makes it;
/// returns its order id and amount in fen.
fn settled_payment(dir: &Path) -> (String, i64) {
    use inspay_core::funds::ChannelOutcome;
    use inspay_identity::login_name::LoginName;
    use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
    use inspay_store::accounts::{NewAccount, Population};
    use inspay_store::funds::{BeginPayment, PaymentMethod, SettleOrder};
    runtime().block_on(async {
        let store = Store::connect(&database_url(dir), &PoolSettings::default())
            .await
            .expect("store");
        let text = std::fs::read_to_string(dir.join("dev-master.key")).expect("master key");
        let master = MasterKey::from_text(&text, MasterKeySource::Development).expect("master");
        let keyring = store.keyring_load(&master).await.expect("keyring");
        let now = inspay_store::now_ms();
        let who = inspay_store::keys::Actor {
            actor: "operator:test",
            request_id: "reconcile",
        };
        let hash =
            SecretHash::new(SecretKind::LoginPassword, b"unused", ITERATIONS_MIN).expect("hash");
        let account = store
            .account_create(
                &keyring,
                &NewAccount {
                    population: Population::Customer,
                    login_name: &LoginName::customer("13712345678").expect("login"),
                    person_id: None,
                    password: &hash,
                    must_change_password: false,
                },
                who,
                now,
            )
            .await
            .expect("account");
        let product = store.products(&keyring).await.expect("products")[0]
            .id
            .clone();
        let (policy, _) = store
            .policy_apply(
                &keyring,
                &account,
                &product,
                inspay_core::calendar::date_at_ms(now),
                "r",
                now,
            )
            .await
            .expect("policy");
        let payment = store
            .payment_begin(
                &keyring,
                BeginPayment {
                    policy_id: &policy.id,
                    number: 1,
                    account_id: &account,
                    method: PaymentMethod::Card {
                        masked: "622202*********0128".into(),
                    },
                    resolve_at_ms: now + 60_000,
                },
                "r",
                now,
            )
            .await
            .expect("begin");
        let settled = SettleOrder {
            outcome: ChannelOutcome::Succeeded,
            channel_ref: Some("sim_1".into()),
            failure_code: None,
            evidence: None,
        };
        store
            .payment_settle(&keyring, &payment.id, &settled, None, "r", now)
            .await
            .expect("settle");
        (payment.id.to_string(), payment.amount.fen())
    })
}

/// A day's statement in the simulated bank's CSV shape.
fn statement_csv(day: &str, lines: &[(&str, i64)]) -> String {
    use inspay_channel::{BusinessDate, OrderId, OrderKind, Statement, StatementLine};
    Statement {
        date: BusinessDate::parse(day).expect("day"),
        lines: lines
            .iter()
            .enumerate()
            .map(|(index, (order_id, amount_fen))| StatementLine {
                channel_ref: format!("sim_{index}"),
                order_id: OrderId::parse(order_id).expect("order id"),
                kind: OrderKind::Pay,
                amount_fen: *amount_fen,
                settled_at: format!("{day}T12:00:00+08:00"),
            })
            .collect(),
    }
    .to_csv()
}

/// Reconciliation against the channel's statement: agreement exits 0; an amount that differs
/// and an order only the channel knows are listed, alerted, audited and exit 1.
/// req: 4-b
#[test]
fn reconcile_finds_what_differs_from_the_channel() {
    let dir = tempfile::tempdir().expect("dir");
    let added = add_term_life(dir.path(), &[]);
    assert!(added.status.success(), "{}", text(&added));
    let (order_id, amount_fen) = settled_payment(dir.path());
    let day =
        inspay_core::calendar::date_text(inspay_core::calendar::date_at_ms(inspay_store::now_ms()));
    let file = dir.path().join("statement.csv");
    std::fs::write(&file, statement_csv(&day, &[(&order_id, amount_fen)])).expect("write");
    let file_arg = file.display().to_string();
    let agreed = inspay(
        dir.path(),
        &["reconcile", "--date", &day, "--statement", &file_arg],
    );
    assert!(agreed.status.success(), "{}", text(&agreed));
    assert!(
        text(&agreed).contains("the channel and inspay agree"),
        "{}",
        text(&agreed)
    );

    std::fs::write(
        &file,
        statement_csv(
            &day,
            &[(&order_id, amount_fen + 1), ("ORDER-ONLY-AT-BANK", 500)],
        ),
    )
    .expect("write");
    let differs = inspay(
        dir.path(),
        &["reconcile", "--date", &day, "--statement", &file_arg],
    );
    assert!(!differs.status.success());
    let output = text(&differs);
    assert!(output.contains("DIFFERENCES FOUND"), "{output}");
    assert!(
        output.contains(&format!("differs: ours {order_id}")),
        "{output}"
    );
    assert!(
        output.contains("missing in inspay:      ORDER-ONLY-AT-BANK pay 5.00"),
        "{output}"
    );
}

/// `--from-channel` fetches the day's statement from the configured channel: the simulated
/// bank never saw a payment recorded straight in the store, so it is listed missing at the
/// channel, the run is recorded and the command exits 1.
/// req: 4-b
#[test]
fn reconcile_fetches_the_statement_from_the_channel() {
    let dir = tempfile::tempdir().expect("dir");
    let added = add_term_life(dir.path(), &[]);
    assert!(added.status.success(), "{}", text(&added));
    let (order_id, _) = settled_payment(dir.path());
    let public_out = dir.path().join("sim.pub.pem");
    let (_running, banner) = start_simulator(
        dir.path(),
        &["--public-key-out", public_out.to_str().expect("utf-8")],
    );
    let url = banner_value(&banner, "url = ")
        .trim_matches('"')
        .to_string();
    let day =
        inspay_core::calendar::date_text(inspay_core::calendar::date_at_ms(inspay_store::now_ms()));
    let output = command(dir.path(), &["reconcile", "--date", &day, "--from-channel"])
        .env("INSPAY__PAYMENTS__CHANNEL__URL", &url)
        .env("INSPAY__PAYMENTS__CHANNEL__PUBLIC_KEY_FILE", &public_out)
        .output()
        .expect("inspay runs");
    let report = text(&output);
    assert!(!output.status.success(), "{report}");
    assert!(
        report.contains(&format!("missing at the channel: {order_id} pay")),
        "{report}"
    );
    let runs: i64 = runtime().block_on(async {
        let mut connection = sqlx::SqliteConnection::connect(&database_url(dir.path()))
            .await
            .expect("connect");
        sqlx::query("SELECT COUNT(*) FROM reconciliations WHERE source = 'channel' AND clean = 0")
            .fetch_one(&mut connection)
            .await
            .expect("count")
            .try_get(0)
            .expect("count")
    });
    assert_eq!(runs, 1, "the run is recorded");
    let none = inspay(dir.path(), &["reconcile", "--date", &day, "--from-channel"]);
    assert!(
        text(&none).contains("no payment channel is configured"),
        "{}",
        text(&none)
    );
}
