//! `inspay risk` as a risk officer and a security officer use it, end to end through the built
//! binary: rule-signing keys (generate, register, list, revoke), the rule-pack flow of
//! `docs/risk-officer-guide.md` (sign, check, install, list, tampering, roll back, withdraw),
//! the refusals and their stable codes, and the behaviour model's training on a generated
//! history. Each scenario runs on the data directory's SQLite file and, when
//! `INSPAY_TEST_POSTGRES_URL` is set, again on a fresh PostgreSQL database.

mod support;

use inspay_kms::{MasterKey, MasterKeySource};
use sqlx::Connection;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use support::cli::{PostgresDatabase, database_url, fresh_postgres, runtime, text};

/// The registered signer of the scenarios.
const OFFICER: &str = "risk-officer-li";
/// The pack id of the guide's example.
const GUIDE_PACK_ID: &str = "night-and-bursts";

/// Which database a scenario's commands use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    /// The SQLite file in the data directory (the default).
    Sqlite,
    /// A fresh database on the server `INSPAY_TEST_POSTGRES_URL` names.
    Postgres,
}

/// One installation as the commands see it: a scratch data directory, and the database its
/// commands use.
struct Installation {
    dir: tempfile::TempDir,
    postgres: Option<PostgresDatabase>,
}

impl Installation {
    /// A fresh installation on `backend`; `None` (the scenario is skipped, and says so) for
    /// PostgreSQL when `INSPAY_TEST_POSTGRES_URL` is not set.
    fn new(backend: Backend) -> Option<Self> {
        let dir = tempfile::tempdir().expect("data dir");
        let postgres = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var("INSPAY_TEST_POSTGRES_URL") else {
                    eprintln!("skipped: INSPAY_TEST_POSTGRES_URL is not set");
                    return None;
                };
                Some(fresh_postgres(&admin_url, "risk"))
            }
        };
        Some(Self { dir, postgres })
    }

    /// The data directory.
    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A file in the data directory.
    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `inspay <args>` on this installation, as the operator `ops.tester`.
    fn command(&self, args: &[&str]) -> Command {
        let mut command = support::cli::command(self.path(), args);
        if let Some(postgres) = &self.postgres {
            command.env("INSPAY__DATABASE_URL", &postgres.url);
        }
        command
    }

    /// Runs `inspay <args>` to its end.
    fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().expect("inspay runs")
    }

    /// Runs `inspay <args>`, which must succeed; returns what it printed.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let said = text(&output);
        assert!(output.status.success(), "{args:?} failed:\n{said}");
        said
    }

    /// Runs `inspay <args>`, which must fail with exit status 1; returns what it printed.
    fn refused(&self, args: &[&str]) -> String {
        let output = self.run(args);
        let said = text(&output);
        assert_eq!(
            output.status.code(),
            Some(1),
            "{args:?} should be refused with exit status 1:\n{said}"
        );
        said
    }

    /// A number the database answers (`SELECT COUNT(*) ...`), read outside inspay.
    fn count(&self, sql: &str) -> i64 {
        match &self.postgres {
            Some(postgres) => {
                let output = Command::new("psql")
                    .arg(&postgres.url)
                    .args(["-tAq", "-c", sql])
                    .output()
                    .expect("psql runs");
                assert!(output.status.success(), "{sql}: {}", text(&output));
                String::from_utf8_lossy(&output.stdout)
                    .trim()
                    .parse()
                    .expect("a number")
            }
            None => runtime().block_on(async {
                let mut connection = sqlx::SqliteConnection::connect(&database_url(self.path()))
                    .await
                    .expect("open");
                sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_string()))
                    .fetch_one(&mut connection)
                    .await
                    .expect("query")
            }),
        }
    }

    /// Audit entries of `action` by the test's operator.
    fn audited(&self, action: &str) -> i64 {
        self.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = '{action}' AND actor = 'operator:ops.tester'"
        ))
    }

    /// Rule packs refused so far, as the security events they raised.
    fn pack_refusals(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM security_events WHERE kind = 'rule-pack-refused'")
    }

    /// `risk signers keygen` into `<name>.key` and `<name>.pub.pem`; returns both paths and the
    /// fingerprint it printed.
    fn keygen(&self, name: &str) -> (PathBuf, PathBuf, String) {
        let private = self.file(&format!("{name}.key"));
        let public = self.file(&format!("{name}.pub.pem"));
        let said = self.ok(&[
            "risk",
            "signers",
            "keygen",
            "--private-key-out",
            arg(&private),
            "--public-key-out",
            arg(&public),
        ]);
        let fingerprint = said
            .lines()
            .find_map(|line| line.strip_prefix("fingerprint "))
            .unwrap_or_else(|| panic!("no fingerprint printed:\n{said}"))
            .trim()
            .to_owned();
        (private, public, fingerprint)
    }

    /// `risk signers add`, which must succeed.
    fn register(&self, name: &str, public: &Path) -> String {
        self.ok(&[
            "risk",
            "signers",
            "add",
            "--name",
            name,
            "--public-key",
            arg(public),
        ])
    }

    /// A generated key pair registered under `name`; returns the private key's path.
    fn officer(&self, name: &str) -> PathBuf {
        let (private, public, _) = self.keygen(name);
        self.register(name, &public);
        private
    }

    /// `risk pack sign`, which must succeed.
    fn sign(&self, pack: &Path, key: &Path, signer: &str) -> String {
        self.ok(&[
            "risk",
            "pack",
            "sign",
            "--pack",
            arg(pack),
            "--key",
            arg(key),
            "--signer",
            signer,
        ])
    }

    /// `risk pack install`, which must be refused with `code`; also checks that nothing was
    /// stored and that the refusal raised a security event.
    fn install_refused(&self, pack: &Path, code: &str) -> String {
        let packs_before = self.count("SELECT COUNT(*) FROM risk_packs");
        let events_before = self.pack_refusals();
        let said = self.refused(&["risk", "pack", "install", "--pack", arg(pack)]);
        assert!(said.contains(code), "{code} expected:\n{said}");
        assert!(
            said.contains("the refusal is recorded as a security event"),
            "{said}"
        );
        assert_eq!(
            self.count("SELECT COUNT(*) FROM risk_packs"),
            packs_before,
            "a refused pack is never stored"
        );
        assert_eq!(
            self.pack_refusals(),
            events_before + 1,
            "a refused pack raises a rule-pack-refused security event"
        );
        said
    }

    /// `risk pack list`, as (pack id, version, active) rows.
    fn packs(&self) -> Vec<(String, String, bool)> {
        let said = self.ok(&["risk", "pack", "list"]);
        if said.contains("no rule packs installed") {
            return Vec::new();
        }
        said.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                let cells: Vec<&str> = line.split_whitespace().collect();
                assert!(cells.len() > 3, "not a pack row: {line}");
                (
                    cells[0].to_owned(),
                    cells[1].to_owned(),
                    match cells[2] {
                        "active" => true,
                        "-" => false,
                        other => panic!("state '{other}' in: {line}"),
                    },
                )
            })
            .collect()
    }
}

