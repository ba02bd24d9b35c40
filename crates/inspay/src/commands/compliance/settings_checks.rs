//! Checks on the configuration alone: the start-up validation, the profile, the master key
//! source, the TLS settings, every threshold against the catalogue default, the configured
//! algorithm names, and the files holding secrets that the settings name.

use super::model::{Finding, Status};
use inspay_server::{Profile, Settings};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Which way a setting may move from its catalogue default and still meet the clause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    /// Smaller is stricter (a limit, a timeout, a window).
    Max,
    /// Smaller is stricter, and 0 means "no limit" (a rate limit).
    MaxNotZero,
    /// Larger is stricter (an iteration count, a waiting period).
    Min,
}

/// A clause, its check's title and the settings (JSON pointers into the settings) it covers.
type Threshold = (&'static str, &'static str, &'static [(&'static str, Bound)]);

/// The thresholds compared with the catalogue defaults (`Settings::default()` holds the
/// values the catalogue names), grouped by the clause they implement.
const THRESHOLDS: &[Threshold] = &[
    (
        "5.2.2.1-a",
        "Password hashing cost",
        &[("/identity/password_iterations", Bound::Min)],
    ),
    (
        "5.2.3.1",
        "Lockout after consecutive failures",
        &[
            ("/identity/lockout_failures", Bound::Max),
            ("/identity/lockout_minutes", Bound::Min),
        ],
    ),
    (
        "5.2.1.2",
        "Re-authentication after time in the background",
        &[("/identity/background_s", Bound::Max)],
    ),
    (
        "5.2.1.1-d2",
        "One-time code validity, tries and send limits",
        &[
            ("/identity/otp_ttl_s", Bound::Max),
            ("/identity/otp_tries", Bound::Max),
            ("/identity/sms_interval_s", Bound::Min),
            ("/identity/sms_per_day", Bound::Max),
        ],
    ),
    (
        "5.3.3.3-a",
        "Session idle and absolute timeouts",
        &[
            ("/identity/session_idle_s", Bound::Max),
            ("/identity/session_absolute_s", Bound::Max),
        ],
    ),
    (
        "5.3.3.3-c",
        "Dormant accounts need stronger authentication",
        &[("/identity/dormant_days", Bound::Max)],
    ),
    (
        "5.3.1.2",
        "Sign-in steps expire",
        &[("/identity/sign_in_flow_ttl_s", Bound::Max)],
    ),
    (
        "5.1-a",
        "Basic-level renewal threshold",
        &[("/payments/small_renewal_fen", Bound::Max)],
    ),
    (
        "5.1-b",
        "Enhanced level: step-up validity and large-payout threshold",
        &[
            ("/identity/step_up_ttl_s", Bound::Max),
            ("/payments/large_claim_fen", Bound::Max),
        ],
    ),
    (
        "5.3.3.4-a",
        "Risk: authentication grows with the amount",
        &[
            ("/risk/amount_step_up_fen", Bound::Max),
            ("/risk/amount_review_fen", Bound::Max),
            ("/risk/night_amount_fen", Bound::Max),
        ],
    ),
    (
        "5.3.3.4-b",
        "Per-transaction and daily limits",
        &[
            ("/payments/premium_per_payment_fen_max", Bound::Max),
            ("/payments/premium_per_day_fen_max", Bound::Max),
            ("/payments/premium_payments_per_day_max", Bound::Max),
            ("/payments/cancellations_per_day_max", Bound::Max),
            ("/payments/payout_per_claim_fen_max", Bound::Max),
            ("/payments/payout_per_day_fen_max", Bound::Max),
            ("/risk/velocity_count_1h_max", Bound::Max),
            ("/risk/velocity_sum_24h_fen_max", Bound::Max),
            ("/risk/payout_account_min_age_hours", Bound::Min),
            ("/risk/claim_min_policy_age_days", Bound::Min),
        ],
    ),
    (
        "5.6.2-e",
        "Anti-replay timestamp window",
        &[("/protocol/window_s", Bound::Max)],
    ),
    (
        "5.4.3.2",
        "Rate limits and attack alerts",
        &[
            ("/protection/ip_per_minute", Bound::MaxNotZero),
            ("/protection/app_per_minute", Bound::MaxNotZero),
            ("/protection/account_per_minute", Bound::MaxNotZero),
            ("/protection/alert_threshold", Bound::MaxNotZero),
        ],
    ),
    (
        "5.4.2.2",
        "Request size and time limits",
        &[
            ("/limits/body_bytes_max", Bound::Max),
            ("/limits/headers_count_max", Bound::Max),
            ("/limits/head_bytes_max", Bound::Max),
            ("/limits/request_timeout_ms", Bound::Max),
            ("/limits/handshake_timeout_ms", Bound::Max),
            ("/limits/header_read_timeout_ms", Bound::Max),
        ],
    ),
];

