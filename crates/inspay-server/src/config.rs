//! Configuration: built-in defaults, then an optional TOML file, then `INSPAY__`-prefixed
//! environment variables (`INSPAY__LISTEN__ADDRESS=0.0.0.0:8443`). Every limit is named and
//! explained here, and [`Settings::validate`] refuses any setting that would break a clause
//! of the requirement catalogue, naming the clause.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use inspay_crypto::algorithm::check_name;
use inspay_kms::KeyPurpose;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Which rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Profile {
    /// Local development: generated certificate and master key are allowed (and marked).
    Development,
    /// Production: development keys and certificates are refused.
    Production,
}

/// All settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Development or production.
    pub profile: Profile,
    /// Where the SQLite database and development material live.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`; empty means `sqlite://<data_dir>/inspay.db`.
    pub database_url: String,
    /// Listeners.
    pub listen: ListenSettings,
    /// TLS.
    pub tls: TlsSettings,
    /// `[tlcp]`: the national-cryptography listener (TLCP and TLS 1.3 SM suites), off unless
    /// `tlcp.address` is set.
    #[serde(default)]
    pub tlcp: crate::tlcp_settings::TlcpSettings,
    /// Where the master key comes from.
    pub master_key: MasterKeySettings,
    /// Request limits.
    pub limits: Limits,
    /// Database pool.
    pub database: DatabaseSettings,
    /// Key maintenance.
    pub keys: KeySettings,
    /// Logging.
    pub log: LogSettings,
    /// Identity: factors, lockout, sessions, one-time codes, closure.
    pub identity: crate::identity_settings::IdentitySettings,
    /// Where text messages (one-time codes) are sent.
    pub sms: crate::sms::SmsSettings,
    /// The signed request protocol.
    pub protocol: crate::protocol::ProtocolSettings,
    /// Rate limits, attack detection and the administration allow-list.
    pub protection: crate::defence::ProtectionSettings,
    /// `[payments]`: security-level thresholds, fund limits and the payment channel.
    pub payments: crate::payments::settings::PaymentSettings,
    /// `[risk]`: the risk engine (clause 5.3.3; rule packs, clause 6.3.7).
    pub risk: crate::risk::settings::RiskSettings,
    /// `[monitoring]`: host sampling and its alert thresholds (clause 5.4.4.1).
    #[serde(default)]
    pub monitoring: crate::monitoring::MonitoringSettings,
    /// `[release]`: the signed manifest the binary is checked against at start (clause 5.4.3.5).
    #[serde(default)]
    pub release: crate::release_check::ReleaseSettings,
}

/// Listener addresses.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenSettings {
    /// The HTTPS listener.
    pub address: SocketAddr,
    /// An optional second listener that requires a client certificate (clause 5.6.2-a3).
    pub mtls_address: Option<SocketAddr>,
    /// PEM file of the CA(s) that sign client certificates for the mTLS listener.
    pub client_ca_file: Option<PathBuf>,
    /// An optional administration listener (clause 4-c): HTTPS with the main listener's
    /// certificate, serving only `GET /metrics` (Prometheus) and `GET /health/live`, to
    /// callers in `protection.admin_networks`. None (the default): no such listener, and the
    /// metrics are not served at all.
    #[serde(default)]
    pub admin_address: Option<SocketAddr>,
}

/// TLS settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM certificate chain; empty in development means "generate one".
    pub certificate_file: Option<PathBuf>,
    /// PEM private key (PKCS#8, SEC1 or PKCS#1).
    pub private_key_file: Option<PathBuf>,
    /// Lowest protocol version: "1.2" or "1.3" (clause 5.6.2-a1).
    pub min_version: String,
    /// Optional subset of the allowed cipher suites, by rustls name; empty means all allowed.
    pub cipher_suites: Vec<String>,
}

/// Master key source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MasterKeySettings {
    /// "development", "file", "environment" (`INSPAY_MASTER_KEY`) or "shares".
    pub source: String,
    /// Key file for source "file".
    pub file: Option<PathBuf>,
    /// Share files for source "shares" (two or more custodians).
    pub share_files: Vec<PathBuf>,
}

