//! The scheduled security check (clauses 6.4.1, 5.4.4.2, 5.6.1-b, 5.5.2.1): one pass that
//! proves the audit chain and its signed checkpoints, recomputes the record MAC of every row
//! of every table that carries one, checks the ledger, and reviews the lifecycle state of
//! every data key. It runs from the maintenance job (`keys.maintenance_interval_s`) and can be
//! run on demand through [`check`] (read-only) or [`run_with_store`].
//!
//! ```text
//!   check(store, master, keyring, policy, now) ──▶ SecurityCheckReport   (reads only)
//!                                                       │
//!   record(store, report, now) ◀────────────────────────┘
//!     ├─ one security event (alert = 1) per failed check: GET /v1/admin/security-events
//!     ├─ an audit entry per failed check, and per failing row (bounded)
//!     └─ one summary log line per run (info when clean, error on `inspay::security_alert`)
//! ```
//!
//! Findings name tables, row ids, key versions and audit sequence numbers only: never a
//! stored personal value.

use crate::state::AppState;
use inspay_kms::{KeyPurpose, KeyState, Keyring, MasterKey};
use inspay_store::audit::{AuditEvent, AuditValue, Outcome};
use inspay_store::keys::{KeyRecord, RotationPolicy};
use inspay_store::security_events::SecurityEvent;
use inspay_store::{Store, StoreError};

/// Findings kept per check in the report and in its security event: enough to start on; the
/// count says how many there were.
pub const FIRST_FINDINGS_MAX: usize = 10;
/// Failing rows audited one by one per table and run; the rest are counted in the check's
/// summary entry, so a mass change cannot flood the audit log every run.
pub const AUDITED_ROWS_MAX: usize = 100;
/// How late a scheduled rotation or destruction may be before it is a finding: the
/// maintenance job carries them out every `keys.maintenance_interval_s` (an hour by default),
/// so a day late means it is not happening.
pub const KEY_SCHEDULE_GRACE_MS: i64 = 86_400_000;
/// Longest security event detail the store keeps.
pub const EVENT_DETAIL_CHARS_MAX: usize = 256;
const DAY_MS: i64 = 86_400_000;
const _: () = assert!(FIRST_FINDINGS_MAX <= AUDITED_ROWS_MAX);

/// Event kind: the audit chain or a signed checkpoint does not verify.
pub const AUDIT_CHAIN_BROKEN: &str = "integrity.audit-chain-broken";
/// Event kind: stored rows fail their record MAC (changed outside inspay).
pub const RECORD_MAC_MISMATCH: &str = "integrity.record-mac-mismatch";
/// Event kind: the ledger does not balance, or a balance is off its entries or bound.
pub const LEDGER_UNSOUND: &str = "integrity.ledger-unsound";
/// Event kind: an active key is past its rotation date.
pub const ROTATION_OVERDUE: &str = "keys.rotation-overdue";
/// Event kind: a compromised or suspended key is still its purpose's current key, or this
/// process protects with a key the database no longer holds active.
pub const COMPROMISED_ACTIVE: &str = "keys.compromised-active";
/// Event kind: a purpose has no active key, so nothing new can be protected with it.
pub const NO_ACTIVE_KEY: &str = "keys.no-active";
/// Event kind: a key scheduled for destruction is past its date and not destroyed.
pub const DESTRUCTION_OVERDUE: &str = "keys.destruction-overdue";
/// Event kind: a check could not run (the database failed); its result is unknown.
pub const CHECK_INCOMPLETE: &str = "security-check.incomplete";

/// The result of one check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    /// What was checked: `audit-chain`, `records.<table>`, `ledger`, `keys.<rule>`.
    pub name: String,
    /// The security event kind a failure raises.
    pub kind: &'static str,
    /// Whether the check ran and found nothing.
    pub passed: bool,
    /// How many findings (for record checks: failing rows, counted up to
    /// `inspay_store::record_check::VERIFY_FAILING_MAX` per table).
    pub findings: usize,
    /// The first findings: ids, key versions or sequence numbers, never personal data.
    pub first_findings: Vec<String>,
    /// Why the check could not run, if it could not.
    pub error: Option<String>,
}

impl CheckResult {
    fn from_findings(name: impl Into<String>, kind: &'static str, findings: Vec<String>) -> Self {
        Self {
            name: name.into(),
            kind,
            passed: findings.is_empty(),
            findings: findings.len(),
            first_findings: findings.into_iter().take(FIRST_FINDINGS_MAX).collect(),
            error: None,
        }
    }