/// The start-up validation `inspay serve` runs: a refused setting fails the clause it names.
pub fn validation(settings: &Settings) -> Finding {
    match settings.validate() {
        Ok(()) => Finding::new(
            "6.2.4",
            "Settings pass the start-up validation",
            Status::Pass,
            vec!["every setting is within the limits `inspay serve` enforces".into()],
        ),
        Err(error) => Finding::new(
            error.clause,
            "Settings pass the start-up validation",
            Status::Fail,
            vec![
                error.to_string(),
                "`inspay serve` refuses to start with this configuration; fix the setting named"
                    .into(),
            ],
        ),
    }
}

/// The release self-check `inspay serve` runs before it starts (clause 5.4.3.5), run here on
/// this binary: the report is meant to be run with the installed release's own `inspay`.
pub fn release(settings: &Settings) -> Finding {
    const TITLE: &str = "This binary matches the signed release manifest";
    match inspay_server::release_check::check_at_start(settings) {
        Ok(Some(manifest)) => Finding::new(
            "5.4.3.5",
            TITLE,
            Status::Pass,
            vec![format!(
                "version {} (commit {}) signed by {}",
                manifest.version, manifest.build_commit, manifest.publisher.name
            )],
        ),
        Ok(None) => Finding::new(
            "5.4.3.5",
            TITLE,
            Status::NeedsAttention,
            vec![
                "no release manifest configured; the development profile allows that, the \
                 production profile refuses to start without `[release] manifest_file` and \
                 `publisher_key_file`"
                    .into(),
            ],
        ),
        Err(error) => Finding::new(
            "5.4.3.5",
            TITLE,
            Status::Fail,
            vec![
                error.to_string(),
                "`inspay serve` refuses to start with this release and configuration".into(),
            ],
        ),
    }
}

/// The settings that name a file holding a secret, each with the file it names: the TLS
/// private key, the master key file or its custodian shares, the SMS gateway's HMAC key and
/// the NATS token of the risk export. In the development profile, the generated development
/// master key and TLS key in the data directory too, once they exist.
fn secret_file_settings(settings: &Settings) -> Vec<(String, PathBuf)> {
    let mut files: Vec<(String, PathBuf)> = vec![];
    let mut named = |name: &str, path: &Option<PathBuf>| {
        if let Some(path) = path {
            files.push((name.to_string(), path.clone()));
        }
    };
    named("tls.private_key_file", &settings.tls.private_key_file);
    named("sms.http_key_file", &settings.sms.http_key_file);
    named(
        "risk.export.nats_token_file",
        &settings.risk.export.nats_token_file,
    );
    match settings.master_key.source.as_str() {
        "file" => named("master_key.file", &settings.master_key.file),
        "shares" => {
            for (index, path) in settings.master_key.share_files.iter().enumerate() {
                files.push((format!("master_key.share_files[{index}]"), path.clone()));
            }
        }
        _ => {}
    }
    if settings.profile == Profile::Development {
        let generated = [
            (
                "development master key",
                settings
                    .data_dir
                    .join(inspay_server::master_key::DEVELOPMENT_KEY_FILE),
            ),
            (
                "development TLS key",
                settings.data_dir.join("dev-tls").join("server-key.pem"),
            ),
        ];
        for (name, path) in generated {
            let configured =
                name == "development TLS key" && settings.tls.private_key_file.is_some();
            if path.exists() && !configured {
                files.push((name.to_string(), path));
            }
        }
    }
    files
}

/// Bits of a file mode that give the group or others any access.
const NOT_OWNER_BITS: u32 = 0o077;

