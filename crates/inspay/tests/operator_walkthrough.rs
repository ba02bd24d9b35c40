//! Gaps a fresh operator found walking through the staff and containment commands, closed:
//! a staff account made by mistake can be closed (sessions end, sign-in is refused, the row
//! and its history stay, the last security officer or administrator cannot go), the role help
//! lists every role the code knows, and a customer's mobile number never goes on the command
//! line. Each scenario that writes runs on the data directory's SQLite file and, when
//! `INSPAY_TEST_POSTGRES_URL` is set, again on a fresh PostgreSQL database.

mod support;

use inspay_identity::authorization::{Population, Role};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_store::accounts::SignIn;
use inspay_store::{PoolSettings, Store};
use sqlx::Connection;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use support::cli::{PostgresDatabase, database_url, fresh_postgres, query_url, runtime, text};

/// A data directory, and the PostgreSQL database its commands use instead of SQLite.
struct Installation {
    dir: tempfile::TempDir,
    postgres: Option<PostgresDatabase>,
}

impl Installation {
    /// Every installation the environment offers: SQLite, and PostgreSQL when
    /// `INSPAY_TEST_POSTGRES_URL` is set.
    fn all() -> Vec<Installation> {
        let mut all = vec![Installation {
            dir: tempfile::tempdir().expect("dir"),
            postgres: None,
        }];
        match std::env::var("INSPAY_TEST_POSTGRES_URL") {
            Ok(admin_url) => all.push(Installation {
                dir: tempfile::tempdir().expect("dir"),
                postgres: Some(fresh_postgres(&admin_url, "walk")),
            }),
            Err(_) => eprintln!("PostgreSQL skipped: INSPAY_TEST_POSTGRES_URL is not set"),
        }
        all
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn url(&self) -> String {
        match &self.postgres {
            Some(postgres) => postgres.url.clone(),
            None => database_url(self.path()),
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = support::cli::command(self.path(), args);
        if let Some(postgres) = &self.postgres {
            command.env("INSPAY__DATABASE_URL", &postgres.url);
        }
        command
    }

    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("inspay runs")
    }

    /// Runs `inspay <args>` with `input` on standard input.
    fn run_with_input(&self, args: &[&str], input: &str) -> Output {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("inspay runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write");
        child.wait_with_output().expect("inspay ends")
    }

    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(output.status.success(), "{args:?}:\n{}", text(&output));
        text(&output)
    }

    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?}:\n{}",
            text(&output)
        );
        text(&output)
    }

    /// Rows of a query on the installation's database, each column as text.
    fn query(&self, sql: &str) -> Vec<Vec<String>> {
        query_url(&self.url(), sql)
    }

    fn execute(&self, sql: &str) {
        let url = self.url();
        runtime().block_on(async {
            sqlx::any::install_default_drivers();
            let mut connection = sqlx::AnyConnection::connect(&url).await.expect("open");
            sqlx::query(sqlx::AssertSqlSafe(sql.to_string()))
                .execute(&mut connection)
                .await
                .expect("execute");
        });
    }

    /// A staff account made with `users create`; its id and initial password.
    fn staff(&self, login: &str, role: &str) -> (String, String) {
        let said = self.ok(&["users", "create", "--login", login, "--role", role]);
        let password = said
            .lines()
            .find(|line| line.starts_with("    "))
            .expect("the initial password line")
            .trim()
            .to_string();
        let id = self.query(&format!(
            "SELECT id FROM accounts WHERE login_name_display = '{login}'"
        ))[0][0]
            .clone();
        (id, password)
    }

    /// What a password sign-in of a staff account answers now.
    fn sign_in(&self, login: &str, password: &str) -> SignIn {
        let url = self.url();
        let settings = inspay_server::Settings {
            data_dir: self.path().to_path_buf(),
            ..inspay_server::Settings::default()
        };
        runtime().block_on(async {
            let store = Store::connect(&url, &PoolSettings::default())
                .await
                .expect("store");
            let master = inspay_server::master_key::load(&settings).expect("master key");
            let keyring = store.keyring_load(&master).await.expect("keyring");
            let answer = store
                .password_sign_in(
                    &keyring,
                    &LoginName::staff(login).expect("name"),
                    password,
                    &LockoutPolicy::default(),
                    "walkthrough",
                    inspay_store::now_ms(),
                )
                .await
                .expect("sign-in answers");
            store.close().await;
            answer
        })
    }

    fn status(&self, id: &str) -> String {
        self.query(&format!("SELECT status FROM accounts WHERE id = '{id}'"))[0][0].clone()
    }
}

