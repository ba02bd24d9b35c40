//! The security officer's desk in the staff console (clauses 5.5.2.1, 5.4.2.1, 5.4.4.2,
//! 6.4.1): the data keys and their lifecycle, the registered client applications, the audit
//! chain's verification, and the recent security events. The same facts `inspay keys list`,
//! `inspay apps list` and `inspay audit verify` give an operator, through the signed API.
//!
//! Nothing here ever carries key material: a key is described by its purpose, version, state,
//! algorithm and dates only, and an application's keys by serial and fingerprint.

use crate::auth::{Caller, Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::console_params::{Limit, one_of};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_crypto::sm2::Sm2PublicKey;
use inspay_identity::authorization::Permission;
use inspay_kms::KeyState;
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::security_events::SecurityEvent;
use inspay_store::staff_console::CONSOLE_ROWS_MAX;
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Mutex;

const DAY_MS: i64 = 86_400_000;
/// Problems of one audit verification listed in its answer (the count is always whole).
const PROBLEMS_LISTED_MAX: usize = 100;
/// Longest pinned-key text accepted (a few PEM blocks).
const PINNED_TEXT_CHARS_MAX: usize = 16_384;
/// How long a caller waits before retrying while a verification of the same database runs.
const VERIFY_BUSY_RETRY_S: i64 = 5;

/// Route declarations.
///
/// Permissions, by least privilege (clause 5.3.1.2):
/// - the key inventory needs `keys.manage`, as `inspay keys list` does (it opens the key table
///   with the master key): which keys are compromised, suspended or overdue for rotation is
///   the key custodian's working knowledge and a map for an attacker, so it is not widened to
///   every `audit.read` holder (the auditor sees every key transition in the audit log);
/// - security events need `risk.monitor`, the permission defined as "watch risk alerts and
///   security events" (the security and risk officers), not `audit.read`: events name client
///   addresses and accounts, and watching them is monitoring, not auditing.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/admin/keys",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::KeysManage),
        summary: "Every data key version: purpose, version, state, algorithm, dates, age and whether rotation is due; never key material.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Keys>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/admin/apps",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::ClientAppsManage),
        summary: "Registered client applications, newest first: class, status, key serials and their states, SDK minimum and the SDK last seen.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Apps>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/admin/audit/verify",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::AuditVerify),
        summary: "Verifies the SM3 audit chain and its SM2-signed checkpoints, as `inspay audit verify` does, optionally against pinned audit-signing keys; one run per database at a time.",
        body: Some(SchemaGenerator::subschema_for::<VerifyRequest>),
        response: Some(SchemaGenerator::subschema_for::<Verification>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/admin/security-events",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::RiskMonitor),
        summary: "The 100 most recent security events of every kind, newest first.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Events>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/admin/security-events/{kind}/{limit}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::RiskMonitor),
        summary: "The most recent security events of one kind (or `all`), newest first, at most `limit` (1 to 500).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Events>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/admin/keys", get(keys))
        .route("/v1/admin/apps", get(apps))
        .route("/v1/admin/audit/verify", post(verify))
        .route("/v1/admin/security-events", get(events_default))
        .route("/v1/admin/security-events/{kind}/{limit}", get(events))
}

/// One data key version, without its material.
#[derive(Serialize, JsonSchema)]
struct KeyView {
    /// `field-encryption`, `blind-index`, `record-mac`, `audit-signing`...
    purpose: &'static str,
    version: u32,
    /// `pre-active`, `active`, `decrypt-only` (retired by rotation), `suspended`,
    /// `compromised` or `destroyed`; a scheduled destruction shows in `destroy_after_ms`.
    state: &'static str,
    /// The state it returns to when resumed, while suspended.
    state_before_suspension: Option<&'static str>,
    algorithm: String,
    created_at_ms: i64,
    activated_at_ms: Option<i64>,
    /// When its scheduled rotation is due (active keys).
    rotate_after_ms: Option<i64>,
    /// When rotation made it decrypt-only.
    deactivated_at_ms: Option<i64>,
    destroy_after_ms: Option<i64>,
    destroyed_at_ms: Option<i64>,
    /// Whole days since it was created.
    age_days: i64,
    /// An active key whose rotation date has passed.
    rotation_due: bool,
    /// Suspended, compromised, or waiting for destruction: a custodian must act.
    needs_attention: bool,
}