/// One secret file: it exists, is a regular file, this process can read it, and neither its
/// group nor others have any access (mode & 0o077 == 0). Returns the status and the line.
fn secret_file(name: &str, path: &Path) -> (Status, String) {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display();
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(error) => {
            return (
                Status::Fail,
                format!(
                    "{name} = {shown}: missing or unreachable ({error}); the server cannot start with it"
                ),
            );
        }
    };
    if !metadata.is_file() {
        return (
            Status::Fail,
            format!("{name} = {shown}: not a regular file"),
        );
    }
    let mode = metadata.permissions().mode() & 0o7777;
    if mode & NOT_OWNER_BITS != 0 {
        return (
            Status::Fail,
            format!(
                "{name} = {shown}: mode {mode:04o} gives the group or others access; make it owner-only (chmod 600, owned by the server's user)"
            ),
        );
    }
    if let Err(error) = std::fs::File::open(path) {
        return (
            Status::Fail,
            format!(
                "{name} = {shown}: not readable by this user ({error}); run the report as the server's user, which must own the file"
            ),
        );
    }
    (
        Status::Pass,
        format!("{name} = {shown}: present, readable, mode {mode:04o} (owner-only)"),
    )
}

/// Files holding secrets (clause 5.6.3.2: no key plaintext recoverable from the local file
/// system by anyone but the server's user): each configured one exists, is readable by the
/// server (run the report as the server's user) and is not group or world readable.
pub fn secret_files(settings: &Settings) -> Finding {
    const TITLE: &str = "Secret files exist, are readable and are owner-only";
    let files = secret_file_settings(settings);
    if files.is_empty() {
        return Finding::new(
            "5.6.3.2",
            TITLE,
            Status::Pass,
            vec!["no setting names a secret file".into()],
        );
    }
    let mut status = Status::Pass;
    let mut evidence = vec![];
    for (name, path) in &files {
        let (row_status, line) = secret_file(name, path);
        status = status.worst(row_status);
        evidence.push(line);
    }
    Finding::new("5.6.3.2", TITLE, status, evidence)
}

/// The profile and where the master key comes from.
pub fn profile(settings: &Settings) -> Vec<Finding> {
    let production = settings.profile == Profile::Production;
    let profile = if production {
        Finding::new(
            "4-c",
            "Deployment profile",
            Status::Pass,
            vec!["profile = production: development keys and certificates are refused".into()],
        )
    } else {
        Finding::new(
            "4-c",
            "Deployment profile",
            Status::NeedsAttention,
            vec![
                "profile = development: a generated certificate and master key are allowed; \
                 set profile = \"production\" for a real installation"
                    .into(),
            ],
        )
    };
    let source = settings.master_key.source.as_str();
    let (status, note) = match (source, production) {
        ("development", true) => (
            Status::Fail,
            "the production profile must not use the development master key file",
        ),
        ("development", false) => (
            Status::NeedsAttention,
            "a generated development key file in the data directory; not for production",
        ),
        ("file" | "environment" | "shares", _) => (
            Status::Pass,
            "supplied by the operator, outside the database",
        ),
        _ => (Status::Fail, "unknown source"),
    };
    let mut evidence = vec![format!("master_key.source = {source}: {note}")];
    if source == "shares" {
        evidence.push(format!(
            "{} custodian share file(s) configured",
            settings.master_key.share_files.len()
        ));
    }
    let master = Finding::new("5.5.2.2", "Master key source", status, evidence);
    vec![profile, master]
}