/// A fresh SM2 public key in a PEM file.
fn public_key_file(dir: &Path, name: &str) -> String {
    let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
    let path = dir.join(format!("{name}.pub.pem"));
    std::fs::write(&path, key.public_key().to_spki_pem()).expect("pem");
    path.display().to_string()
}

/// `users close` closes a staff account made by mistake: its sessions end, its keys are
/// revoked, its sign-in is refused from then on and grants to it are refused, while the
/// account row, its roles and its audit trail stay; the closing is audited with the operator
/// and the reason. Closing it again, an unknown login and a reason holding a long number are
/// refused.
/// req: 5.3.2.1, 5.3.2.2
#[test]
fn close_ends_a_staff_account_and_keeps_its_history() {
    for installation in Installation::all() {
        let (id, password) = installation.staff("agent.mistake", "agent");
        let key = public_key_file(installation.path(), "agent");
        installation.ok(&[
            "users",
            "add-key",
            "--login",
            "agent.mistake",
            "--public-key",
            &key,
        ]);
        installation.execute(&format!(
            "INSERT INTO sessions (token_digest, account_id, auth_level, created_at_ms, last_seen_at_ms)
             VALUES ('digest-{id}', '{id}', 'two-factor', 1, 1)"
        ));
        assert!(matches!(
            installation.sign_in("agent.mistake", &password),
            SignIn::Accepted { .. }
        ));

        let refused = installation.refused(&[
            "users",
            "close",
            "--login",
            "agent.mistake",
            "--reason",
            "mobile 13800138000 typo",
        ]);
        assert!(refused.contains("--reason"), "{refused}");
        assert_eq!(installation.status(&id), "active");

        let said = installation.ok(&[
            "users",
            "close",
            "--login",
            "agent.mistake",
            "--reason",
            "created by mistake, OPS-311",
        ]);
        assert!(
            said.contains("1 session(s) ended") && said.contains("1 key(s) revoked"),
            "{said}"
        );
        assert_eq!(installation.status(&id), "closed");
        let sessions = installation.query(&format!(
            "SELECT COUNT(*) FROM sessions WHERE account_id = '{id}'"
        ));
        assert_eq!(sessions, [["0"]]);
        let keys = installation.query(&format!(
            "SELECT COUNT(*) FROM credential_keys WHERE account_id = '{id}' AND revoked_at_ms IS NULL"
        ));
        assert_eq!(keys, [["0"]]);
        let roles = installation.query(&format!(
            "SELECT role FROM account_roles WHERE account_id = '{id}'"
        ));
        assert_eq!(roles, [["agent"]], "the role grant is kept for the record");
        assert!(matches!(
            installation.sign_in("agent.mistake", &password),
            SignIn::Refused
        ));
        let audit = installation.query(&format!(
            "SELECT actor, outcome, detail FROM audit_log WHERE action = 'account.close' AND object = 'account:{id}'"
        ));
        assert_eq!(audit.len(), 1, "{audit:?}");
        assert_eq!(audit[0][0], "operator:ops.tester");
        assert_eq!(audit[0][1], "success");
        assert!(audit[0][2].contains("OPS-311"), "{audit:?}");
        let history = installation.query(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE object = 'account:{id}' AND action IN ('account.create', 'role.grant')"
        ));
        assert_eq!(history, [["2"]], "the account's history stays");
        let listed = installation.ok(&["users", "list"]);
        assert!(
            listed
                .lines()
                .any(|line| line.starts_with("agent.mistake") && line.contains("closed")),
            "{listed}"
        );

        let again = installation.refused(&[
            "users",
            "close",
            "--login",
            "agent.mistake",
            "--reason",
            "again",
        ]);
        assert!(again.contains("already closed"), "{again}");
        let grant = installation.refused(&[
            "users",
            "grant",
            "--login",
            "agent.mistake",
            "--role",
            "auditor",
        ]);
        assert!(grant.contains("closed"), "{grant}");
        let unknown = installation.refused(&[
            "users",
            "close",
            "--login",
            "nobody.here",
            "--reason",
            "typo",
        ]);
        assert!(unknown.contains("no staff account is named"), "{unknown}");
    }
}