/// Limits on what a request may be (clause 5.4.2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest request body; larger bodies get 413 before they are read.
    pub body_bytes_max: usize,
    /// Most request headers.
    pub headers_count_max: usize,
    /// Largest request head (request line plus headers), in bytes; hyper's minimum is 8192.
    pub head_bytes_max: usize,
    /// Time a request may take end to end.
    pub request_timeout_ms: u64,
    /// Time a client has to finish the TLS handshake.
    pub handshake_timeout_ms: u64,
    /// Time a client has to send the request head.
    pub header_read_timeout_ms: u64,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace_ms: u64,
}

/// Database pool settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseSettings {
    /// Most pooled connections.
    pub connections_max: u32,
    /// Wait for a free connection.
    pub acquire_timeout_ms: u64,
    /// Start-up connection attempts before giving up.
    pub connect_attempts_max: u32,
    /// Whether the server applies pending migrations when it starts. True by default
    /// (development, SQLite). The production profile on PostgreSQL refuses true: there the
    /// operator applies migrations with the schema owner's role (`inspay db migrate`), and the
    /// server, connected as a runtime role without DDL rights, only checks that the schema is
    /// current and refuses to start otherwise (clause 5.3.1.1).
    #[serde(default = "migrate_on_start_default")]
    pub migrate_on_start: bool,
}

fn migrate_on_start_default() -> bool {
    true
}

/// Key maintenance.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySettings {
    /// Rotation period per purpose, in days.
    pub rotation_days: std::collections::BTreeMap<String, u32>,
    /// How often the server runs scheduled rotation and due destructions.
    pub maintenance_interval_s: u64,
    /// How often the server signs an audit checkpoint.
    pub audit_checkpoint_interval_s: u64,
    /// How often the server reloads keys (so transitions made on another node take effect).
    pub reload_interval_s: u64,
}

/// Logging.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// `tracing` filter, e.g. "info" or "inspay_server=debug,info".
    pub filter: String,
}

/// Longest rotation period allowed for any key, in days (clause 5.2.2.1-b: keys rotate on a
/// schedule).
pub const ROTATION_DAYS_MAX: u32 = 730;
/// Largest body limit accepted.
pub const BODY_BYTES_MAX_CEILING: usize = 10 * 1024 * 1024;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            profile: Profile::Development,
            data_dir: PathBuf::from("data"),
            database_url: String::new(),
            listen: ListenSettings {
                address: SocketAddr::from(([127, 0, 0, 1], 8443)),
                mtls_address: None,
                client_ca_file: None,
                admin_address: None,
            },
            tls: TlsSettings {
                certificate_file: None,
                private_key_file: None,
                min_version: "1.2".into(),
                cipher_suites: vec![],
            },
            tlcp: crate::tlcp_settings::TlcpSettings::default(),
            master_key: MasterKeySettings {
                source: "development".into(),
                file: None,
                share_files: vec![],
            },
            limits: Limits {
                body_bytes_max: 64 * 1024,
                headers_count_max: 64,
                head_bytes_max: 16 * 1024,
                request_timeout_ms: 15_000,
                handshake_timeout_ms: 10_000,
                header_read_timeout_ms: 10_000,
                shutdown_grace_ms: 10_000,
            },
            database: DatabaseSettings {
                connections_max: 10,
                acquire_timeout_ms: 5_000,
                connect_attempts_max: 8,
                migrate_on_start: migrate_on_start_default(),
            },
            keys: KeySettings {
                rotation_days: KeyPurpose::ALL
                    .into_iter()
                    .map(|purpose| (purpose.name().to_string(), purpose.rotation_days_default()))
                    .collect(),
                maintenance_interval_s: 3_600,
                audit_checkpoint_interval_s: 60,
                reload_interval_s: 30,
            },
            log: LogSettings {
                filter: "info".into(),
            },
            identity: crate::identity_settings::IdentitySettings::default(),
            sms: crate::sms::SmsSettings::default(),
            protocol: crate::protocol::ProtocolSettings::default(),
            protection: crate::defence::ProtectionSettings::default(),
            payments: crate::payments::settings::PaymentSettings::default(),
            risk: crate::risk::settings::RiskSettings::default(),
            monitoring: crate::monitoring::MonitoringSettings::default(),
            release: crate::release_check::ReleaseSettings::default(),
        }
    }
}

/// A setting that is refused, with the clause it would break.
#[derive(Debug, thiserror::Error)]
#[error("configuration refused: {setting}: {reason} (clause {clause})")]
pub struct ConfigError {
    /// The setting, as a dotted path.
    pub setting: String,
    /// What is wrong and what to do.
    pub reason: String,
    /// The requirement it would break.
    pub clause: &'static str,
}