/// TLS protocol version and cipher suites (5.6.2-a1, 5.6.2-a2).
pub fn tls_settings(settings: &Settings) -> Vec<Finding> {
    let version = settings.tls.min_version.as_str();
    let version_row = match version {
        "1.3" => Finding::new(
            "5.6.2-a1",
            "TLS minimum version",
            Status::Pass,
            vec!["tls.min_version = 1.3".into()],
        ),
        "1.2" => Finding::new(
            "5.6.2-a1",
            "TLS minimum version",
            Status::Pass,
            vec!["tls.min_version = 1.2 (TLS 1.2 with ECDHE and AEAD suites only, and 1.3)".into()],
        ),
        other => Finding::new(
            "5.6.2-a1",
            "TLS minimum version",
            Status::Fail,
            vec![format!(
                "tls.min_version = {other}: only 1.2 and 1.3 are allowed"
            )],
        ),
    };
    let allowed = inspay_server::tls::allowed_suite_names();
    let provider = inspay_server::tls::provider(&settings.tls.cipher_suites);
    let effective: Vec<String> = provider
        .cipher_suites
        .iter()
        .filter_map(|suite| suite.suite().as_str().map(str::to_string))
        .collect();
    let mut status = Status::Pass;
    let mut evidence = vec![if settings.tls.cipher_suites.is_empty() {
        "tls.cipher_suites not set: every allowed suite".to_string()
    } else {
        format!(
            "tls.cipher_suites = {}",
            settings.tls.cipher_suites.join(", ")
        )
    }];
    for name in &settings.tls.cipher_suites {
        if !allowed.contains(&name.as_str()) {
            status = Status::Fail;
            evidence.push(format!("'{name}' is not an allowed suite"));
        }
    }
    if effective.is_empty() {
        status = Status::Fail;
        evidence.push("no suite is left: the listener cannot accept a connection".into());
    } else {
        evidence.push(format!("offered: {}", effective.join(", ")));
    }
    let suites = Finding::new(
        "5.6.2-a2",
        "TLS cipher suites: ECDHE and AEAD only",
        status,
        evidence,
    );
    vec![version_row, suites]
}

/// Configured algorithm names (TLS suites, key algorithms) against the refusal list
/// (5.5.1.2). `stored` are the algorithm names of the key records, when they could be read.
pub fn algorithms(settings: &Settings, stored: &[String]) -> Finding {
    use inspay_crypto::algorithm::{Algorithm, check_name};
    let provider = inspay_server::tls::provider(&settings.tls.cipher_suites);
    let mut names: Vec<(String, &str)> = settings
        .tls
        .cipher_suites
        .iter()
        .map(|name| (name.clone(), "tls.cipher_suites"))
        .collect();
    names.extend(provider.cipher_suites.iter().filter_map(|suite| {
        suite
            .suite()
            .as_str()
            .map(|name| (name.to_string(), "offered TLS suite"))
    }));
    names.extend(stored.iter().map(|name| (name.clone(), "data key")));
    let mut status = Status::Pass;
    let mut evidence = vec![];
    for (name, place) in &names {
        if let Err(error) = check_name(name) {
            status = Status::Fail;
            evidence.push(format!("{place} {name}: {error}"));
        } else if *place == "data key" && Algorithm::parse(name).is_err() {
            status = Status::Fail;
            evidence.push(format!(
                "data key algorithm '{name}' is not on the allow-list"
            ));
        }
    }
    let mut stored_names: Vec<&str> = stored.iter().map(String::as_str).collect();
    stored_names.sort_unstable();
    stored_names.dedup();
    evidence.insert(
        0,
        format!(
            "{} algorithm name(s) read; data keys use {}",
            names.len(),
            if stored_names.is_empty() {
                "nothing yet".to_string()
            } else {
                stored_names.join(", ")
            }
        ),
    );
    Finding::new(
        "5.5.1.2",
        "No refused algorithm configured or stored",
        status,
        evidence,
    )
}

/// Every threshold of [`THRESHOLDS`] and every key rotation period against the catalogue
/// default: equal or stricter passes, looser (but accepted by the validation) needs
/// attention, a rate limit of 0 (no limit) fails.
pub fn thresholds(settings: &Settings) -> Vec<Finding> {
    let (Ok(actual), Ok(default)) = (
        serde_json::to_value(settings),
        serde_json::to_value(Settings::default()),
    ) else {
        return vec![];
    };
    let mut findings: Vec<Finding> = THRESHOLDS
        .iter()
        .map(|(clause, title, settings)| {
            let mut status = Status::Pass;
            let mut evidence = vec![];
            for (pointer, bound) in settings.iter() {
                let (row_status, line) = compare(&actual, &default, pointer, *bound);
                status = status.worst(row_status);
                evidence.push(line);
            }
            Finding::new(clause, title, status, evidence)
        })
        .collect();
    let mut status = Status::Pass;
    let mut evidence = vec![];
    for purpose in inspay_kms::KeyPurpose::ALL {
        let pointer = format!("/keys/rotation_days/{}", purpose.name());
        let (row_status, line) = compare(&actual, &default, &pointer, Bound::Max);
        status = status.worst(row_status);
        evidence.push(line);
    }
    findings.push(Finding::new(
        "5.2.2.1-b",
        "Key rotation periods",
        status,
        evidence,
    ));
    findings
}