/// A fresh database on the PostgreSQL server of `admin_url`.
/// A path as a command-line argument.
fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// The example pack of section 2 of the risk officer's guide, as the guide prints it: the
/// test runs what an officer would copy.
fn guide_pack() -> String {
    let guide = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/risk-officer-guide.md"),
    )
    .expect("the risk officer's guide");
    let (_, section) = guide
        .split_once("## 2. Writing a pack")
        .expect("section 2 of the guide");
    let (_, block) = section.split_once("```toml\n").expect("a TOML example");
    let (pack, _) = block.split_once("```").expect("the example's end");
    assert!(
        pack.contains(&format!("id = \"{GUIDE_PACK_ID}\"")),
        "{pack}"
    );
    assert!(pack.contains("version = 3 "), "{pack}");
    pack.to_owned()
}

/// `text` with its first `from` replaced by `to`, which must be there.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "'{from}' not in:\n{text}");
    text.replacen(from, to, 1)
}

/// A one-rule pack.
fn one_rule_pack(id: &str, inputs: &[&str], when: &str) -> String {
    let inputs: Vec<String> = inputs.iter().map(|name| format!("\"{name}\"")).collect();
    format!(
        "[pack]\nid = \"{id}\"\nversion = 1\ninputs = [{}]\n\n[[rule]]\nid = \"only\"\nwhen = \"{when}\"\nverdict = \"review\"\nnote = \"a test rule\"\n",
        inputs.join(", ")
    )
}