/// The key inventory, by purpose then version.
#[derive(Serialize, JsonSchema)]
struct Keys {
    keys: Vec<KeyView>,
    /// Active keys past their rotation date.
    rotation_due: usize,
    /// Keys suspended, compromised or waiting for destruction.
    needs_attention: usize,
}

async fn keys(State(state): State<AppState>) -> Result<Json<Keys>, ApiError> {
    let now = state.now_ms();
    let records = state.store.key_list(&state.master).await?;
    let keys: Vec<KeyView> = records
        .iter()
        .take(usize::try_from(CONSOLE_ROWS_MAX).unwrap_or(usize::MAX))
        .map(|record| {
            let rotation_due = record.state == KeyState::Active
                && record.rotate_after_ms.is_some_and(|due| due <= now);
            let needs_attention =
                matches!(record.state, KeyState::Suspended | KeyState::Compromised)
                    || (record.destroy_after_ms.is_some() && record.state != KeyState::Destroyed);
            KeyView {
                purpose: record.purpose.name(),
                version: record.version,
                state: record.state.name(),
                state_before_suspension: record.state_before_suspension.map(KeyState::name),
                algorithm: record.algorithm.clone(),
                created_at_ms: record.created_at_ms,
                activated_at_ms: record.activated_at_ms,
                rotate_after_ms: record.rotate_after_ms,
                deactivated_at_ms: record.deactivated_at_ms,
                destroy_after_ms: record.destroy_after_ms,
                destroyed_at_ms: record.destroyed_at_ms,
                age_days: (now - record.created_at_ms).div_euclid(DAY_MS).max(0),
                rotation_due,
                needs_attention,
            }
        })
        .collect();
    Ok(Json(Keys {
        rotation_due: keys.iter().filter(|key| key.rotation_due).count(),
        needs_attention: keys.iter().filter(|key| key.needs_attention).count(),
        keys,
    }))
}

/// One of an application's signing keys (its public key's fingerprint only).
#[derive(Serialize, JsonSchema)]
struct AppKeyView {
    serial: u32,
    /// `sm3:` and the SM3 of the public key (SPKI DER).
    fingerprint: String,
    /// `live` or `revoked`.
    state: &'static str,
    created_at_ms: i64,
    revoked_at_ms: Option<i64>,
}

/// A registered client application.
#[derive(Serialize, JsonSchema)]
struct AppView {
    id: String,
    name: String,
    /// The highest operation class it may call.
    class: &'static str,
    /// `active`, `suspended` or `revoked`.
    status: &'static str,
    /// Whether it must call over mutual TLS.
    mtls: bool,
    /// SM3 of the client certificate it must present, hex.
    tls_fingerprint: Option<String>,
    /// The oldest SDK version allowed.
    sdk_version_min: Option<String>,
    /// The SDK it last reported (`name/version`).
    last_sdk: Option<String>,
    last_seen_at_ms: Option<i64>,
    created_at_ms: i64,
    keys: Vec<AppKeyView>,
}

/// Registered applications, newest first.
#[derive(Serialize, JsonSchema)]
struct Apps {
    apps: Vec<AppView>,
}