fn compare(actual: &Value, default: &Value, pointer: &str, bound: Bound) -> (Status, String) {
    let name = pointer.trim_start_matches('/').replace('/', ".");
    let number = |value: &Value| value.pointer(pointer).and_then(Value::as_f64);
    let (Some(value), Some(reference)) = (number(actual), number(default)) else {
        return (
            Status::NeedsAttention,
            format!("{name}: not set, no default to compare with"),
        );
    };
    let (ok, word) = match bound {
        Bound::Max => (value <= reference, "at most"),
        Bound::MaxNotZero => (value > 0.0 && value <= reference, "at most"),
        Bound::Min => (value >= reference, "at least"),
    };
    let line = format!("{name} = {value} (catalogue default {reference}, {word})");
    if bound == Bound::MaxNotZero && value <= 0.0 {
        (Status::Fail, format!("{line}: 0 turns the limit off"))
    } else if ok {
        (Status::Pass, line)
    } else {
        (
            Status::NeedsAttention,
            format!("{line}: looser than the default"),
        )
    }
}

/// The idempotency window (5.3.1.3: no double payment): a repeated request with the same
/// key is answered from the stored result for at least 24 hours. Built in, not configurable.
pub fn idempotency() -> Finding {
    const HOURS_MIN: i64 = 24;
    let hours = inspay_store::idempotency::IDEMPOTENCY_TTL_MS / 3_600_000;
    Finding::new(
        "5.3.1.3",
        "Idempotency window",
        if hours >= HOURS_MIN {
            Status::Pass
        } else {
            Status::Fail
        },
        vec![format!(
            "repeated fund requests are answered from the stored result for {hours} h (at least {HOURS_MIN} h; built in)"
        )],
    )
}

/// `[monitoring]` thresholds (5.4.4.1), read by name so the report works whether or not the
/// build has them: each `*_max` no looser than its default, each `*_percent_max` below 100.
pub fn monitoring(settings: &Settings) -> Option<Finding> {
    let actual = serde_json::to_value(settings).ok()?;
    let default = serde_json::to_value(Settings::default()).ok()?;
    monitoring_values(&actual, &default)
}