/// Writes `text` to `name` in the installation's directory.
fn write(installation: &Installation, name: &str, text: &str) -> PathBuf {
    let path = installation.file(name);
    std::fs::write(&path, text).expect("write the pack");
    path
}

/// Scenario 1: the rule-signing keys, from `keygen` to a duplicate registration.
fn signing_keys(backend: Backend) {
    let Some(installation) = Installation::new(backend) else {
        return;
    };
    let (private, public, fingerprint) = installation.keygen("li");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&private)
            .expect("key")
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "the private key is readable by its owner only"
        );
    }
    let pem = std::fs::read(&private).expect("key");
    assert!(
        String::from_utf8_lossy(&pem).contains("BEGIN PRIVATE KEY"),
        "PKCS#8 PEM"
    );
    assert!(
        std::fs::read_to_string(&public)
            .expect("public key")
            .contains("BEGIN PUBLIC KEY")
    );
    assert_eq!(
        fingerprint.len(),
        64,
        "an SM3 fingerprint in hex: {fingerprint}"
    );

    // A second keygen onto the same private key file leaves the key as it was.
    let other_public = installation.file("other.pub.pem");
    let again = installation.refused(&[
        "risk",
        "signers",
        "keygen",
        "--private-key-out",
        arg(&private),
        "--public-key-out",
        arg(&other_public),
    ]);
    assert!(again.contains("exists"), "{again}");
    assert!(again.contains("a key file is never overwritten"), "{again}");
    assert_eq!(std::fs::read(&private).expect("key"), pem, "key unchanged");
    assert!(!other_public.exists(), "nothing written on refusal");
    // Nor is a public key file overwritten (another officer's, say).
    let other_private = installation.file("other.key");
    let clobber = installation.refused(&[
        "risk",
        "signers",
        "keygen",
        "--private-key-out",
        arg(&other_private),
        "--public-key-out",
        arg(&public),
    ]);
    assert!(clobber.contains("never overwritten"), "{clobber}");
    assert!(
        !other_private.exists(),
        "no private key without its public half"
    );
    // A public key path that cannot be written leaves no private key behind.
    let unwritable = installation.file("no-such-dir/d.pub.pem");
    let failed = installation.refused(&[
        "risk",
        "signers",
        "keygen",
        "--private-key-out",
        arg(&other_private),
        "--public-key-out",
        arg(&unwritable),
    ]);
    assert!(failed.contains("cannot write"), "{failed}");
    assert!(
        !other_private.exists(),
        "the private key is not left behind"
    );

    let empty = installation.ok(&["risk", "signers", "list"]);
    assert!(empty.contains("no rule-signing keys"), "{empty}");
    let added = installation.register(OFFICER, &public);
    assert!(
        added.contains(&format!(
            "registered rule-signing key '{OFFICER}' (fingerprint {fingerprint})"
        )),
        "{added}"
    );
    let listed = installation.ok(&["risk", "signers", "list"]);
    let row = listed
        .lines()
        .find(|line| line.starts_with(OFFICER))
        .unwrap_or_else(|| panic!("no row for the signer:\n{listed}"));
    let cells: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(cells[1], "active", "{row}");
    assert_eq!(cells[2], fingerprint, "{row}");
    assert!(row.ends_with("by operator:ops.tester"), "{row}");

    // The same key under another name, and another key under the same name.
    let same_key = installation.refused(&[
        "risk",
        "signers",
        "add",
        "--name",
        "risk-officer-wang",
        "--public-key",
        arg(&public),
    ]);
    assert!(
        same_key.contains("this key is already registered as a risk signer"),
        "{same_key}"
    );
    let (_, second_public, _) = installation.keygen("wang");
    let same_name = installation.refused(&[
        "risk",
        "signers",
        "add",
        "--name",
        OFFICER,
        "--public-key",
        arg(&second_public),
    ]);
    assert!(
        same_name.contains("a risk signer of this name exists; choose another name"),
        "{same_name}"
    );
    let listed = installation.ok(&["risk", "signers", "list"]);
    assert_eq!(listed.lines().count(), 1, "only the first key:\n{listed}");
    assert_eq!(
        installation.audited("risk.signer.add"),
        1,
        "registration audited"
    );
    // Names are counted in characters: 24 Chinese characters (72 bytes) are fine.
    let chinese = "风险官".repeat(8);
    let added = installation.register(&chinese, &second_public);
    assert!(added.contains("registered rule-signing key"), "{added}");
}