async fn apps(State(state): State<AppState>) -> Result<Json<Apps>, ApiError> {
    // Applications are registered by hand, a few per deployment: the registry is read whole
    // and the answer bounded.
    let mut listed = state.store.client_apps_list().await?;
    listed.sort_by(|(a, _), (b, _)| (b.created_at_ms, &b.id).cmp(&(a.created_at_ms, &a.id)));
    listed.truncate(usize::try_from(CONSOLE_ROWS_MAX).unwrap_or(usize::MAX));
    let apps = listed
        .into_iter()
        .map(|(app, keys)| AppView {
            class: app.class.name(),
            status: app.status.name(),
            mtls: app.tls_fingerprint.is_some(),
            keys: keys
                .into_iter()
                .map(|key| AppKeyView {
                    serial: key.serial,
                    fingerprint: key.fingerprint,
                    state: if key.revoked_at_ms.is_some() {
                        "revoked"
                    } else {
                        "live"
                    },
                    created_at_ms: key.created_at_ms,
                    revoked_at_ms: key.revoked_at_ms,
                })
                .collect(),
            id: app.id,
            name: app.name,
            tls_fingerprint: app.tls_fingerprint,
            sdk_version_min: app.sdk_version_min,
            last_sdk: app.last_sdk,
            last_seen_at_ms: app.last_seen_at_ms,
            created_at_ms: app.created_at_ms,
        })
        .collect();
    Ok(Json(Apps { apps }))
}

/// What to verify against.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    /// The audit-signing public keys to trust instead of the database's copy, as
    /// `inspay keys export-public audit-signing` prints them (`# key:audit-signing:vN ...`
    /// before each PEM block). Absent: the keys stored with the data keys.
    public_keys_pem: Option<String>,
}

/// One thing wrong with the chain.
#[derive(Serialize, JsonSchema)]
struct Problem {
    /// The entry (or checkpoint) position.
    seq: i64,
    what: String,
}

/// The outcome of a verification.
#[derive(Serialize, JsonSchema)]
struct Verification {
    /// The chain and every checkpoint are intact.
    ok: bool,
    entries_checked: i64,
    /// The last entry's position.
    last_seq: i64,
    checkpoints_checked: i64,
    /// The last checkpoint whose signature verified and matches its entry.
    last_checkpoint_seq: i64,
    /// Entries after the last verified checkpoint (not yet covered by a signature).
    entries_after_last_checkpoint: i64,
    /// The first position where the chain or a checkpoint is broken.
    first_broken_seq: Option<i64>,
    /// Every problem found (the first 100 listed here).
    problems_total: usize,
    problems: Vec<Problem>,
    /// Whether pinned keys were used.
    pinned: bool,
    elapsed_ms: i64,
}

/// The databases whose audit chain this node is verifying now: one verification per database
/// at a time on each node, so repeated calls cost at most one pass over the chain per node at
/// once (and several test servers in one process, each with its own database, do not wait on
/// each other).
static VERIFYING: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// Marks a database's verification as running until dropped.
struct Running(String);