fn monitoring_values(actual: &Value, default: &Value) -> Option<Finding> {
    let section = actual.get("monitoring")?.as_object()?;
    let mut status = Status::Pass;
    let mut evidence = vec![];
    for (key, setting) in section {
        if key.ends_with("_max") && setting.is_number() {
            let (row_status, line) =
                compare(actual, default, &format!("/monitoring/{key}"), Bound::Max);
            status = status.worst(row_status);
            evidence.push(line);
            if key.ends_with("_percent_max") && setting.as_f64().is_some_and(|n| n >= 100.0) {
                status = status.worst(Status::NeedsAttention);
                evidence.push(format!(
                    "monitoring.{key}: at 100 % the alert comes only once the resource is exhausted"
                ));
            }
        } else if setting.is_number() || setting.is_boolean() {
            evidence.push(format!("monitoring.{key} = {setting}"));
        }
    }
    Some(Finding::new(
        "5.4.4.1",
        "Monitoring thresholds",
        status,
        evidence,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_meet_every_threshold() {
        let settings = Settings::default();
        for finding in thresholds(&settings) {
            assert_eq!(finding.status, Status::Pass, "{finding:?}");
        }
    }

    #[test]
    fn looser_and_unlimited_settings_are_flagged() {
        let mut settings = Settings::default();
        settings.identity.session_idle_s = 1_200;
        settings.protection.ip_per_minute = 0;
        let findings = thresholds(&settings);
        let status = |clause: &str| {
            findings
                .iter()
                .find(|finding| finding.clause == clause)
                .map(|finding| finding.status)
        };
        assert_eq!(status("5.3.3.3-a"), Some(Status::NeedsAttention));
        assert_eq!(status("5.4.3.2"), Some(Status::Fail));
        assert_eq!(status("5.2.3.1"), Some(Status::Pass));
    }

    #[test]
    fn a_development_master_key_fails_in_production() {
        let settings = Settings {
            profile: Profile::Production,
            ..Settings::default()
        };
        let rows = profile(&settings);
        assert_eq!(rows[0].status, Status::Pass);
        assert_eq!(rows[1].status, Status::Fail);
    }

    #[test]
    fn monitoring_thresholds_are_read_when_present() {
        let default =
            serde_json::json!({"monitoring": {"cpu_percent_max": 85, "sample_interval_s": 10}});
        assert!(monitoring_values(&serde_json::json!({}), &default).is_none());
        let same = monitoring_values(&default, &default).expect("a row");
        assert_eq!(same.status, Status::Pass, "{same:?}");
        let looser =
            serde_json::json!({"monitoring": {"cpu_percent_max": 100, "sample_interval_s": 10}});
        let row = monitoring_values(&looser, &default).expect("a row");
        assert_eq!(row.status, Status::NeedsAttention, "{row:?}");
        assert_eq!(row.clause, "5.4.4.1");
    }

    fn write(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, b"00112233445566778899aabbccddeeff\n").expect("file");
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("mode");
    }

    /// Every secret file a setting names is checked: a missing one, a directory, and one the
    /// group or others may read fail, each named with its setting; owner-only files pass.
    /// req: 5.6.3.2
    #[test]
    fn secret_files_must_exist_and_be_owner_only() {
        let dir = tempfile::tempdir().expect("dir");
        let key = dir.path().join("sms.key");
        let tls = dir.path().join("tls-key.pem");
        let token = dir.path().join("nats.token");
        write(&key, 0o600);
        write(&tls, 0o400);
        write(&token, 0o600);
        let mut settings = Settings {
            data_dir: dir.path().join("data"),
            ..Settings::default()
        };
        assert_eq!(secret_files(&settings).status, Status::Pass);

        settings.sms.http_key_file = Some(key.clone());
        settings.tls.private_key_file = Some(tls.clone());
        settings.risk.export.nats_token_file = Some(token.clone());
        let finding = secret_files(&settings);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
        assert_eq!(finding.clause, "5.6.3.2");
        assert_eq!(finding.evidence.len(), 3, "{finding:?}");

        for (mode, word) in [(0o640, "0640"), (0o604, "0604"), (0o610, "0610")] {
            write(&key, mode);
            let finding = secret_files(&settings);
            assert_eq!(finding.status, Status::Fail, "{mode:o}: {finding:?}");
            let line = finding
                .evidence
                .iter()
                .find(|line| line.starts_with("sms.http_key_file"))
                .expect("the SMS key line");
            assert!(line.contains(word) && line.contains("chmod 600"), "{line}");
        }
        write(&key, 0o600);

        settings.tls.private_key_file = Some(dir.path().join("missing.pem"));
        let finding = secret_files(&settings);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(
            finding
                .evidence
                .iter()
                .any(|line| line.starts_with("tls.private_key_file") && line.contains("missing")),
            "{finding:?}"
        );

        settings.tls.private_key_file = Some(tls);
        settings.master_key.source = "shares".into();
        settings.master_key.share_files = vec![token.clone(), dir.path().to_path_buf()];
        let finding = secret_files(&settings);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        assert!(
            finding
                .evidence
                .iter()
                .any(|line| line.starts_with("master_key.share_files[1]")
                    && line.contains("not a regular file")),
            "{finding:?}"
        );
    }

    /// In the development profile the generated master key in the data directory is checked
    /// once it exists.
    /// req: 5.6.3.2
    #[test]
    fn the_generated_development_key_is_checked_too() {
        let dir = tempfile::tempdir().expect("dir");
        let settings = Settings {
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        let key = dir
            .path()
            .join(inspay_server::master_key::DEVELOPMENT_KEY_FILE);
        write(&key, 0o644);
        let finding = secret_files(&settings);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
        write(&key, 0o600);
        assert_eq!(secret_files(&settings).status, Status::Pass);
    }

    #[test]
    fn refused_algorithm_names_fail() {
        let settings = Settings::default();
        let finding = algorithms(&settings, &["sm4-gcm".into(), "hmac-sm3".into()]);
        assert_eq!(finding.status, Status::Pass, "{finding:?}");
        let finding = algorithms(&settings, &["rc4".into()]);
        assert_eq!(finding.status, Status::Fail, "{finding:?}");
    }
}