/// `risk signers keygen` writes the private key readable by its owner only and never
/// overwrites one; `add` registers the public key, `list` shows it active with its
/// fingerprint, and the same key or name cannot be registered twice (SQLite).
/// req: 6.3.7
#[test]
fn signing_keys_are_private_registered_once_and_listed_on_sqlite() {
    signing_keys(Backend::Sqlite);
}

/// The same on PostgreSQL (when `INSPAY_TEST_POSTGRES_URL` is set).
/// req: 6.3.7
#[test]
fn signing_keys_are_private_registered_once_and_listed_on_postgres() {
    signing_keys(Backend::Postgres);
}

/// Scenario 2: the officer's flow of sections 2 to 4 of the guide.
fn officer_flow(backend: Backend) {
    let Some(installation) = Installation::new(backend) else {
        return;
    };
    let key = installation.officer(OFFICER);
    let v3_text = guide_pack();
    let pack = write(&installation, "night.toml", &v3_text);
    let signed = installation.sign(&pack, &key, OFFICER);
    let signature = installation.file("night.toml.sig");
    assert!(signature.exists(), "the signature beside the pack");
    assert!(
        signed.contains(&format!("signed {GUIDE_PACK_ID} v3 (2 rules) as {OFFICER}")),
        "{signed}"
    );

    let checked = installation.ok(&["risk", "pack", "check", "--pack", arg(&pack)]);
    assert!(
        checked.contains(&format!("{GUIDE_PACK_ID} v3: 2 rules, signed by {OFFICER}")),
        "{checked}"
    );
    for rule in [
        "large-premium-at-night",
        "step-up:sms-code",
        "a large premium paid at night",
        "payout-burst",
        "several payouts within an hour",
    ] {
        assert!(checked.contains(rule), "{rule} missing from:\n{checked}");
    }
    assert!(checked.contains("the pack verifies and loads"), "{checked}");
    assert!(installation.packs().is_empty(), "check installs nothing");

    let installed = installation.ok(&["risk", "pack", "install", "--pack", arg(&pack)]);
    assert!(
        installed.contains(&format!(
            "installed {GUIDE_PACK_ID} v3 as the active version"
        )),
        "{installed}"
    );
    let v3_only = vec![(GUIDE_PACK_ID.to_owned(), "v3".to_owned(), true)];
    assert_eq!(installation.packs(), v3_only);

    // v4, changed after it was signed.
    let v4_text = replaced(&v3_text, "version = 3 ", "version = 4 ");
    let v4 = write(&installation, "night-v4.toml", &v4_text);
    installation.sign(&v4, &key, OFFICER);
    let edited = replaced(
        &v4_text,
        "op.amount_fen >= 500000",
        "op.amount_fen >= 5000000",
    );
    std::fs::write(&v4, &edited).expect("edit after signing");
    let checked = installation.refused(&["risk", "pack", "check", "--pack", arg(&v4)]);
    assert!(checked.contains("RISK-PACK-TAMPERED"), "{checked}");
    let tampered = installation.install_refused(&v4, "RISK-PACK-TAMPERED");
    assert!(tampered.contains("changed after signing"), "{tampered}");
    assert_eq!(installation.packs(), v3_only, "nothing of v4 stored");

    // Signed again as it now reads, it installs and v3 stays stored, inactive.
    installation.sign(&v4, &key, OFFICER);
    let installed = installation.ok(&["risk", "pack", "install", "--pack", arg(&v4)]);
    assert!(
        installed.contains(&format!(
            "installed {GUIDE_PACK_ID} v4 as the active version"
        )),
        "{installed}"
    );
    let rows = installation.packs();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.contains(&(GUIDE_PACK_ID.to_owned(), "v3".to_owned(), false)));
    assert!(rows.contains(&(GUIDE_PACK_ID.to_owned(), "v4".to_owned(), true)));

    let rolled = installation.ok(&[
        "risk",
        "pack",
        "rollback",
        "--pack",
        GUIDE_PACK_ID,
        "--version",
        "3",
    ]);
    assert!(
        rolled.contains(&format!("{GUIDE_PACK_ID} v3 is the active version again")),
        "{rolled}"
    );
    let rows = installation.packs();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.contains(&(GUIDE_PACK_ID.to_owned(), "v3".to_owned(), true)));
    assert!(rows.contains(&(GUIDE_PACK_ID.to_owned(), "v4".to_owned(), false)));

    let withdrawn = installation.ok(&["risk", "pack", "withdraw", "--pack", GUIDE_PACK_ID]);
    assert!(
        withdrawn.contains(&format!("withdrew '{GUIDE_PACK_ID}'")),
        "{withdrawn}"
    );
    let rows = installation.packs();
    assert_eq!(rows.len(), 2, "every version stays stored: {rows:?}");
    assert!(rows.iter().all(|(_, _, active)| !active), "{rows:?}");
    let again = installation.refused(&["risk", "pack", "withdraw", "--pack", GUIDE_PACK_ID]);
    assert!(
        again.contains(&format!("'{GUIDE_PACK_ID}' has no active version")),
        "{again}"
    );
    for (action, times) in [
        ("risk.pack.install", 2),
        ("risk.pack.rollback", 1),
        ("risk.pack.withdraw", 1),
    ] {
        assert_eq!(installation.audited(action), times, "{action} audited");
    }

    // A pack whose signer is revoked is marked in the listing: the nodes no longer run it.
    installation.ok(&[
        "risk",
        "pack",
        "rollback",
        "--pack",
        GUIDE_PACK_ID,
        "--version",
        "3",
    ]);
    installation.ok(&["risk", "signers", "revoke", "--name", OFFICER]);
    let listed = installation.ok(&["risk", "pack", "list"]);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(GUIDE_PACK_ID) && line.contains(" active* ")),
        "{listed}"
    );
    assert!(listed.contains("its signer is revoked"), "{listed}");
}