    fn not_run(name: impl Into<String>, kind: &'static str, error: &StoreError) -> Self {
        Self {
            name: name.into(),
            kind,
            passed: false,
            findings: 0,
            first_findings: vec![],
            error: Some(error.to_string()),
        }
    }

    /// The event kind a failure of this check raises: its own, or
    /// [`CHECK_INCOMPLETE`] when it could not run.
    pub fn event_kind(&self) -> &'static str {
        if self.error.is_some() {
            CHECK_INCOMPLETE
        } else {
            self.kind
        }
    }
}

/// What one run of the security check found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SecurityCheckReport {
    /// When the run started (unix ms).
    pub at_ms: i64,
    /// Every check, in the order run.
    pub checks: Vec<CheckResult>,
    /// Every failing row found, as `(table, id)`, for the audit log (bounded per table by
    /// `inspay_store::record_check::VERIFY_FAILING_MAX`).
    #[serde(skip)]
    pub failing_rows: Vec<(&'static str, String)>,
}

impl SecurityCheckReport {
    /// Whether every check ran and found nothing.
    pub fn passed(&self) -> bool {
        self.checks.iter().all(|check| check.passed)
    }

    /// The checks that failed or could not run.
    pub fn failed(&self) -> impl Iterator<Item = &CheckResult> {
        self.checks.iter().filter(|check| !check.passed)
    }

    /// Findings over every check.
    pub fn findings(&self) -> usize {
        self.checks.iter().map(|check| check.findings).sum()
    }

    /// The check of this name, if it ran.
    pub fn check(&self, name: &str) -> Option<&CheckResult> {
        self.checks.iter().find(|check| check.name == name)
    }
}

/// Runs every check against the store without writing anything. `keyring` is the keyring in
/// use (a process's loaded keys, compared with the database's key records); `now_ms` decides
/// what is overdue.
pub async fn check(
    store: &Store,
    master: &MasterKey,
    keyring: &Keyring,
    policy: &RotationPolicy,
    now_ms: i64,
) -> SecurityCheckReport {
    let mut report = SecurityCheckReport {
        at_ms: now_ms,
        checks: vec![],
        failing_rows: vec![],
    };
    report.checks.push(audit_chain(store).await);
    records(store, keyring, &mut report).await;
    ledger(store, keyring, &mut report).await;
    keys(store, master, keyring, policy, now_ms, &mut report).await;
    report
}

/// Runs the check on the server's store and keys at the server's time, and records what it
/// found (security events, audit entries, the summary log line, and the export of the events
/// if a risk export sink is configured).
pub async fn run(state: &AppState) -> SecurityCheckReport {
    let now_ms = state.now_ms();
    let report = check(
        &state.store,
        &state.master,
        &state.keyring(),
        &state.settings.rotation_policy(),
        now_ms,
    )
    .await;
    for event in record(&state.store, &report, now_ms).await {
        if let Err(error) = crate::risk::export::enqueue_security_event(state, &event).await {
            tracing::error!(error = %error, kind = %event.kind, "security event not exported");
        }
    }
    report
}

/// Runs the check without a running server (the CLI): loads the keyring from the store, then
/// checks and records as [`run`] does, without the export.
pub async fn run_with_store(
    store: &Store,
    master: &MasterKey,
    policy: &RotationPolicy,
    now_ms: i64,
) -> Result<SecurityCheckReport, StoreError> {
    let keyring = store.keyring_load(master).await?;
    let report = check(store, master, &keyring, policy, now_ms).await;
    record(store, &report, now_ms).await;
    Ok(report)
}