/// The last active security officer and the last active administrator cannot be closed
/// (separation of duties: someone must be left to manage keys, incidents, staff and roles);
/// the refusal is audited and changes nothing. With a second active holder the first can be
/// closed, and then the second is the last.
/// req: 5.3.2.2
#[test]
fn the_last_security_officer_or_administrator_cannot_be_closed() {
    for installation in Installation::all() {
        let (officer, _) = installation.staff("security.one", "security-officer");
        let (admin, _) = installation.staff("admin.one", "administrator");

        let said = installation.refused(&[
            "users",
            "close",
            "--login",
            "security.one",
            "--reason",
            "leaving",
        ]);
        assert!(
            said.contains("last active security officer") && said.contains("grant"),
            "{said}"
        );
        let said = installation.refused(&[
            "users",
            "close",
            "--login",
            "admin.one",
            "--reason",
            "leaving",
        ]);
        assert!(said.contains("last active administrator"), "{said}");
        assert_eq!(installation.status(&officer), "active");
        assert_eq!(installation.status(&admin), "active");
        let denied = installation.query(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'account.close' AND outcome = 'denied'",
        );
        assert_eq!(denied, [["2"]]);

        let (second, _) = installation.staff("security.two", "security-officer");
        installation.ok(&[
            "users",
            "close",
            "--login",
            "security.one",
            "--reason",
            "left the company",
        ]);
        assert_eq!(installation.status(&officer), "closed");
        let said = installation.refused(&[
            "users",
            "close",
            "--login",
            "security.two",
            "--reason",
            "leaving",
        ]);
        assert!(said.contains("last active security officer"), "{said}");
        assert_eq!(installation.status(&second), "active");
    }
}

/// The help of `users create` and `users grant` lists every staff role the code knows (the
/// names come from the role enum, so a new role cannot be left out), and `users close` has
/// help with an example.
/// req: 5.3.2.1
#[test]
fn role_help_lists_every_staff_role() {
    let dir = tempfile::tempdir().expect("dir");
    let staff: Vec<&str> = Role::ALL
        .iter()
        .filter(|role| role.population() == Population::Staff)
        .map(|role| role.name())
        .collect();
    assert!(staff.contains(&"risk-officer"), "{staff:?}");
    for command in ["create", "grant", "revoke"] {
        let output = support::cli::inspay(dir.path(), &["users", command, "--help"]);
        assert!(output.status.success(), "{command}");
        let help = String::from_utf8_lossy(&output.stdout);
        for role in &staff {
            assert!(
                help.contains(role),
                "users {command} --help lacks {role}:\n{help}"
            );
        }
        assert!(
            !help.contains("customer,") && !help.contains(", customer"),
            "the customer role is not a staff role:\n{help}"
        );
    }
    let output = support::cli::inspay(dir.path(), &["users", "close", "--help"]);
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && help.contains("Example") && help.contains("--reason"),
        "{help}"
    );
}