/// The officer's flow of the guide: the example pack is signed into `<pack>.sig`, checked
/// (its rules printed), installed and listed as the active v3; a v4 edited after signing is
/// refused with `RISK-PACK-TAMPERED` and exit status 1 and nothing of it is stored; signed
/// again it installs; a rollback makes v3 active again, a withdrawal leaves none active and a
/// second withdrawal is refused; installs, the rollback and the withdrawal are audited (SQLite).
/// req: 6.3.7
#[test]
fn the_guides_pack_is_signed_installed_rolled_back_and_withdrawn_on_sqlite() {
    officer_flow(Backend::Sqlite);
}

/// The same on PostgreSQL (when `INSPAY_TEST_POSTGRES_URL` is set).
/// req: 6.3.7
#[test]
fn the_guides_pack_is_signed_installed_rolled_back_and_withdrawn_on_postgres() {
    officer_flow(Backend::Postgres);
}

/// Scenario 3: packs refused at install, and a signer revoked.
fn refusals(backend: Backend) {
    let Some(installation) = Installation::new(backend) else {
        return;
    };
    let key = installation.officer(OFFICER);

    let undeclared = write(
        &installation,
        "undeclared.toml",
        &one_rule_pack(
            "undeclared",
            &["op.amount_fen"],
            "op.amount_fen > 0 && op.hour < 6",
        ),
    );
    installation.sign(&undeclared, &key, OFFICER);
    let said = installation.install_refused(&undeclared, "RISK-PACK-OVERREACH");
    assert!(
        said.contains("reads 'op.hour', which the manifest does not declare"),
        "{said}"
    );

    let mobile = write(
        &installation,
        "mobile.toml",
        &one_rule_pack("mobile", &["account.mobile"], "account.mobile == ''"),
    );
    installation.sign(&mobile, &key, OFFICER);
    let said = installation.install_refused(&mobile, "RISK-PACK-OVERREACH");
    assert!(
        said.contains("'account.mobile' is not offered to rule packs"),
        "{said}"
    );

    let comprehension = write(
        &installation,
        "loop.toml",
        &one_rule_pack("loop", &["op.hour"], "[1, 2, 3].exists(n, n == op.hour)"),
    );
    installation.sign(&comprehension, &key, OFFICER);
    let said = installation.install_refused(&comprehension, "RISK-PACK-RULE");
    assert!(said.contains("comprehension"), "{said}");

    // Never signed: no signature file to read, so nothing reaches the checks.
    let unsigned = write(
        &installation,
        "unsigned.toml",
        &one_rule_pack("unsigned", &["op.hour"], "op.hour < 6"),
    );
    let said = installation.refused(&["risk", "pack", "install", "--pack", arg(&unsigned)]);
    assert!(
        said.contains("sign the pack with `inspay risk pack sign` first"),
        "{said}"
    );
    assert!(said.contains("unsigned.toml.sig"), "{said}");

    // A key that was never registered, under an unknown name and under the officer's name.
    let (stranger, _, stranger_fingerprint) = installation.keygen("stranger");
    let foreign = write(
        &installation,
        "foreign.toml",
        &one_rule_pack("foreign", &["op.hour"], "op.hour < 6"),
    );
    for signer in ["mallory", OFFICER] {
        installation.sign(&foreign, &stranger, signer);
        let said = installation.install_refused(&foreign, "RISK-PACK-UNSIGNED");
        assert!(
            said.contains(&format!(
                "signer '{signer}' with key {stranger_fingerprint} is not a registered, active rule-signing key"
            )),
            "{said}"
        );
    }
    assert!(installation.packs().is_empty(), "nothing stored");

    // Revoked: a pack the officer signs afresh is refused from then on.
    let revoked = installation.ok(&["risk", "signers", "revoke", "--name", OFFICER]);
    assert!(
        revoked.contains(&format!("revoked '{OFFICER}'")),
        "{revoked}"
    );
    assert_eq!(
        installation.audited("risk.signer.revoke"),
        1,
        "revocation audited"
    );
    let listed = installation.ok(&["risk", "signers", "list"]);
    assert!(
        listed
            .lines()
            .any(|line| line.starts_with(OFFICER) && line.contains(" revoked ")),
        "{listed}"
    );
    let fresh = write(
        &installation,
        "fresh.toml",
        &one_rule_pack("fresh", &["op.hour"], "op.hour < 6"),
    );
    installation.sign(&fresh, &key, OFFICER);
    installation.install_refused(&fresh, "RISK-PACK-UNSIGNED");
    let again = installation.refused(&["risk", "signers", "revoke", "--name", OFFICER]);
    assert!(
        again.contains(&format!("no active signer named '{OFFICER}'")),
        "{again}"
    );
    assert!(installation.packs().is_empty(), "nothing stored");
}