fn refuse(setting: &str, reason: impl Into<String>, clause: &'static str) -> ConfigError {
    ConfigError {
        setting: setting.into(),
        reason: reason.into(),
        clause,
    }
}

impl Settings {
    /// Loads defaults, then `file` (if given), then `INSPAY__*` environment variables.
    pub fn load(file: Option<&Path>) -> Result<Settings, Box<figment::Error>> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment = figment.merge(Env::prefixed("INSPAY__").split("__").lowercase(true));
        figment.extract().map_err(Box::new)
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}/inspay.db?mode=rwc", self.data_dir.display())
        } else {
            self.database_url.clone()
        }
    }

    /// The rotation policy for the key store.
    pub fn rotation_policy(&self) -> inspay_store::keys::RotationPolicy {
        inspay_store::keys::RotationPolicy {
            days: KeyPurpose::ALL
                .into_iter()
                .map(|purpose| {
                    let days = self
                        .keys
                        .rotation_days
                        .get(purpose.name())
                        .copied()
                        .unwrap_or(purpose.rotation_days_default());
                    (purpose, days)
                })
                .collect(),
        }
    }

    /// Refuses settings that would break a clause. Checks that need files (certificates,
    /// keys) happen when those are loaded.
    pub fn validate(&self) -> Result<(), ConfigError> {
        match self.tls.min_version.as_str() {
            "1.2" | "1.3" => {}
            other => {
                return Err(refuse(
                    "tls.min_version",
                    format!(
                        "'{other}' is not allowed; use \"1.2\" or \"1.3\" (SSL and TLS 1.0/1.1 have known attacks)"
                    ),
                    "5.6.2-a2",
                ));
            }
        }
        for suite in &self.tls.cipher_suites {
            check_name(suite)
                .map_err(|error| refuse("tls.cipher_suites", error.to_string(), "5.5.1.2"))?;
            if !crate::tls::allowed_suite_names().contains(&suite.as_str()) {
                return Err(refuse(
                    "tls.cipher_suites",
                    format!(
                        "'{suite}' is not an allowed suite; allowed: {}",
                        crate::tls::allowed_suite_names().join(", ")
                    ),
                    "5.6.2-a1",
                ));
            }
        }
        self.tlcp
            .check(self.profile == Profile::Production)
            .map_err(|(setting, reason)| refuse(setting, reason, "5.6.2-a1"))?;
        if !(1..=inspay_protocol::WINDOW_S).contains(&self.protocol.window_s) {
            return Err(refuse(
                "protocol.window_s",
                format!("must be 1..={} seconds", inspay_protocol::WINDOW_S),
                "5.6.2-e",
            ));
        }
        if !(1..=inspay_store::client_apps::SDK_CHARS_MAX).contains(&self.protocol.sdk_chars_max) {
            return Err(refuse(
                "protocol.sdk_chars_max",
                format!(
                    "must be 1..={} (the longest SDK report the evidence keeps)",
                    inspay_store::client_apps::SDK_CHARS_MAX
                ),
                "6.4.6",
            ));
        }
        if !(0..=crate::protocol::APP_CACHE_MS_MAX).contains(&self.protocol.app_cache_ms) {
            return Err(refuse(
                "protocol.app_cache_ms",
                format!(
                    "must be 0..={} ms: a revoked application or key must stop working within seconds",
                    crate::protocol::APP_CACHE_MS_MAX
                ),
                "5.4.2.1",
            ));
        }
        if self.profile == Profile::Production
            && self.protocol.signatures != crate::protocol::SignatureMode::Required
        {
            return Err(refuse(
                "protocol.signatures",
                "must be \"required\" in production: every client request is signed".to_string(),
                "5.6.2-c",
            ));
        }
        if self.profile == Profile::Production
            && self.protocol.field_encryption != crate::protocol::FieldEncryptionMode::Required
        {
            return Err(refuse(
                "protocol.field_encryption",
                "must be \"required\" in production: sensitive fields are encrypted by the client"
                    .to_string(),
                "5.2.2.1-c",
            ));
        }
        if let Some((setting, reason, clause)) = self.payments.refusal() {
            return Err(refuse(setting, reason, clause));
        }
        if let Some((setting, reason)) = self.risk.refusal() {
            return Err(refuse(setting, reason, "6.3.7"));
        }
        if let Some((setting, reason)) = self.risk.export.refusal_in(self.profile) {
            return Err(refuse(setting, reason, "5.3.3.5"));
        }
        if let Some((setting, reason)) = self.monitoring.refusal() {
            return Err(refuse(setting, reason, "5.4.4.1"));
        }
        if self.profile == Profile::Production
            && self
                .payments
                .channel
                .url
                .as_deref()
                .is_some_and(|url| !url.starts_with("https://"))
        {
            return Err(refuse(
                "payments.channel.url",
                "must be https:// in production: card numbers travel to the channel".to_string(),
                "5.6.2-a2",
            ));
        }
        let protection = &self.protection;
        for (setting, networks) in [
            ("protection.admin_networks", &protection.admin_networks),
            ("protection.trusted_proxies", &protection.trusted_proxies),
        ] {
            if let Some(network) = networks
                .iter()
                .find(|network| crate::defence::Network::parse(network).is_none())
            {
                return Err(refuse(
                    setting,
                    format!("'{network}' is not an address or CIDR network (10.0.0.0/8, ::1/128)"),
                    "5.4.3.2",
                ));
            }
        }
        let limits = &self.limits;
        if limits.body_bytes_max == 0 || limits.body_bytes_max > BODY_BYTES_MAX_CEILING {
            return Err(refuse(
                "limits.body_bytes_max",
                format!("must be 1..={BODY_BYTES_MAX_CEILING}"),
                "5.4.2.2",
            ));
        }
        if !(8..=256).contains(&limits.headers_count_max) {
            return Err(refuse(
                "limits.headers_count_max",
                "must be 8..=256",
                "5.4.2.2",
            ));
        }
        if !(8192..=1024 * 1024).contains(&limits.head_bytes_max) {
            return Err(refuse(
                "limits.head_bytes_max",
                "must be 8192..=1048576",
                "5.4.2.2",
            ));
        }
        for (name, days) in &self.keys.rotation_days {
            if KeyPurpose::parse(name).is_none() {
                return Err(refuse(
                    "keys.rotation_days",
                    format!("unknown key purpose '{name}'"),
                    "5.5.2.1",
                ));
            }
            if *days == 0 || *days > ROTATION_DAYS_MAX {
                return Err(refuse(
                    "keys.rotation_days",
                    format!(
                        "{name}: {days} days; keys must rotate at least every {ROTATION_DAYS_MAX} days"
                    ),
                    "5.2.2.1-b",
                ));
            }
        }
        // The SMS gateway settings are checked when the gateway is built, after the key and
        // certificate checks, so the first refusal names the most basic problem.
        self.identity.validate()?;
        match self.master_key.source.as_str() {
            "development" | "file" | "environment" | "shares" => {}
            other => {
                return Err(refuse(
                    "master_key.source",
                    format!("'{other}' is unknown; use file, environment or shares"),
                    "5.5.2.2",
                ));
            }
        }
        if self.profile == Profile::Production {
            if self.master_key.source == "development" {
                return Err(refuse(
                    "master_key.source",
                    "the production profile refuses a development master key; supply one from a file, \
                     INSPAY_MASTER_KEY or custodian shares",
                    "5.5.2.2",
                ));
            }
            if self.tls.certificate_file.is_none() || self.tls.private_key_file.is_none() {
                return Err(refuse(
                    "tls.certificate_file",
                    "the production profile needs an operator-supplied certificate and key; \
                     it refuses the generated development certificate",
                    "5.6.2-a3",
                ));
            }
            if let Some((setting, reason, clause)) =
                production_database_refusal(&self.database_url(), self.database.migrate_on_start)
            {
                return Err(refuse(setting, reason, clause));
            }
            if self.listen.mtls_address.is_some() && self.listen.client_ca_file.is_none() {
                return Err(refuse(
                    "listen.client_ca_file",
                    "the mTLS listener needs a client CA file",
                    "5.6.2-a3",
                ));
            }
        }
        Ok(())
    }
}

