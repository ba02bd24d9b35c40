//! `inspay apps`: the client-application registry (clauses 5.4.2.1, 4-a, 6.4.5, 6.4.6) and the
//! evidence of signed requests it lets an auditor verify again (clause 5.6.2-d1).
//!
//! Every change is audited by the store with the operator as the actor (`client-app.*`).
//! `apps evidence` re-verifies each kept row on its own: the record MAC, the client's SM2
//! signature with the application's key of that serial, and the server's response signature
//! with the response-signing key of that version, and exits non-zero if any row fails.

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use inspay_crypto::sm2::Sm2PublicKey;
use inspay_kms::{KeyPurpose, KeyState, Keyring, MasterKey};
use inspay_protocol::authorization::{SCHEME, SignedHeader};
use inspay_protocol::canonical::CanonicalRequest;
use inspay_protocol::response::{CanonicalResponse, ResponseSignature};
use inspay_store::client_apps::{
    AppClass, AppKey, AppStatus, ClientApp, NewClientApp, parse_version,
};
use inspay_store::keys::Actor;
use inspay_store::request_evidence::{Evidence, StoredEvidence};
use inspay_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Client-application commands.
#[derive(Debug, Subcommand)]
pub enum AppsCommand {
    /// Register a client application with its class and first SM2 public key (serial 1),
    /// optionally the client certificate it must present on the mutual-TLS listener and the
    /// oldest SDK version it may use.
    #[command(
        after_help = "Examples:\n  inspay apps register --id claims-app --name \"Claims app\" --class fund-transaction --public-key claims-app.pub.pem\n  inspay apps register --id quotes-web --name \"Quote site\" --class information-query --public-key quotes.pub.pem --client-cert quotes.crt.pem --min-sdk-version 1.2.0\n\nMake the key pair on the application's side, for example:\n  openssl genpkey -algorithm SM2 -out app.key && openssl pkey -in app.key -pubout -out app.pub.pem"
    )]
    Register {
        /// The application id the client sends as `app_id`: 1 to 64 of A-Z a-z 0-9 - _.
        /// Never reused, not even after the application is revoked.
        #[arg(long)]
        id: String,
        /// A display name (1 to 128 characters).
        #[arg(long)]
        name: String,
        /// The highest operation class it may call: information-query,
        /// information-collection or fund-transaction.
        #[arg(long, value_parser = parse_class)]
        class: AppClass,
        /// PEM file of the application's SM2 public key (SubjectPublicKeyInfo).
        #[arg(long)]
        public_key: PathBuf,
        /// PEM file of the client certificate it must present over mutual TLS (its SM3
        /// fingerprint is stored).
        #[arg(long)]
        client_cert: Option<PathBuf>,
        /// The oldest SDK version it may use (major.minor.patch); older ones are told to
        /// update.
        #[arg(long, value_parser = parse_sdk_version)]
        min_sdk_version: Option<String>,
    },
    /// List registered applications with their class, status, keys and the SDK they last
    /// reported.
    #[command(after_help = "Examples:\n  inspay apps list\n  inspay apps list --json")]
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Add a new SM2 public key to an application (a rotation): it gets the next serial, and
    /// the older keys stay live until you revoke them.
    #[command(
        after_help = "Example:\n  inspay apps add-key --id claims-app --public-key claims-app-2026.pub.pem\n  (once every client signs with the new serial:)\n  inspay apps revoke-key --id claims-app --serial 1"
    )]
    AddKey {
        /// The application id.
        #[arg(long)]
        id: String,
        /// PEM file of the new SM2 public key (SubjectPublicKeyInfo).
        #[arg(long)]
        public_key: PathBuf,
    },
    /// Revoke one of an application's keys; requests signed with it are refused from then
    /// on. The last live key of an active application cannot be revoked: add a new key first,
    /// or suspend the application.
    #[command(after_help = "Example:\n  inspay apps revoke-key --id claims-app --serial 1")]
    RevokeKey {
        /// The application id.
        #[arg(long)]
        id: String,
        /// The key serial (see `inspay apps list`).
        #[arg(long)]
        serial: u32,
    },
    /// Suspend an application: its requests are refused until it is resumed.
    #[command(after_help = "Example:\n  inspay apps suspend --id claims-app")]
    Suspend(AppArg),
    /// Resume a suspended application.
    #[command(after_help = "Example:\n  inspay apps resume --id claims-app")]
    Resume(AppArg),
    /// Revoke an application and all its keys. This is FINAL: a revoked application can never
    /// be resumed and its id is never reused; to let the client back, register it under a new
    /// id. No confirmation is asked.
    #[command(after_help = "Example:\n  inspay apps revoke --id old-claims-app")]
    Revoke(AppArg),
    /// Change an application's oldest allowed SDK version or the client certificate it must
    /// present over mutual TLS.
    #[command(
        after_help = "Examples:\n  inspay apps configure --id claims-app --min-sdk-version 1.3.0\n  inspay apps configure --id claims-app --client-cert claims-app-2026.crt.pem\n  inspay apps configure --id claims-app --no-min-sdk-version --no-client-cert"
    )]
    Configure {
        /// The application id.
        #[arg(long)]
        id: String,
        /// The oldest SDK version it may use (major.minor.patch).
        #[arg(long, value_parser = parse_sdk_version, conflicts_with = "no_min_sdk_version")]
        min_sdk_version: Option<String>,
        /// Allow every SDK version again.
        #[arg(long)]
        no_min_sdk_version: bool,
        /// PEM file of the client certificate it must present over mutual TLS from now on.
        #[arg(long, conflicts_with = "no_client_cert")]
        client_cert: Option<PathBuf>,
        /// Stop requiring a client certificate.
        #[arg(long)]
        no_client_cert: bool,
    },
    /// Verify the kept evidence of signed requests again (non-repudiation): each row's record
    /// MAC, the client's signature with its key of that serial, and the server's response
    /// signature. Exits with status 1 if any row fails.
    #[command(
        after_help = "Examples:\n  inspay apps evidence --id claims-app --since 2026-01-01 --until 2026-03-31\n  inspay apps evidence --limit 1000 --json > evidence.json"
    )]
    Evidence {
        /// Only this application.
        #[arg(long)]
        id: Option<String>,
        /// First day (UTC), YYYY-MM-DD.
        #[arg(long)]
        since: Option<String>,
        /// Last day (UTC, included), YYYY-MM-DD.
        #[arg(long)]
        until: Option<String>,
        /// At most this many rows, oldest first.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        limit: u32,
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// An application id.
#[derive(Debug, Args)]
pub struct AppArg {
    /// The application id.
    #[arg(long)]
    id: String,
}

fn parse_class(name: &str) -> Result<AppClass, String> {
    AppClass::parse(name).ok_or_else(|| {
        let names: Vec<&str> = AppClass::ALL.iter().map(|class| class.name()).collect();
        format!("unknown class '{name}'; use one of: {}", names.join(", "))
    })
}

fn parse_sdk_version(text: &str) -> Result<String, String> {
    parse_version(text)
        .map(|_| text.to_string())
        .ok_or_else(|| format!("'{text}' is not a version; use major.minor.patch, e.g. 1.2.0"))
}

/// A store refusal as a message that says what went wrong without the `refused:` prefix.
fn explain(error: StoreError) -> anyhow::Error {
    match error {
        StoreError::Conflict(reason) | StoreError::Refused(reason) => anyhow!("{reason}"),
        StoreError::NotFound(what) => anyhow!("{what} not found; see `inspay apps list`"),
        other => anyhow::Error::new(other),
    }
}

/// A conflict on a key, with the next step.
fn explain_key(error: StoreError) -> anyhow::Error {
    match error {
        StoreError::Conflict(reason) => anyhow!(
            "{reason}; make a new key pair for the application (`openssl genpkey -algorithm SM2`)"
        ),
        other => explain(other),
    }
}

fn read_public_key(path: &Path) -> anyhow::Result<Sm2PublicKey> {
    let pem =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    Sm2PublicKey::from_spki_pem(&pem).map_err(|_| {
        anyhow!(
            "{} is not an SM2 public key in PEM (SubjectPublicKeyInfo); export it with `openssl pkey -in app.key -pubout`",
            path.display()
        )
    })
}

/// The SM3 fingerprint (hex) of the first certificate of a PEM file, as the mutual-TLS
/// listener computes it from the certificate a client presents.
fn certificate_fingerprint(path: &Path) -> anyhow::Result<String> {
    use inspay_server::tls::{TlsError, read_certificates};
    let chain = read_certificates(path).map_err(|error| match error {
        TlsError::Read { source, .. } => anyhow!("cannot read {}: {source}", path.display()),
        other => anyhow!(
            "{other}; give the application's client certificate as PEM (-----BEGIN CERTIFICATE-----)"
        ),
    })?;
    let leaf = chain
        .first()
        .with_context(|| format!("{}: no certificate found", path.display()))?;
    Ok(hex(&inspay_crypto::sm3::sm3(leaf.as_ref())))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

async fn find(store: &Store, id: &str) -> anyhow::Result<(ClientApp, Vec<AppKey>)> {
    store
        .client_apps_list()
        .await?
        .into_iter()
        .find(|(app, _)| app.id == id)
        .with_context(|| {
            format!("no client application is registered as {id}; see `inspay apps list`")
        })
}

fn refuse_revoked(app: &ClientApp) -> anyhow::Result<()> {
    if app.status == AppStatus::Revoked {
        bail!(
            "{} is revoked, which is final; register the application again under a new id",
            app.id
        );
    }
    Ok(())
}

/// Runs an apps command.
pub async fn run(config: Option<&Path>, command: AppsCommand) -> anyhow::Result<()> {
    let settings = super::settings(config)?;
    let store = super::store(&settings).await?;
    if let AppsCommand::List { json } = command {
        return list(&store, json).await;
    }
    let master = inspay_server::master_key::load(&settings)?;
    let operator = super::operator();
    let id = super::command_id();
    let who = Actor {
        actor: &operator,
        request_id: &id,
    };
    let now = inspay_store::now_ms();
    // Checks the master key against the stored check value (or initialises a new install).
    store
        .kms_initialise(&master, &settings.rotation_policy(), who, now)
        .await?;
    match command {
        AppsCommand::Register {
            id,
            name,
            class,
            public_key,
            client_cert,
            min_sdk_version,
        } => {
            let key = read_public_key(&public_key)?;
            let tls = client_cert
                .as_deref()
                .map(certificate_fingerprint)
                .transpose()?;
            if let Some((app, _)) = store
                .client_apps_list()
                .await?
                .into_iter()
                .find(|(app, _)| app.id == id)
            {
                bail!(
                    "an application with id {id} is already registered ({}); ids are never reused, so choose another id",
                    app.status.name()
                );
            }
            store
                .client_app_register(
                    &NewClientApp {
                        id: &id,
                        name: &name,
                        class,
                        public_key: &key,
                        tls_fingerprint: tls.as_deref(),
                        sdk_version_min: min_sdk_version.as_deref(),
                    },
                    who,
                    now,
                )
                .await
                .map_err(explain_key)
                .with_context(|| format!("cannot register {id}"))?;
            println!(
                "registered application {id} ({}), class {}",
                name.trim(),
                class.name()
            );
            println!("key serial 1: sm3:{}", key.fingerprint());
            match &tls {
                Some(fingerprint) => {
                    println!("mutual TLS: required, client certificate sm3:{fingerprint}")
                }
                None => println!("mutual TLS: not required"),
            }
            println!(
                "minimum SDK version: {}",
                min_sdk_version.as_deref().unwrap_or("none")
            );
            println!(
                "next: give the integrator the application id {id} and key serial 1; it signs every request with the private key"
            );
        }
        AppsCommand::AddKey { id, public_key } => {
            let key = read_public_key(&public_key)?;
            let (app, _) = find(&store, &id).await?;
            refuse_revoked(&app)?;
            let serial = store
                .client_app_key_add(&id, &key, who, now)
                .await
                .map_err(explain_key)
                .with_context(|| format!("cannot add a key to {id}"))?;
            println!(
                "added key serial {serial} to {id}: sm3:{}",
                key.fingerprint()
            );
            println!(
                "the older keys stay live; once every client signs with serial {serial}, revoke them with `inspay apps revoke-key --id {id} --serial N`"
            );
        }
        AppsCommand::RevokeKey { id, serial } => {
            let (app, keys) = find(&store, &id).await?;
            let Some(key) = keys.iter().find(|key| key.serial == serial) else {
                bail!(
                    "{id} has no key serial {serial}; its keys are: {}",
                    key_list(&keys)
                );
            };
            if key.revoked_at_ms.is_some() {
                println!("key serial {serial} of {id} is already revoked; nothing changed");
                return Ok(());
            }
            refuse_revoked(&app)?;
            store
                .client_app_key_revoke(&id, serial, who, now)
                .await
                .map_err(explain)
                .with_context(|| format!("cannot revoke key serial {serial} of {id}"))?;
            println!(
                "revoked key serial {serial} of {id}; requests signed with it are refused from now on"
            );
        }
        AppsCommand::Suspend(AppArg { id }) => {
            if set_status(&store, &id, AppStatus::Suspended, who, now).await? {
                println!(
                    "{id} is suspended: its requests are refused until `inspay apps resume --id {id}`"
                );
            }
        }
        AppsCommand::Resume(AppArg { id }) => {
            if set_status(&store, &id, AppStatus::Active, who, now).await? {
                println!("{id} is active again");
            }
        }
        AppsCommand::Revoke(AppArg { id }) => {
            if set_status(&store, &id, AppStatus::Revoked, who, now).await? {
                println!(
                    "{id} and all its keys are revoked, which is final; to let the client back, register it under a new id"
                );
            }
        }
        AppsCommand::Configure {
            id,
            min_sdk_version,
            no_min_sdk_version,
            client_cert,
            no_client_cert,
        } => {
            let version = match (min_sdk_version.as_deref(), no_min_sdk_version) {
                (Some(version), _) => Some(Some(version)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            let fingerprint = client_cert
                .as_deref()
                .map(certificate_fingerprint)
                .transpose()?;
            let tls = match (fingerprint.as_deref(), no_client_cert) {
                (Some(fingerprint), _) => Some(Some(fingerprint)),
                (None, true) => Some(None),
                (None, false) => None,
            };
            if version.is_none() && tls.is_none() {
                bail!(
                    "nothing to change; give --min-sdk-version, --no-min-sdk-version, --client-cert or --no-client-cert"
                );
            }
            let (app, _) = find(&store, &id).await?;
            refuse_revoked(&app)?;
            store
                .client_app_configure(&id, version, tls, who, now)
                .await
                .map_err(explain)
                .with_context(|| format!("cannot configure {id}"))?;
            match version {
                Some(Some(version)) => println!(
                    "{id}: minimum SDK version is now {version}; older SDKs are refused and told to update"
                ),
                Some(None) => println!("{id}: every SDK version is allowed now"),
                None => {}
            }
            match tls {
                Some(Some(fingerprint)) => {
                    println!("{id}: mutual TLS required, client certificate sm3:{fingerprint}")
                }
                Some(None) => println!("{id}: no client certificate is required now"),
                None => {}
            }
        }
        AppsCommand::Evidence {
            id,
            since,
            until,
            limit,
            json,
        } => {
            let keyring = store.keyring_load(&master).await?;
            let query = EvidenceQuery {
                app_id: id,
                from_ms: since.as_deref().map(day_start_ms).transpose()?.unwrap_or(0),
                until_ms: match until.as_deref() {
                    Some(day) => day_start_ms(day)? + DAY_MS,
                    None => i64::MAX,
                },
                limit,
            };
            if query.from_ms >= query.until_ms {
                bail!("--since must be on or before --until");
            }
            evidence(&store, &master, &keyring, &query, json).await?;
        }
        AppsCommand::List { .. } => unreachable!("handled above"),
    }
    Ok(())
}

async fn set_status(
    store: &Store,
    id: &str,
    status: AppStatus,
    who: Actor<'_>,
    now: i64,
) -> anyhow::Result<bool> {
    let (app, _) = find(store, id).await?;
    refuse_revoked(&app)?;
    if app.status == status {
        println!("{id} is already {}; nothing changed", status.name());
        return Ok(false);
    }
    store
        .client_app_set_status(id, status, who, now)
        .await
        .map_err(explain)
        .with_context(|| format!("cannot change {id} to {}", status.name()))?;
    Ok(true)
}

fn key_list(keys: &[AppKey]) -> String {
    if keys.is_empty() {
        return "-".into();
    }
    let parts: Vec<String> = keys
        .iter()
        .map(|key| {
            let state = if key.revoked_at_ms.is_some() {
                "revoked"
            } else {
                "live"
            };
            format!("{} ({state})", key.serial)
        })
        .collect();
    parts.join(", ")
}

async fn list(store: &Store, json: bool) -> anyhow::Result<()> {
    let apps = store.client_apps_list().await?;
    if json {
        let rows: Vec<serde_json::Value> = apps
            .iter()
            .map(|(app, keys)| {
                serde_json::json!({
                    "id": app.id,
                    "name": app.name,
                    "class": app.class.name(),
                    "status": app.status.name(),
                    "mtls": app.tls_fingerprint.is_some(),
                    "tls_fingerprint": app.tls_fingerprint,
                    "sdk_version_min": app.sdk_version_min,
                    "last_sdk": app.last_sdk,
                    "last_seen_at_ms": app.last_seen_at_ms,
                    "created_at_ms": app.created_at_ms,
                    "keys": keys.iter().map(|key| serde_json::json!({
                        "serial": key.serial,
                        "fingerprint": key.fingerprint,
                        "live": key.revoked_at_ms.is_none(),
                        "created_at_ms": key.created_at_ms,
                        "revoked_at_ms": key.revoked_at_ms,
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    println!(
        "{:<20} {:<24} {:<22} {:<9} {:<4} {:<8} {:<20} {:<16} KEYS",
        "ID", "NAME", "CLASS", "STATUS", "MTLS", "MIN SDK", "LAST SDK", "LAST SEEN"
    );
    for (app, keys) in &apps {
        println!(
            "{:<20} {:<24} {:<22} {:<9} {:<4} {:<8} {:<20} {:<16} {}",
            app.id,
            app.name,
            app.class.name(),
            app.status.name(),
            if app.tls_fingerprint.is_some() {
                "yes"
            } else {
                "no"
            },
            app.sdk_version_min.as_deref().unwrap_or("-"),
            app.last_sdk.as_deref().unwrap_or("-"),
            app.last_seen_at_ms
                .map(super::utc_date)
                .unwrap_or_else(|| "never".into()),
            key_list(keys)
        );
    }
    println!("\n{} client application(s)", apps.len());
    Ok(())
}

const DAY_MS: i64 = 86_400_000;

/// Unix milliseconds at 00:00 UTC of a `YYYY-MM-DD` day.
fn day_start_ms(text: &str) -> anyhow::Result<i64> {
    let invalid = || anyhow!("'{text}' is not a date; use YYYY-MM-DD, e.g. 2026-01-31");
    let bytes = text.as_bytes();
    let shape = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(index, byte)| index == 4 || index == 7 || byte.is_ascii_digit());
    if !shape {
        return Err(invalid());
    }
    let number = |range: std::ops::Range<usize>| text[range].parse::<i64>().map_err(|_| invalid());
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    // Days from civil (Howard Hinnant's algorithm), the inverse of `utc_date`.
    let shifted = if month <= 2 { year - 1 } else { year };
    let era = shifted.div_euclid(400);
    let yoe = shifted - era * 400;
    let doy = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let ms = (era * 146_097 + doe - 719_468) * DAY_MS;
    // Out-of-range months and days (2026-02-30) do not come back as the same text.
    if !(1..=12).contains(&month) || !super::utc_date(ms).starts_with(text) {
        return Err(invalid());
    }
    Ok(ms)
}

/// Which evidence to verify.
struct EvidenceQuery {
    app_id: Option<String>,
    from_ms: i64,
    until_ms: i64,
    limit: u32,
}

/// One row's three checks: `Err` holds why a check failed.
struct Verdict {
    mac: Result<(), String>,
    client: Result<(), String>,
    server: Result<(), String>,
}

impl Verdict {
    fn verified(&self) -> bool {
        self.mac.is_ok() && self.client.is_ok() && self.server.is_ok()
    }

    fn problems(&self) -> Vec<&str> {
        [&self.mac, &self.client, &self.server]
            .into_iter()
            .filter_map(|check| check.as_ref().err().map(String::as_str))
            .collect()
    }
}

fn word(check: &Result<(), String>) -> &'static str {
    if check.is_ok() { "ok" } else { "FAILED" }
}

/// The response-signing public keys by version, or why a version cannot vouch for anything.
fn server_keys(
    keyring: &Keyring,
    records: &[inspay_store::keys::KeyRecord],
) -> BTreeMap<u32, Result<Sm2PublicKey, String>> {
    records
        .iter()
        .filter(|record| record.purpose == KeyPurpose::ResponseSigning)
        .map(|record| {
            let version = record.version;
            let key = if record.state == KeyState::Compromised {
                Err(format!(
                    "response-signing key v{version} is marked compromised, so its signatures prove nothing"
                ))
            } else {
                // The keyring holds live keys; a destroyed or suspended key's public half is
                // still in its (MAC-checked) record.
                match keyring.public_key(KeyPurpose::ResponseSigning, version) {
                    Ok(key) => Ok(key.clone()),
                    Err(_) => record
                        .public_key_pem
                        .as_deref()
                        .and_then(|pem| Sm2PublicKey::from_spki_pem(pem).ok())
                        .ok_or_else(|| {
                            format!("the public half of response-signing key v{version} is not kept")
                        }),
                }
            };
            (version, key)
        })
        .collect()
}

fn check_client(row: &Evidence, keys: Option<&Vec<AppKey>>) -> Result<(), String> {
    let key = keys
        .and_then(|keys| keys.iter().find(|key| key.serial == row.serial))
        .ok_or_else(|| {
            format!(
                "the registry has no key serial {} for {}",
                row.serial, row.app_id
            )
        })?;
    let canonical = CanonicalRequest::from_digest(
        &row.method,
        &row.target,
        row.timestamp_s,
        &row.nonce,
        &row.body_sm3,
    )
    .map_err(|error| format!("the stored request has no canonical form: {error}"))?;
    // The header as the client sent it, read by the server's own strict parser.
    let header = SignedHeader::parse(&format!(
        "{SCHEME} app_id=\"{}\",serial=\"{}\",timestamp=\"{}\",nonce=\"{}\",signature=\"{}\"",
        row.app_id, row.serial, row.timestamp_s, row.nonce, row.signature
    ))
    .map_err(|error| format!("the stored client signature is malformed: {error}"))?;
    if header.verifies(&key.public_key, &canonical) {
        Ok(())
    } else {
        Err(format!(
            "the client's signature does not verify with key serial {} (sm3:{})",
            row.serial,
            key.public_key.fingerprint()
        ))
    }
}

fn check_server(
    row: &Evidence,
    keys: &BTreeMap<u32, Result<Sm2PublicKey, String>>,
) -> Result<(), String> {
    let key = match keys.get(&row.response_serial) {
        Some(Ok(key)) => key,
        Some(Err(reason)) => return Err(reason.clone()),
        None => {
            return Err(format!(
                "there is no response-signing key v{} in the key store",
                row.response_serial
            ));
        }
    };
    let signature = ResponseSignature::parse(
        &row.response_timestamp_s.to_string(),
        &row.response_nonce,
        &row.response_serial.to_string(),
        &row.response_signature,
    )
    .map_err(|_| {
        "the stored server signature or its timestamp or nonce is malformed".to_string()
    })?;
    let canonical = CanonicalResponse::from_digest(
        row.response_status,
        row.response_timestamp_s,
        &row.response_nonce,
        Some(&row.nonce),
        &row.response_body_sm3,
    );
    signature.verify_canonical(key, &canonical).map_err(|_| {
        format!(
            "the server's signature does not verify with response-signing key v{}",
            row.response_serial
        )
    })
}

fn verify_row(
    stored: &StoredEvidence,
    apps: &BTreeMap<String, Vec<AppKey>>,
    server: &BTreeMap<u32, Result<Sm2PublicKey, String>>,
) -> Verdict {
    let row = &stored.evidence;
    Verdict {
        mac: if stored.mac_ok {
            Ok(())
        } else {
            Err("the record MAC does not match: the row was changed outside inspay".into())
        },
        client: check_client(row, apps.get(&row.app_id)),
        server: check_server(row, server),
    }
}

fn path_only(target: &str) -> &str {
    target.split_once('?').map_or(target, |(path, _)| path)
}

async fn evidence(
    store: &Store,
    master: &MasterKey,
    keyring: &Keyring,
    query: &EvidenceQuery,
    json: bool,
) -> anyhow::Result<()> {
    let apps: BTreeMap<String, Vec<AppKey>> = store
        .client_apps_list()
        .await?
        .into_iter()
        .map(|(app, keys)| (app.id, keys))
        .collect();
    if let Some(id) = &query.app_id
        && !apps.contains_key(id)
    {
        bail!("no client application is registered as {id}; see `inspay apps list`");
    }
    let server = server_keys(keyring, &store.key_list(master).await?);
    let rows = store
        .request_evidence_list(
            keyring,
            query.app_id.as_deref(),
            query.from_ms,
            query.until_ms,
            i64::from(query.limit),
        )
        .await
        .context("cannot read the request evidence")?;
    let checked: Vec<(&StoredEvidence, Verdict)> = rows
        .iter()
        .map(|stored| (stored, verify_row(stored, &apps, &server)))
        .collect();
    let failed = checked
        .iter()
        .filter(|(_, verdict)| !verdict.verified())
        .count();
    let verified = checked.len() - failed;
    let truncated = rows.len() == usize::try_from(query.limit)?;
    let summary = format!(
        "{} {}: {verified} verified, {failed} failed",
        checked.len(),
        if checked.len() == 1 { "row" } else { "rows" }
    );
    if json {
        let entries: Vec<serde_json::Value> = checked
            .iter()
            .map(|(stored, verdict)| evidence_json(&stored.evidence, verdict))
            .collect();
        let report = serde_json::json!({
            "rows": entries,
            "summary": {
                "rows": checked.len(),
                "verified": verified,
                "failed": failed,
                "truncated_at_limit": truncated,
            },
        });
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{:<16} {:<20} {:>4}  {:<40} {:>6}  {:<6} {:<6} {:<6} VERDICT",
            "RECEIVED", "APP", "KEY", "REQUEST", "STATUS", "MAC", "CLIENT", "SERVER"
        );
        for (stored, verdict) in &checked {
            let row = &stored.evidence;
            println!(
                "{:<16} {:<20} {:>4}  {:<40} {:>6}  {:<6} {:<6} {:<6} {}",
                super::utc_date(row.received_at_ms),
                row.app_id,
                row.serial,
                format!("{} {}", row.method, path_only(&row.target)),
                row.response_status,
                word(&verdict.mac),
                word(&verdict.client),
                word(&verdict.server),
                if verdict.verified() {
                    "verified"
                } else {
                    "FAILED"
                }
            );
            for problem in verdict.problems() {
                println!("    evidence {}: {problem}", row.id);
            }
        }
        if truncated {
            println!(
                "\nonly the first {} rows were read; raise --limit or narrow --since/--until for the rest",
                query.limit
            );
        }
        println!("\n{summary}");
    }
    if failed > 0 {
        bail!(
            "{failed} evidence row(s) failed verification; each problem is listed with its evidence id"
        );
    }
    Ok(())
}

fn evidence_json(row: &Evidence, verdict: &Verdict) -> serde_json::Value {
    let check = |check: &Result<(), String>| match check {
        Ok(()) => serde_json::json!({ "ok": true }),
        Err(reason) => serde_json::json!({ "ok": false, "reason": reason }),
    };
    serde_json::json!({
        "id": row.id,
        "app_id": row.app_id,
        "serial": row.serial,
        "account_id": row.account_id,
        "method": row.method,
        "target": row.target,
        "timestamp_s": row.timestamp_s,
        "nonce": row.nonce,
        "body_sm3": row.body_sm3,
        "signature": row.signature,
        "sdk": row.sdk,
        "response_status": row.response_status,
        "response_timestamp_s": row.response_timestamp_s,
        "response_nonce": row.response_nonce,
        "response_body_sm3": row.response_body_sm3,
        "response_serial": row.response_serial,
        "response_signature": row.response_signature,
        "received_at_ms": row.received_at_ms,
        "checks": {
            "record_mac": check(&verdict.mac),
            "client_signature": check(&verdict.client),
            "server_signature": check(&verdict.server),
        },
        "verified": verdict.verified(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_parse_strictly_and_round_trip() {
        assert_eq!(day_start_ms("1970-01-01").expect("epoch"), 0);
        assert_eq!(day_start_ms("1970-01-02").expect("day"), DAY_MS);
        assert_eq!(
            super::super::utc_date(day_start_ms("2024-02-29").expect("leap day")),
            "2024-02-29 00:00"
        );
        for bad in [
            "2026-02-30",
            "2025-02-29",
            "2026-13-01",
            "2026-00-10",
            "2026-1-01",
            "26-01-01",
            "2026/01/01",
            "",
        ] {
            assert!(day_start_ms(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn keys_are_listed_with_their_state() {
        let key = |serial, revoked_at_ms| AppKey {
            serial,
            public_key: inspay_crypto::sm2::Sm2PrivateKey::generate()
                .expect("key")
                .public_key()
                .clone(),
            fingerprint: String::new(),
            created_at_ms: 0,
            revoked_at_ms,
        };
        assert_eq!(
            key_list(&[key(1, None), key(2, Some(5))]),
            "1 (live), 2 (revoked)"
        );
        assert_eq!(key_list(&[]), "-");
    }
}