/// Records what a run found: one summary log line, an audit entry per failing row (at most
/// [`AUDITED_ROWS_MAX`] per table), and one security event with `alert = 1` and one audit
/// entry per failed check. Returns the events kept.
pub async fn record(
    store: &Store,
    report: &SecurityCheckReport,
    now_ms: i64,
) -> Vec<SecurityEvent> {
    log_summary(report);
    // Rows first, each under its own object, then one entry per failed check with its count.
    let mut audited: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (table, id) in &report.failing_rows {
        let count = audited.entry(*table).or_default();
        *count += 1;
        if *count <= AUDITED_ROWS_MAX {
            let object = format!("{}:{id}", object_prefix(table));
            audit(store, RECORD_MAC_MISMATCH, &object, &[], now_ms).await;
        }
    }
    let mut kept = vec![];
    for check in report.failed() {
        let event = SecurityEvent {
            id: uuid::Uuid::now_v7().to_string(),
            kind: check.event_kind().to_string(),
            app_id: None,
            account_id: None,
            client_ip: None,
            route: None,
            detail: event_detail(check),
            alert: true,
            at_ms: now_ms,
        };
        match store.security_event_record(&event).await {
            Ok(()) => kept.push(event),
            Err(error) => {
                tracing::error!(error = %error, kind = check.kind, "security event not kept")
            }
        }
        let findings = i64::try_from(check.findings).unwrap_or(i64::MAX);
        audit(
            store,
            check.event_kind(),
            &check.name,
            &[("findings", AuditValue::Number(findings))],
            now_ms,
        )
        .await;
    }
    kept
}