/// Packs are refused with their stable code and exit status 1, nothing is stored and each
/// refusal raises a security event: a rule reading an undeclared field and a pack declaring
/// `account.mobile` (`RISK-PACK-OVERREACH`), a comprehension (`RISK-PACK-RULE`), a key never
/// registered (`RISK-PACK-UNSIGNED`), and a pack signed after its signer was revoked; an unsigned
/// pack is refused with the advice to sign it first (SQLite).
/// req: 6.3.7
#[test]
fn packs_that_overreach_loop_or_lack_a_registered_signature_are_refused_on_sqlite() {
    refusals(Backend::Sqlite);
}

/// The same on PostgreSQL (when `INSPAY_TEST_POSTGRES_URL` is set).
/// req: 6.3.7
#[test]
fn packs_that_overreach_loop_or_lack_a_registered_signature_are_refused_on_postgres() {
    refusals(Backend::Postgres);
}

/// Scenario 4: training the behaviour model on an empty, generated and filled history.
fn training(backend: Backend) {
    let Some(installation) = Installation::new(backend) else {
        return;
    };
    let empty = installation.refused(&["risk", "train"]);
    assert!(empty.contains("the history is empty"), "{empty}");
    // Out-of-range sizes are refused before anything is generated or opened.
    for (flag, value) in [
        ("--generate", "18446744073709551615"),
        ("--generate", "999"),
        ("--customers", "0"),
    ] {
        let output = installation
            .command(&["risk", "train", flag, value])
            .output()
            .expect("inspay runs");
        assert_eq!(
            output.status.code(),
            Some(2),
            "{flag} {value}: {}",
            text(&output)
        );
    }

    // The production profile refuses to generate. `risk train` loads neither the master key
    // nor the certificate, but the settings must pass validation to reach the check.
    let master_file = installation.file("master.key");
    let master = MasterKey::generate(MasterKeySource::File).expect("master");
    std::fs::write(&master_file, format!("{}\n", master.to_hex().as_str())).expect("key file");
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&master_file, std::fs::Permissions::from_mode(0o600))
            .expect("mode");
    }
    let production = installation
        .command(&["risk", "train", "--generate", "20000", "--customers", "400"])
        .env("INSPAY__PROFILE", "production")
        // Production on PostgreSQL never migrates (the schema owner does, clause 5.3.1.1).
        .env("INSPAY__DATABASE__MIGRATE_ON_START", "false")
        .env("INSPAY__MASTER_KEY__SOURCE", "file")
        .env("INSPAY__MASTER_KEY__FILE", &master_file)
        .env(
            "INSPAY__TLS__CERTIFICATE_FILE",
            installation.file("tls.pem"),
        )
        .env(
            "INSPAY__TLS__PRIVATE_KEY_FILE",
            installation.file("tls.key"),
        )
        .output()
        .expect("inspay runs");
    let said = text(&production);
    assert_eq!(production.status.code(), Some(1), "{said}");
    assert!(
        said.contains("it is refused in the production profile"),
        "{said}"
    );
    assert_eq!(
        installation.count("SELECT COUNT(*) FROM risk_observations"),
        0,
        "nothing generated"
    );

    let generated =
        installation.ok(&["risk", "train", "--generate", "20000", "--customers", "400"]);
    assert!(
        generated.contains("generated 20000 operations"),
        "{generated}"
    );
    assert!(generated.contains("stored the first 18000"), "{generated}");
    assert!(
        generated.contains("trained on 18000 stored operations"),
        "{generated}"
    );
    let customers: u32 = generated
        .split_once("stored operations in ")
        .and_then(|(_, rest)| rest.split_once("s ("))
        .and_then(|(_, rest)| rest.split_once(" customers"))
        .and_then(|(count, _)| count.parse().ok())
        .unwrap_or_else(|| panic!("no customer count:\n{generated}"));
    assert!(
        (1..=400).contains(&customers),
        "baselines for the generated customers only: {customers}"
    );
    let scored = generated
        .lines()
        .find(|line| line.starts_with("scored the 2000 held-out operations"))
        .unwrap_or_else(|| panic!("no scoring line:\n{generated}"));
    for measure in ["precision", "recall"] {
        let value: f64 = scored
            .split(&format!("{measure} "))
            .nth(1)
            .and_then(|rest| rest.split([',', ' ']).next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no {measure} in: {scored}"));
        assert!((0.0..=1.0).contains(&value), "{measure} {value}");
    }
    let per_anomaly = generated
        .lines()
        .filter(|line| line.starts_with("  ") && line.contains(" recall "))
        .count();
    assert!(per_anomaly >= 1, "recall per planted anomaly:\n{generated}");
    assert_eq!(
        installation.count("SELECT COUNT(*) FROM risk_observations"),
        18_000
    );

    let again =
        installation.refused(&["risk", "train", "--generate", "20000", "--customers", "400"]);
    assert!(
        again.contains("the history already holds operations"),
        "{again}"
    );
    assert_eq!(
        installation.count("SELECT COUNT(*) FROM risk_observations"),
        18_000,
        "nothing added"
    );

    let retrained = installation.ok(&["risk", "train"]);
    assert!(
        retrained.contains("trained on 18000 stored operations"),
        "{retrained}"
    );
    assert!(!retrained.contains("precision"), "{retrained}");
}