impl Running {
    fn start(database: String) -> Option<Running> {
        let mut guard = match VERIFYING.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        // The marker is made only once the database is known to be free: a marker dropped
        // here would take the lock again (a deadlock) and free a slot another call holds.
        if guard
            .get_or_insert_with(HashSet::new)
            .insert(database.clone())
        {
            Some(Running(database))
        } else {
            None
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut guard = match VERIFYING.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some(running) = guard.as_mut() {
            running.remove(&self.0);
        }
    }
}

/// Runs the verification `inspay audit verify` runs ([`inspay_store::Store::audit_verify`]).
///
/// Cost: one pass over the chain, read 1,000 entries a page (memory stays bounded whatever its
/// length), so time grows linearly with the number of entries, and the request timeout
/// (`limits.request_timeout_ms`) ends a pass that runs longer (the run is dropped and its slot
/// freed; `inspay audit verify` has no such limit). Safe to call repeatedly: a second call
/// while one runs for the same database on this node is `429` with `Retry-After` instead of a
/// second pass, and the per-account request limit bounds how often one officer starts it.
/// Each completed run is audited with its counts.
async fn verify(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<VerifyRequest>,
) -> Result<Json<Verification>, ApiError> {
    let pinned = match request.public_keys_pem.as_deref() {
        Some(text) => Some(pinned_keys(text)?),
        None => None,
    };
    let Some(_running) = Running::start(state.settings.database_url()) else {
        return Err(ApiError::new(ErrorCode::TooManyRequests)
            .detail("a verification of the audit chain is running; its answer comes first")
            .retry_after(VERIFY_BUSY_RETRY_S));
    };
    let started = std::time::Instant::now();
    let report = state.store.audit_verify(pinned.as_deref(), |_| {}).await?;
    let elapsed_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let ok = report.is_intact();
    let actor = format!("account:{}", caller.account_id);
    let problems_total = i64::try_from(report.problems.len()).unwrap_or(i64::MAX);
    state
        .store
        .audit(
            &AuditEvent {
                actor: &actor,
                action: "audit.verify",
                object: "audit-log",
                outcome: if ok {
                    Outcome::Success
                } else {
                    Outcome::Failure
                },
                request_id: &caller.request_id,
                details: &[
                    ("entries", AuditValue::Number(report.entries)),
                    ("checkpoints", AuditValue::Number(report.checkpoints)),
                    ("problems", AuditValue::Number(problems_total)),
                    (
                        "pinned",
                        AuditValue::Word(if pinned.is_some() { "yes" } else { "no" }),
                    ),
                ],
            },
            state.now_ms(),
        )
        .await?;
    if !ok {
        tracing::error!(
            target: "inspay::security_alert",
            problems = report.problems.len(),
            first = report.problems.first().map_or(0, |(seq, _)| *seq),
            "the audit chain does not verify: preserve the database as evidence and see \"Audit verification\" in docs/operator-guide.md"
        );
    }
    Ok(Json(Verification {
        ok,
        entries_checked: report.entries,
        last_seq: report.last_seq,
        checkpoints_checked: report.checkpoints,
        last_checkpoint_seq: report.last_checkpoint_seq,
        entries_after_last_checkpoint: (report.last_seq - report.last_checkpoint_seq).max(0),
        first_broken_seq: report.problems.iter().map(|(seq, _)| *seq).min(),
        problems_total: report.problems.len(),
        problems: report
            .problems
            .into_iter()
            .take(PROBLEMS_LISTED_MAX)
            .map(|(seq, what)| Problem { seq, what })
            .collect(),
        pinned: pinned.is_some(),
        elapsed_ms,
    }))
}

/// Reads `# key:audit-signing:vN (...)`-headed PEM blocks, as `inspay keys export-public`
/// writes them (the CLI's `--public-key` file).
fn pinned_keys(text: &str) -> Result<Vec<(u32, Sm2PublicKey)>, ApiError> {
    let refused = |what: &str| {
        ApiError::new(ErrorCode::InvalidField).detail(format!("public_keys_pem: {what}"))
    };
    if text.chars().count() > PINNED_TEXT_CHARS_MAX {
        return Err(refused("too long"));
    }
    let mut keys = vec![];
    let mut version = None;
    let mut block = String::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# key:audit-signing:v") {
            version = rest
                .split_whitespace()
                .next()
                .and_then(|v| v.parse::<u32>().ok());
            continue;
        }
        if line.starts_with('#') {
            version = None;
            continue;
        }
        block.push_str(line);
        block.push('\n');
        if line.starts_with("-----END") {
            if let Some(version) = version.take() {
                let key = Sm2PublicKey::from_spki_pem(&block)
                    .map_err(|_| refused("a block is not an SM2 public key"))?;
                keys.push((version, key));
            }
            block.clear();
        }
    }
    if keys.is_empty() {
        return Err(refused(
            "no audit-signing public key (export them with `inspay keys export-public audit-signing`)",
        ));
    }
    Ok(keys)
}

/// The security event kinds the server records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EventKind {
    SignatureInvalid,
    NonceReplayed,
    UnknownApplication,
    InjectionShapedInput,
    RateLimited,
    AdminNetworkRefused,
    RouteUnknown,
    CredentialStuffing,
    SignInDenied,
    RulePackRefused,
}