/// A customer's mobile number for `contain freeze-account` comes from standard input, never
/// from the command line: `--mobile` is refused with the way to do it, `--mobile-stdin` reads
/// it, finds the account and freezes it, and the number is never printed back.
/// req: 6.4.3, 5.6.1-d
#[test]
fn the_mobile_number_is_read_from_standard_input() {
    const MOBILE: &str = "13800138000";
    for installation in Installation::all() {
        installation.staff("security.one", "security-officer");
        let account = customer(&installation, MOBILE);

        let argv = installation.run(&[
            "contain",
            "freeze-account",
            "--mobile",
            MOBILE,
            "--reason",
            "INC-7 stolen phone",
        ]);
        assert_eq!(argv.status.code(), Some(1), "{}", text(&argv));
        let said = text(&argv);
        assert!(said.contains("--mobile-stdin"), "{said}");
        assert!(!said.contains(MOBILE), "{said}");
        assert_eq!(installation.status(&account), "active");

        let bad = installation.run_with_input(
            &[
                "contain",
                "freeze-account",
                "--mobile-stdin",
                "--reason",
                "INC-7 stolen phone",
            ],
            "not-a-number\n",
        );
        assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
        assert!(text(&bad).contains("not a mobile number"), "{}", text(&bad));

        let frozen = installation.run_with_input(
            &[
                "contain",
                "freeze-account",
                "--mobile-stdin",
                "--reason",
                "INC-7 stolen phone",
            ],
            &format!("{MOBILE}\n"),
        );
        let said = text(&frozen);
        assert!(frozen.status.success(), "{said}");
        assert!(said.contains(&account), "{said}");
        assert!(
            !said.contains(MOBILE),
            "the number is not printed back: {said}"
        );
        assert_eq!(installation.status(&account), "frozen");
        let help = installation.ok(&["contain", "freeze-account", "--help"]);
        assert!(help.contains("--mobile-stdin"), "{help}");
        assert!(!help.contains("--mobile <"), "{help}");
        let neither = installation.refused(&[
            "contain",
            "freeze-account",
            "--reason",
            "INC-7 stolen phone",
        ]);
        assert!(neither.contains("--mobile-stdin"), "{neither}");
    }
}

/// A customer account signing in with `mobile`, made through the store with the
/// installation's master key; its id.
fn customer(installation: &Installation, mobile: &str) -> String {
    use inspay_core::sensitive::{IdNumber, LegalName, MobileNumber};
    use inspay_identity::secret_hash::{ITERATIONS_MIN, SecretHash, SecretKind};
    use inspay_store::accounts::{NewAccount, Population as AccountPopulation};
    use inspay_store::keys::Actor;
    use inspay_store::persons::NewPerson;
    let who = Actor {
        actor: "operator:test",
        request_id: "walkthrough",
    };
    let settings = inspay_server::Settings {
        data_dir: installation.path().to_path_buf(),
        ..inspay_server::Settings::default()
    };
    let url = installation.url();
    runtime().block_on(async {
        let store = Store::connect(&url, &PoolSettings::default())
            .await
            .expect("store");
        let master = inspay_server::master_key::load(&settings).expect("master key");
        let keyring = store.keyring_load(&master).await.expect("keyring");
        let now = inspay_store::now_ms();
        let person = store
            .person_insert(
                &keyring,
                &NewPerson {
                    legal_name: LegalName::parse("张三丰").expect("name"),
                    mobile: MobileNumber::parse(mobile).expect("mobile"),
                    id_number: IdNumber::parse("11010519491231002X").expect("id"),
                },
                who,
                now,
            )
            .await
            .expect("person");
        let hash = SecretHash::new(
            SecretKind::LoginPassword,
            b"Harbor!Lamp7Violet",
            ITERATIONS_MIN,
        )
        .expect("hash");
        let account = store
            .account_create(
                &keyring,
                &NewAccount {
                    population: AccountPopulation::Customer,
                    login_name: &LoginName::customer(mobile).expect("login"),
                    person_id: Some(&person),
                    password: &hash,
                    must_change_password: false,
                },
                who,
                now,
            )
            .await
            .expect("account");
        store.close().await;
        account
    })
}