/// Why the production profile refuses this PostgreSQL connection, if it does: `setting`,
/// reason with what to do, clause. SQLite is never refused here (its file is guarded by the
/// operating system user).
///
/// A server that is not on the same host (not a Unix socket, not a loopback address) must be
/// reached with `sslmode=verify-full` (clause 5.6.2-a): TLS, a certificate chain to a trusted
/// CA (`sslrootcert=FILE`, or the public CAs built into the binary) and the host name in the
/// certificate. `verify-ca` is refused although libpq treats it as safe with a private CA:
/// sqlx adds the public web CAs to `sslrootcert`, so without the name check any certificate
/// any public CA issued to anyone would be accepted. `require` and weaker modes check nothing.
///
/// `database.migrate_on_start` must be false on PostgreSQL: the server's role has no DDL
/// rights; migrations are the schema owner's (clause 5.3.1.1).
pub fn production_database_refusal(
    url: &str,
    migrate_on_start: bool,
) -> Option<(&'static str, String, &'static str)> {
    if inspay_store::Backend::from_url(url).ok()? != inspay_store::Backend::Postgres {
        return None;
    }
    if migrate_on_start {
        return Some((
            "database.migrate_on_start",
            "must be false in production on PostgreSQL: the server connects as a runtime role \
             without DDL rights; apply migrations with the schema owner's role \
             (inspay db migrate --database-url <owner URL>) and grant the runtime role its rights \
             (inspay db grant-runtime <role> --database-url <owner URL>)"
                .to_string(),
            "5.3.1.1",
        ));
    }
    let Some(target) = inspay_store::PostgresTarget::parse(url) else {
        return Some((
            "database_url",
            "is not a PostgreSQL URL that can be read \
             (postgres://ROLE@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=FILE)"
                .to_string(),
            "5.6.2-a1",
        ));
    };
    if target.local || target.verify_full {
        return None;
    }
    Some((
        "database_url",
        format!(
            "the database host {} is not on this machine, so the connection must use TLS that \
             checks the server: add sslmode=verify-full&sslrootcert=/etc/inspay/tls/database-ca.pem \
             (the CA that issued the PostgreSQL server's certificate; the URL's host must be a name \
             in that certificate). sslmode=require and verify-ca are refused (docs/deployment.md, \
             \"PostgreSQL\")",
            target.host
        ),
        "5.6.2-a1",
    ))
}