async fn audit(
    store: &Store,
    action: &str,
    object: &str,
    details: &[(&'static str, AuditValue)],
    now_ms: i64,
) {
    let event = AuditEvent {
        actor: "system",
        action,
        object,
        outcome: Outcome::Failure,
        request_id: "security-check",
        details,
    };
    if let Err(error) = store.audit(&event, now_ms).await {
        tracing::error!(error = %error, action, "could not audit a security check failure");
    }
}

/// `check: N finding(s): a, b, c` (or why it could not run): names, ids and counts only, cut
/// to whole findings that fit the stored detail (the count says how many there were).
fn event_detail(check: &CheckResult) -> String {
    if check.error.is_some() {
        return format!("{}: the check could not run", check.name);
    }
    let mut detail = format!("{}: {} finding(s):", check.name, check.findings);
    for (index, finding) in check.first_findings.iter().enumerate() {
        let separator = if index == 0 { " " } else { ", " };
        // Room is kept for the closing " ..." when a finding does not fit.
        if detail.chars().count() + separator.len() + finding.chars().count() + 4
            > EVENT_DETAIL_CHARS_MAX
        {
            detail.push_str(" ...");
            break;
        }
        detail.push_str(separator);
        detail.push_str(finding);
    }
    debug_assert!(detail.chars().count() <= EVENT_DETAIL_CHARS_MAX);
    detail
}

fn log_summary(report: &SecurityCheckReport) {
    if report.passed() {
        tracing::info!(
            checks = report.checks.len(),
            "security check passed: audit chain, record MACs, ledger and key states intact"
        );
        return;
    }
    let failed: Vec<&str> = report.failed().map(|check| check.name.as_str()).collect();
    let incomplete = report
        .failed()
        .filter(|check| check.error.is_some())
        .count();
    tracing::error!(
        target: "inspay::security_alert",
        checks = report.checks.len(),
        failed = failed.len(),
        incomplete,
        findings = report.findings(),
        names = %failed.join(","),
        "security check failed: see the security events and \"Scheduled security check\" in docs/operator-guide.md"
    );
}

/// The audit log's object prefix for a table's rows (`person:<id>` as the person commands
/// name them; other tables by their name).
fn object_prefix(table: &str) -> &str {
    match table {
        "persons" => "person",
        other => other,
    }
}

async fn audit_chain(store: &Store) -> CheckResult {
    const NAME: &str = "audit-chain";
    match store.audit_verify(None, |_| {}).await {
        Ok(report) if report.is_intact() => {
            tracing::info!(
                entries = report.entries,
                checkpoint = report.last_checkpoint_seq,
                "audit chain intact"
            );
            CheckResult::from_findings(NAME, AUDIT_CHAIN_BROKEN, vec![])
        }
        Ok(report) => {
            tracing::error!(problems = report.problems.len(), first = ?report.problems.first(), "audit chain broken");
            let findings = report
                .problems
                .iter()
                .map(|(seq, what)| format!("seq {seq}: {what}"))
                .collect();
            CheckResult::from_findings(NAME, AUDIT_CHAIN_BROKEN, findings)
        }
        Err(error) => {
            tracing::error!(error = %error, "audit chain check could not run");
            CheckResult::not_run(NAME, AUDIT_CHAIN_BROKEN, &error)
        }
    }
}

/// Every table whose rows carry a record MAC, checked through its store `*_verify`.
/// `ledger_transfers` is checked by [`ledger`]; `data_keys` by [`keys`].
async fn records(store: &Store, keyring: &Keyring, report: &mut SecurityCheckReport) {
    let mut table = |name: &'static str, result: Result<Vec<String>, StoreError>| {
        report
            .checks
            .push(rows_result(name, result, &mut report.failing_rows));
    };
    table("persons", store.persons_verify(keyring).await);
    table("products", store.products_verify(keyring).await);
    table("policies", store.policies_verify(keyring).await);
    table("payments", store.payments_verify(keyring).await);
    table("refunds", store.refunds_verify(keyring).await);
    table("claims", store.claims_verify(keyring).await);
    table(
        "payout_accounts",
        store.payout_accounts_verify(keyring).await,
    );
    table("payouts", store.payouts_verify(keyring).await);
    table(
        "request_evidence",
        store.request_evidence_verify(keyring).await,
    );
    table("risk_signers", store.risk_signers_verify(keyring).await);
    table("risk_decisions", store.risk_decisions_verify(keyring).await);
    table("risk_holds", store.risk_holds_verify(keyring).await);
}

fn rows_result(
    table: &'static str,
    result: Result<Vec<String>, StoreError>,
    failing_rows: &mut Vec<(&'static str, String)>,
) -> CheckResult {
    let name = format!("records.{table}");
    match result {
        Ok(ids) => {
            if !ids.is_empty() {
                tracing::error!(
                    table,
                    rows = ids.len(),
                    "record integrity check failed: rows changed outside inspay"
                );
            }
            failing_rows.extend(ids.iter().map(|id| (table, id.clone())));
            CheckResult::from_findings(name, RECORD_MAC_MISMATCH, ids)
        }
        Err(error) => {
            tracing::error!(error = %error, table, "record integrity check could not run");
            CheckResult::not_run(name, RECORD_MAC_MISMATCH, &error)
        }
    }
}

/// The ledger balances, every balance equals its entries and keeps its bound, and every
/// transfer's record MAC is intact (clauses 5.3.1.3, 5.6.1-b).
async fn ledger(store: &Store, keyring: &Keyring, report: &mut SecurityCheckReport) {
    const TRANSFERS: &str = "records.ledger_transfers";
    match store.ledger_check(keyring).await {
        Ok(ledger) => {
            if !ledger.is_sound() {
                tracing::error!(
                    target: "inspay::security_alert",
                    discrepancies = ledger.discrepancies.len(),
                    tampered_transfers = ledger.tampered_transfers.len(),
                    "the ledger check failed: run `inspay ledger check` for the details, preserve the database and investigate"
                );
            }
            let discrepancies = ledger
                .discrepancies
                .iter()
                .map(|discrepancy| format!("{discrepancy:?}"))
                .collect();
            report.checks.push(CheckResult::from_findings(
                "ledger",
                LEDGER_UNSOUND,
                discrepancies,
            ));
            report.failing_rows.extend(
                ledger
                    .tampered_transfers
                    .iter()
                    .map(|id| ("ledger_transfers", id.clone())),
            );
            report.checks.push(CheckResult::from_findings(
                TRANSFERS,
                RECORD_MAC_MISMATCH,
                ledger.tampered_transfers,
            ));
        }
        Err(error) => {
            tracing::error!(error = %error, "the ledger check could not run");
            report
                .checks
                .push(CheckResult::not_run("ledger", LEDGER_UNSOUND, &error));
            report
                .checks
                .push(CheckResult::not_run(TRANSFERS, RECORD_MAC_MISMATCH, &error));
        }
    }
}

/// The key records' MACs, then their lifecycle: overdue rotations and destructions, a
/// compromised or suspended current key, a purpose with no active key, and this process
/// protecting with a key the database no longer holds active (clause 5.5.2.1).
async fn keys(
    store: &Store,
    master: &MasterKey,
    keyring: &Keyring,
    policy: &RotationPolicy,
    now_ms: i64,
    report: &mut SecurityCheckReport,
) {
    let (records, failing) = match store.keys_verify(master).await {
        Ok(found) => found,
        Err(error) => {
            tracing::error!(error = %error, "the key check could not run");
            for (name, kind) in [
                ("records.data_keys", RECORD_MAC_MISMATCH),
                ("keys.rotation", ROTATION_OVERDUE),
                ("keys.compromised", COMPROMISED_ACTIVE),
                ("keys.active", NO_ACTIVE_KEY),
                ("keys.destruction", DESTRUCTION_OVERDUE),
            ] {
                report.checks.push(CheckResult::not_run(name, kind, &error));
            }
            return;
        }
    };
    if !failing.is_empty() {
        tracing::error!(
            rows = failing.len(),
            "key records changed outside inspay: their MAC under the master key does not match"
        );
    }
    let mut findings = KeyFindings::new(&records, keyring, policy, now_ms);
    // A purpose whose key record failed its MAC has an unknown state: the MAC finding covers
    // it, and "no active key" would be a guess.
    findings.no_active.retain(|finding| {
        !failing.iter().any(|object| {
            finding
                .split(' ')
                .next()
                .is_some_and(|purpose| object.starts_with(&format!("key:{purpose}:")))
        })
    });
    report.checks.push(CheckResult::from_findings(
        "records.data_keys",
        RECORD_MAC_MISMATCH,
        failing,
    ));
    report.checks.push(CheckResult::from_findings(
        "keys.rotation",
        ROTATION_OVERDUE,
        findings.rotation_overdue,
    ));
    report.checks.push(CheckResult::from_findings(
        "keys.compromised",
        COMPROMISED_ACTIVE,
        findings.compromised_active,
    ));
    report.checks.push(CheckResult::from_findings(
        "keys.active",
        NO_ACTIVE_KEY,
        findings.no_active,
    ));
    report.checks.push(CheckResult::from_findings(
        "keys.destruction",
        DESTRUCTION_OVERDUE,
        findings.destruction_overdue,
    ));
}

/// What the key records say is wrong, by rule. Pure: records, the keyring in use and a time.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct KeyFindings {
    /// Active keys past their rotation date (stored, or by the rotation policy in force).
    pub rotation_overdue: Vec<String>,
    /// Compromised or suspended keys that are still their purpose's current key, and keys
    /// this process protects with that the database holds in another state.
    pub compromised_active: Vec<String>,
    /// Purposes with no active key.
    pub no_active: Vec<String>,
    /// Keys past their destruction date and not destroyed.
    pub destruction_overdue: Vec<String>,
}

impl KeyFindings {
    /// Reviews `records` (the key records whose MAC verified) against the keyring in use.
    pub fn new(
        records: &[KeyRecord],
        keyring: &Keyring,
        policy: &RotationPolicy,
        now_ms: i64,
    ) -> Self {
        let mut findings = KeyFindings::default();
        for record in records {
            if record.state == KeyState::Active
                && let Some(due) = rotation_due_ms(record, policy)
                && due.saturating_add(KEY_SCHEDULE_GRACE_MS) <= now_ms
            {
                findings.rotation_overdue.push(format!(
                    "{} rotation due {} day(s) ago",
                    record.object(),
                    (now_ms - due) / DAY_MS
                ));
            }
            if record.state != KeyState::Destroyed
                && record
                    .destroy_after_ms
                    .is_some_and(|due| due.saturating_add(KEY_SCHEDULE_GRACE_MS) <= now_ms)
            {
                findings
                    .destruction_overdue
                    .push(format!("{} destruction overdue", record.object()));
            }
        }
        for purpose in KeyPurpose::ALL {
            findings.review_purpose(purpose, records, keyring);
        }
        findings
    }

    fn review_purpose(&mut self, purpose: KeyPurpose, records: &[KeyRecord], keyring: &Keyring) {
        let of_purpose: Vec<&KeyRecord> = records
            .iter()
            .filter(|record| record.purpose == purpose)
            .collect();
        if !of_purpose
            .iter()
            .any(|record| record.state == KeyState::Active)
        {
            self.no_active.push(format!("{purpose} has no active key"));
        }
        // The current key: the newest version that was ever put into use.
        let current = of_purpose
            .iter()
            .filter(|record| record.activated_at_ms.is_some())
            .max_by_key(|record| record.version);
        if let Some(current) = current
            && matches!(current.state, KeyState::Compromised | KeyState::Suspended)
        {
            self.compromised_active.push(format!(
                "{} is {} and still the current key of its purpose",
                current.object(),
                current.state
            ));
        }
        if let Some(in_use) = keyring.active_version(purpose)
            && let Some(stored) = of_purpose.iter().find(|record| record.version == in_use)
            && stored.state != KeyState::Active
        {
            self.compromised_active.push(format!(
                "{} protects new data in this process but is {} in the database",
                stored.object(),
                stored.state
            ));
        }
    }
}

/// When an active key's rotation is due: its stored date, or sooner if the rotation policy in
/// force was shortened since it was activated.
fn rotation_due_ms(record: &KeyRecord, policy: &RotationPolicy) -> Option<i64> {
    let by_policy = record.activated_at_ms.map(|activated| {
        let days = policy
            .days
            .iter()
            .find(|(purpose, _)| *purpose == record.purpose)
            .map(|(_, days)| *days)
            .unwrap_or(record.purpose.rotation_days_default());
        activated.saturating_add(i64::from(days) * DAY_MS)
    });
    match (record.rotate_after_ms, by_policy) {
        (Some(stored), Some(policy)) => Some(stored.min(policy)),
        (stored, policy) => stored.or(policy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(purpose: KeyPurpose, version: u32, state: KeyState) -> KeyRecord {
        KeyRecord {
            purpose,
            version,
            state,
            state_before_suspension: None,
            algorithm: "test".to_string(),
            wrapped: None,
            public_key_pem: None,
            created_at_ms: 0,
            activated_at_ms: Some(0),
            rotate_after_ms: Some(90 * DAY_MS),
            deactivated_at_ms: None,
            destroy_after_ms: None,
            destroyed_at_ms: None,
        }
    }

    /// An event's detail keeps whole findings within what the store accepts, and says more
    /// were left out.
    /// req: 6.4.1
    #[test]
    fn event_details_fit_the_store() {
        let findings: Vec<String> = (0..FIRST_FINDINGS_MAX)
            .map(|index| format!("{index:0>40}-{}", "f".repeat(20)))
            .collect();
        let check = CheckResult::from_findings("records.payments", RECORD_MAC_MISMATCH, findings);
        let detail = event_detail(&check);
        assert!(detail.chars().count() <= EVENT_DETAIL_CHARS_MAX, "{detail}");
        assert!(
            detail.starts_with("records.payments: 10 finding(s): "),
            "{detail}"
        );
        assert!(detail.ends_with(" ..."), "{detail}");
        let short = CheckResult::from_findings("keys.active", NO_ACTIVE_KEY, vec!["x".into()]);
        assert_eq!(event_detail(&short), "keys.active: 1 finding(s): x");
    }

    fn healthy() -> Vec<KeyRecord> {
        KeyPurpose::ALL
            .into_iter()
            .map(|purpose| record(purpose, 1, KeyState::Active))
            .collect()
    }

    /// Sound key records give no finding; each broken rule gives its own.
    /// req: 5.5.2.1
    #[test]
    fn key_rules_find_what_is_wrong_and_nothing_else() {
        let policy = RotationPolicy::default();
        let keyring = Keyring::new();
        let clean = KeyFindings::new(&healthy(), &keyring, &policy, DAY_MS);
        assert_eq!(clean, KeyFindings::default());

        let late = KeyFindings::new(&healthy(), &keyring, &policy, 92 * DAY_MS);
        assert_eq!(late.rotation_overdue.len(), KeyPurpose::ALL.len());
        let within_grace = KeyFindings::new(&healthy(), &keyring, &policy, 90 * DAY_MS + 1);
        assert!(within_grace.rotation_overdue.is_empty());

        let mut records = healthy();
        records[2].state = KeyState::Compromised;
        records[3].state = KeyState::DecryptOnly;
        records[3].destroy_after_ms = Some(DAY_MS);
        let broken = KeyFindings::new(&records, &keyring, &policy, 3 * DAY_MS);
        assert_eq!(broken.compromised_active.len(), 1, "{broken:?}");
        assert!(broken.compromised_active[0].starts_with("key:record-mac:v1"));
        assert_eq!(broken.no_active.len(), 2, "{broken:?}");
        assert_eq!(broken.destruction_overdue.len(), 1, "{broken:?}");
        assert!(broken.rotation_overdue.is_empty());

        // A compromised key replaced by a newer active version is no finding.
        let mut replaced = healthy();
        replaced[2].state = KeyState::Compromised;
        replaced.push(record(KeyPurpose::RecordMac, 2, KeyState::Active));
        let replaced = KeyFindings::new(&replaced, &keyring, &policy, DAY_MS);
        assert_eq!(replaced, KeyFindings::default());
    }
}