const EVENT_KINDS: &[(&str, EventKind)] = &[
    ("signature-invalid", EventKind::SignatureInvalid),
    ("nonce-replayed", EventKind::NonceReplayed),
    ("unknown-application", EventKind::UnknownApplication),
    ("injection-shaped-input", EventKind::InjectionShapedInput),
    ("rate-limited", EventKind::RateLimited),
    ("admin-network-refused", EventKind::AdminNetworkRefused),
    ("route-unknown", EventKind::RouteUnknown),
    ("credential-stuffing", EventKind::CredentialStuffing),
    ("sign-in-denied", EventKind::SignInDenied),
    (crate::risk::packs::PACK_REFUSED, EventKind::RulePackRefused),
];

impl EventKind {
    fn name(self) -> &'static str {
        EVENT_KINDS
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("", |(name, _)| name)
    }
}

/// One security event.
#[derive(Serialize, JsonSchema)]
struct EventView {
    id: String,
    kind: String,
    at_ms: i64,
    /// The client's IP address.
    client_ip: Option<String>,
    app_id: Option<String>,
    account_id: Option<String>,
    /// The route template.
    route: Option<String>,
    /// Fixed text from the code (never request content).
    detail: String,
    /// Whether this event raised an alert (the threshold within a minute was reached).
    alert: bool,
}

/// Recent security events, newest first.
#[derive(Serialize, JsonSchema)]
struct Events {
    /// The kind asked for, or `all`.
    kind: &'static str,
    /// The most events asked for.
    limit: i64,
    events: Vec<EventView>,
}

fn event_view(event: SecurityEvent) -> EventView {
    EventView {
        id: event.id,
        kind: event.kind,
        at_ms: event.at_ms,
        client_ip: event.client_ip,
        app_id: event.app_id,
        account_id: event.account_id,
        route: event.route,
        detail: event.detail,
        alert: event.alert,
    }
}

async fn list_events(
    state: &AppState,
    kind: Option<EventKind>,
    limit: Limit,
) -> Result<Json<Events>, ApiError> {
    let rows = state
        .store
        .security_events_recent(kind.map(EventKind::name), limit.rows())
        .await?;
    Ok(Json(Events {
        kind: kind.map_or("all", EventKind::name),
        limit: limit.rows(),
        events: rows.into_iter().map(event_view).collect(),
    }))
}

async fn events_default(State(state): State<AppState>) -> Result<Json<Events>, ApiError> {
    list_events(&state, None, Limit::DEFAULT).await
}

async fn events(
    State(state): State<AppState>,
    Path((raw_kind, raw_limit)): Path<(String, String)>,
) -> Result<Json<Events>, ApiError> {
    let kind = one_of("kind", &raw_kind, EVENT_KINDS)?;
    let limit = Limit::parse(&raw_limit)?;
    list_events(&state, kind, limit).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_kinds_have_unique_names() {
        for (name, kind) in EVENT_KINDS {
            assert_eq!(kind.name(), *name);
        }
        let names: HashSet<&str> = EVENT_KINDS.iter().map(|(name, _)| *name).collect();
        assert_eq!(names.len(), EVENT_KINDS.len());
    }

    #[test]
    fn one_verification_per_database_at_a_time() {
        let first = Running::start("sqlite://a".into()).expect("first");
        assert!(Running::start("sqlite://a".into()).is_none());
        // A refused start leaves the running one's slot taken.
        assert!(Running::start("sqlite://a".into()).is_none());
        let other = Running::start("sqlite://b".into()).expect("another database");
        drop(first);
        assert!(Running::start("sqlite://a".into()).is_some());
        drop(other);
    }

    #[test]
    fn pinned_keys_are_read_as_the_cli_writes_them() {
        let key = inspay_crypto::sm2::Sm2PrivateKey::generate().expect("key");
        let text = format!(
            "# key:audit-signing:v3 (active)\n{}",
            key.public_key().to_spki_pem()
        );
        let keys = pinned_keys(&text).expect("parsed");
        assert_eq!(keys.len(), 1);
        assert_eq!(keys[0].0, 3);
        assert!(pinned_keys("no key here").is_err());
        assert!(pinned_keys(&"#".repeat(PINNED_TEXT_CHARS_MAX + 1)).is_err());
    }
}