/// `risk train` on an empty history fails naming the empty history; the production profile
/// refuses `--generate` and writes nothing; `--generate 20000` on a scratch data directory
/// prints the training, precision and recall lines; a second `--generate` is refused because
/// the history is no longer empty; plain `risk train` then retrains on it (SQLite).
/// req: 5.3.3.2
#[test]
fn the_model_trains_on_a_generated_history_only_when_empty_on_sqlite() {
    training(Backend::Sqlite);
}

/// The same on PostgreSQL (when `INSPAY_TEST_POSTGRES_URL` is set).
/// req: 5.3.3.2
#[test]
fn the_model_trains_on_a_generated_history_only_when_empty_on_postgres() {
    training(Backend::Postgres);
}

/// Every `inspay risk` command's `--help` shows an example of itself; the groups' help
/// lists their commands (as the other command groups, they carry no example of their own).
/// req: 6.2.3
#[test]
fn every_risk_command_has_help_with_an_example() {
    let dir = tempfile::tempdir().expect("dir");
    for (group, commands) in [
        (vec!["risk"], vec!["signers", "pack", "train"]),
        (
            vec!["risk", "signers"],
            vec!["keygen", "add", "list", "revoke"],
        ),
        (
            vec!["risk", "pack"],
            vec!["sign", "check", "install", "list", "rollback", "withdraw"],
        ),
    ] {
        let mut args = group.clone();
        args.push("--help");
        let output = support::cli::inspay(dir.path(), &args);
        let help = text(&output);
        assert!(output.status.success(), "{group:?}: {help}");
        for command in commands {
            assert!(
                help.lines()
                    .any(|line| line.trim_start().starts_with(&format!("{command} "))),
                "{command} missing from {group:?} --help:\n{help}"
            );
        }
    }
    for command in [
        vec!["risk", "signers", "keygen"],
        vec!["risk", "signers", "add"],
        vec!["risk", "signers", "list"],
        vec!["risk", "signers", "revoke"],
        vec!["risk", "pack", "sign"],
        vec!["risk", "pack", "check"],
        vec!["risk", "pack", "install"],
        vec!["risk", "pack", "list"],
        vec!["risk", "pack", "rollback"],
        vec!["risk", "pack", "withdraw"],
        vec!["risk", "train"],
    ] {
        let mut args = command.clone();
        args.push("--help");
        let output = support::cli::inspay(dir.path(), &args);
        let help = text(&output);
        assert!(output.status.success(), "{command:?}: {help}");
        assert!(
            help.contains("Example"),
            "{command:?} --help has no example:\n{help}"
        );
        let example = format!("  inspay {}", command.join(" "));
        assert!(
            help.contains(&example),
            "{command:?} --help shows no example of itself:\n{help}"
        );
    }
}