#[cfg(test)]
mod database_tests {
    use super::production_database_refusal;

    fn refused(url: &str) -> Option<String> {
        production_database_refusal(url, false)
            .map(|(setting, reason, _)| format!("{setting}: {reason}"))
    }

    /// The production profile refuses a remote PostgreSQL connection unless it is TLS that
    /// verifies the server's certificate and name; local connections and SQLite pass.
    /// req: 5.6.2-a1, 5.6.2-b3, 4-c
    #[test]
    fn remote_postgres_needs_verify_full() {
        for url in [
            "postgres://inspay_app@10.30.0.10:5432/inspay",
            "postgres://inspay_app@db.example:5432/inspay?sslmode=require",
            "postgres://inspay_app@db.example:5432/inspay?sslmode=prefer",
            "postgres://inspay_app@db.example:5432/inspay?sslmode=disable",
            "postgres://inspay_app@db.example/inspay?sslmode=verify-ca&sslrootcert=/etc/ca.pem",
            "postgresql://inspay_app@[2001:db8::1]:5432/inspay",
        ] {
            let error = refused(url).unwrap_or_else(|| panic!("accepted {url}"));
            assert!(
                error.starts_with("database_url") && error.contains("sslmode=verify-full"),
                "{error}"
            );
        }
        for url in [
            "postgres://inspay_app@db.example:5432/inspay?sslmode=verify-full&sslrootcert=/etc/ca.pem",
            "postgres://inspay_app@db.example:5432/inspay?sslmode=verify-full",
            "postgres://inspay_app@127.0.0.1:5432/inspay",
            "postgres://inspay_app@localhost/inspay",
            "postgres://inspay_app@[::1]:5432/inspay",
            "postgres://inspay_app@%2Fvar%2Frun%2Fpostgresql/inspay",
            "postgres:///inspay?host=/var/run/postgresql&user=inspay_app",
            "sqlite:///var/lib/inspay/inspay.db",
        ] {
            assert_eq!(refused(url), None, "{url}");
        }
    }

    /// Production on PostgreSQL does not migrate at start: the schema owner does.
    /// req: 5.3.1.1
    #[test]
    fn production_postgres_does_not_migrate_at_start() {
        let url = "postgres://inspay_app@127.0.0.1:5432/inspay";
        let (setting, reason, clause) =
            production_database_refusal(url, true).expect("migrate_on_start refused");
        assert_eq!((setting, clause), ("database.migrate_on_start", "5.3.1.1"));
        assert!(reason.contains("inspay db migrate"), "{reason}");
        assert!(production_database_refusal("sqlite://data/inspay.db", true).is_none());
    }
}
