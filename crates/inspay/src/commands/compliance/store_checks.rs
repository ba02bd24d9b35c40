//! Checks that read the database: the audit chain, record integrity, staff accounts, client
//! applications and security events.

use super::model::{Finding, Status, days_between};
use crate::commands::utc_date;
use inspay_store::Store;
use inspay_store::authorization::ReviewRow;
use inspay_store::client_apps::{AppKey, AppStatus, ClientApp};
use inspay_store::credential_keys::KeyKind;
use sqlx::Row;

const DAY_MS: i64 = 86_400_000;
/// Days after which a role grant should have been confirmed by a permission review.
pub const PERMISSION_REVIEW_DAYS: i64 = 90;
/// Days after which a client application's newest key is past its rotation.
pub const APP_KEY_ROTATION_DAYS: i64 = 365;
/// Days without a request after which an active client application counts as unused.
pub const APP_UNUSED_DAYS: i64 = 90;
/// The window of security events the report reads.
pub const SECURITY_EVENTS_WINDOW_MS: i64 = DAY_MS;
/// Most security events read for the summary.
pub const SECURITY_EVENTS_MAX: i64 = 10_000;
/// Most names listed in one evidence line; the rest are counted.
const NAMES_LISTED_MAX: usize = 20;

/// The audit chain (5.4.4.2): proved entry by entry, and the age of the newest signed
/// checkpoint against the interval the server signs at.
pub async fn audit(
    store: &Store,
    checkpoint_interval_s: u64,
    now_ms: i64,
    progress: impl FnMut(i64),
) -> anyhow::Result<Vec<Finding>> {
    let report = store.audit_verify(None, progress).await?;
    let mut chain_evidence = vec![format!(
        "{} entries (last #{}), {} signed checkpoint(s), last verified checkpoint #{}",
        report.entries, report.last_seq, report.checkpoints, report.last_checkpoint_seq
    )];
    let chain_status = if report.is_intact() {
        Status::Pass
    } else {
        chain_evidence.push(format!(
            "{} problem(s): the log was changed outside inspay; preserve the database and see \"Audit verification\" in docs/operator-guide.md",
            report.problems.len()
        ));
        chain_evidence.extend(
            report
                .problems
                .iter()
                .take(NAMES_LISTED_MAX)
                .map(|(seq, problem)| format!("entry #{seq}: {problem}")),
        );
        Status::Fail
    };
    let chain = Finding::new(
        "5.4.4.2",
        "Audit log chain intact (tamper-evident)",
        chain_status,
        chain_evidence,
    );
    let last_signed: Option<i64> = sqlx::query("SELECT MAX(signed_at_ms) FROM audit_checkpoints")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let oldest_uncovered: Option<i64> =
        sqlx::query("SELECT MIN(at_ms) FROM audit_log WHERE seq > $1")
            .bind(report.last_checkpoint_seq)
            .fetch_one(store.pool())
            .await?
            .try_get(0)?;
    let checkpoint = checkpoint_row(
        checkpoint_interval_s,
        now_ms,
        last_signed,
        oldest_uncovered,
        report.last_seq - report.last_checkpoint_seq,
    );
    Ok(vec![chain, checkpoint])
}

fn checkpoint_row(
    interval_s: u64,
    now_ms: i64,
    last_signed: Option<i64>,
    oldest_uncovered: Option<i64>,
    uncovered: i64,
) -> Finding {
    let limit_ms = i64::try_from(interval_s)
        .unwrap_or(i64::MAX / 2_000)
        .saturating_mul(2_000);
    let mut evidence = vec![match last_signed {
        Some(at) => format!(
            "last checkpoint signed {} UTC, {} s ago (the server signs every {interval_s} s)",
            utc_date(at),
            (now_ms - at) / 1000
        ),
        None => "no checkpoint signed yet".to_string(),
    }];
    let status = match oldest_uncovered {
        Some(oldest) if uncovered > 0 && now_ms - oldest > limit_ms => {
            evidence.push(format!(
                "{uncovered} entry(ies) not covered by a signed checkpoint, the oldest for {} s (more than twice the interval): is the server running? `inspay audit checkpoint` signs one now",
                (now_ms - oldest) / 1000
            ));
            Status::NeedsAttention
        }
        _ => {
            evidence.push(format!(
                "{uncovered} entry(ies) awaiting the next checkpoint"
            ));
            Status::Pass
        }
    };
    Finding::new("5.4.4.2", "Audit checkpoints are recent", status, evidence)
}

/// Record integrity (5.6.1-b): every protected record's MAC, with the integrity checks the
/// store offers.
pub async fn records(store: &Store, keyring: &inspay_kms::Keyring) -> anyhow::Result<Finding> {
    let total: i64 = sqlx::query("SELECT COUNT(*) FROM persons")
        .fetch_one(store.pool())
        .await?
        .try_get(0)?;
    let failing = store.persons_verify(keyring).await?;
    let mut evidence = vec![format!(
        "persons: {total} record(s) checked, {} failing",
        failing.len()
    )];
    let status = if failing.is_empty() {
        Status::Pass
    } else {
        evidence.push(format!(
            "records changed outside inspay: {}; restore them from backup and investigate",
            listed(&failing)
        ));
        Status::Fail
    };
    Ok(Finding::new(
        "5.6.1-b",
        "Stored records match their MACs",
        status,
        evidence,
    ))
}

/// Staff accounts (5.2.1.2, 5.2.4.2-a, 5.3.2.2, 5.6.1-d): second factor, initial passwords,
/// separation of duties, stale grants and disabled accounts that still hold roles.
pub async fn people(store: &Store, now_ms: i64) -> anyhow::Result<Vec<Finding>> {
    let rows = store.permission_review(now_ms).await?;
    let mut without_key = vec![];
    for row in rows.iter().filter(|row| row.status == "active") {
        let keys = store.credential_keys_list(&row.account_id).await?;
        let has_key = keys
            .iter()
            .any(|key| key.kind == KeyKind::Certificate && key.is_live(now_ms));
        if !has_key {
            without_key.push(row.login_name.clone());
        }
    }
    let grants = sqlx::query(
        "SELECT account_id, role, granted_at_ms FROM account_roles WHERE role <> 'customer'",
    )
    .fetch_all(store.pool())
    .await?;
    let mut stale = vec![];
    for grant in &grants {
        let (account_id, role, granted_at): (String, String, i64) =
            (grant.try_get(0)?, grant.try_get(1)?, grant.try_get(2)?);
        if days_between(granted_at, now_ms) > PERMISSION_REVIEW_DAYS {
            let login = rows
                .iter()
                .find(|row| row.account_id == account_id)
                .map_or(account_id.as_str(), |row| row.login_name.as_str());
            stale.push(format!("{login}:{role} since {}", utc_date(granted_at)));
        }
    }
    Ok(people_rows(&rows, &without_key, &stale))
}

fn people_rows(rows: &[ReviewRow], without_key: &[String], stale: &[String]) -> Vec<Finding> {
    let names = |filter: &dyn Fn(&ReviewRow) -> bool| -> Vec<String> {
        rows.iter()
            .filter(|row| filter(row))
            .map(|row| row.login_name.clone())
            .collect()
    };
    let active = rows.iter().filter(|row| row.status == "active").count();
    let second_factor = attention_if_any(
        "5.2.1.2",
        "Staff have a registered key (second factor)",
        format!("{active} active staff account(s)"),
        without_key,
        "without a live certificate or staff key (they cannot complete a sign-in; `inspay users add-key`)",
    );
    let initial = attention_if_any(
        "5.2.4.2-a",
        "Initial passwords changed",
        format!("{} staff account(s)", rows.len()),
        &names(&|row| row.initial_password),
        "still with an initial password",
    );
    let conflicting = names(&|row| row.has_conflicts());
    let mut duties = attention_if_any(
        "5.3.2.2",
        "Separation of duties",
        format!("{} staff account(s) reviewed", rows.len()),
        &conflicting,
        "hold conflicting roles or roles of another population (`inspay users review`)",
    );
    if !conflicting.is_empty() {
        duties.status = Status::Fail;
    }
    let dormant = names(&|row| row.dormant && !row.permissions.is_empty());
    let mut review = attention_if_any(
        "5.3.2.2",
        "Periodic permission review",
        format!(
            "{} role grant(s) older than {PERMISSION_REVIEW_DAYS} days",
            stale.len()
        ),
        stale,
        "to confirm in a permission review (`inspay users review`)",
    );
    if !dormant.is_empty() {
        review.status = Status::NeedsAttention;
        review.evidence.push(format!(
            "dormant accounts still holding permissions: {}",
            listed(&dormant)
        ));
    }
    let disabled = attention_if_any(
        "5.6.1-d",
        "Disabled accounts hold no roles",
        format!(
            "{} frozen or closed staff account(s)",
            rows.iter().filter(|row| row.status != "active").count()
        ),
        &names(&|row| row.status != "active" && !row.roles.is_empty()),
        "frozen or closed but still holding roles (`inspay users revoke`)",
    );
    vec![second_factor, initial, duties, review, disabled]
}

/// Client applications (5.4.2.1, 6.4.5, 6.4.6): keys past rotation, minimum SDK versions and
/// use.
pub async fn applications(store: &Store, now_ms: i64) -> anyhow::Result<Vec<Finding>> {
    let apps = store.client_apps_list().await?;
    Ok(application_rows(&apps, now_ms))
}

fn application_rows(apps: &[(ClientApp, Vec<AppKey>)], now_ms: i64) -> Vec<Finding> {
    let active: Vec<&(ClientApp, Vec<AppKey>)> = apps
        .iter()
        .filter(|(app, _)| app.status == AppStatus::Active)
        .collect();
    let summary = format!(
        "{} registered application(s), {} active",
        apps.len(),
        active.len()
    );
    let mut old_keys = vec![];
    for (app, keys) in &active {
        let newest = keys
            .iter()
            .filter(|key| key.revoked_at_ms.is_none())
            .map(|key| key.created_at_ms)
            .max();
        match newest {
            None => old_keys.push(format!("{} (no live key)", app.id)),
            Some(created) if days_between(created, now_ms) > APP_KEY_ROTATION_DAYS => old_keys
                .push(format!(
                    "{} (newest key from {})",
                    app.id,
                    utc_date(created)
                )),
            Some(_) => {}
        }
    }
    let keys = attention_if_any(
        "5.4.2.1",
        "Client application keys rotated",
        summary.clone(),
        &old_keys,
        &format!(
            "need a new key (older than {APP_KEY_ROTATION_DAYS} days or none live; `inspay apps add-key`)"
        ),
    );
    let no_minimum: Vec<String> = active
        .iter()
        .filter(|(app, _)| app.sdk_version_min.is_none())
        .map(|(app, _)| app.id.clone())
        .collect();
    let minimum = attention_if_any(
        "6.4.5",
        "Minimum client SDK version set",
        summary.clone(),
        &no_minimum,
        "have no minimum SDK version (`inspay apps configure --id APP --min-sdk-version VERSION`)",
    );
    let unused: Vec<String> = active
        .iter()
        .filter(|(app, _)| {
            let since = app.last_seen_at_ms.unwrap_or(app.created_at_ms);
            days_between(since, now_ms) > APP_UNUSED_DAYS
        })
        .map(|(app, _)| app.id.clone())
        .collect();
    let mut use_row = attention_if_any(
        "6.4.6",
        "Applications in use and their SDK recorded",
        summary,
        &unused,
        &format!(
            "unused for more than {APP_UNUSED_DAYS} days (suspend them: `inspay apps suspend`)"
        ),
    );
    for (app, _) in active.iter().take(NAMES_LISTED_MAX) {
        use_row.evidence.push(format!(
            "{}: last seen {}, SDK {}",
            app.id,
            app.last_seen_at_ms
                .map_or_else(|| "never".to_string(), |at| format!("{} UTC", utc_date(at))),
            app.last_sdk.as_deref().unwrap_or("not reported")
        ));
    }
    vec![keys, minimum, use_row]
}

/// Security events of the last 24 hours (6.4.1): alerts by kind.
pub async fn security_events(store: &Store, now_ms: i64) -> anyhow::Result<Finding> {
    let events = store
        .security_events_list(now_ms - SECURITY_EVENTS_WINDOW_MS, SECURITY_EVENTS_MAX)
        .await?;
    let mut by_kind: std::collections::BTreeMap<&str, (usize, usize)> = Default::default();
    for event in &events {
        let entry = by_kind.entry(event.kind.as_str()).or_default();
        entry.0 += 1;
        if event.alert {
            entry.1 += 1;
        }
    }
    let alerts: usize = by_kind.values().map(|(_, alerts)| alerts).sum();
    let mut evidence = vec![format!(
        "{} security event(s) in the last 24 h, {alerts} alert(s)",
        events.len()
    )];
    evidence.extend(
        by_kind
            .iter()
            .map(|(kind, (count, alerts))| format!("{kind}: {count} event(s), {alerts} alert(s)")),
    );
    let status = if alerts == 0 {
        Status::Pass
    } else {
        evidence.push("review the alerts in the security officer's console".into());
        Status::NeedsAttention
    };
    Ok(Finding::new(
        "6.4.1",
        "Security alerts in the last 24 h",
        status,
        evidence,
    ))
}

/// A row that passes with `summary` when `names` is empty and needs attention otherwise.
fn attention_if_any(
    clause: &str,
    title: &str,
    summary: String,
    names: &[String],
    what: &str,
) -> Finding {
    if names.is_empty() {
        Finding::new(clause, title, Status::Pass, vec![summary])
    } else {
        Finding::new(
            clause,
            title,
            Status::NeedsAttention,
            vec![
                summary,
                format!("{} {what}: {}", names.len(), listed(names)),
            ],
        )
    }
}

fn listed(names: &[String]) -> String {
    let mut text = names
        .iter()
        .take(NAMES_LISTED_MAX)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_LISTED_MAX {
        text.push_str(&format!(" and {} more", names.len() - NAMES_LISTED_MAX));
    }
    text
}

/// The store's own database link (5.6.2-a1, 5.6.2-b3) and its role (5.3.1.1), as the
/// database server reports them for this connection. Encrypted passes; a Unix socket or the
/// loopback interface without TLS passes as "local" (nothing leaves the host); a network link
/// without TLS fails. On PostgreSQL the role passes when it holds no more than a runtime
/// role's rights (the server's role; `inspay db grant-runtime`); SQLite has no roles.
pub async fn database(store: &Store) -> anyhow::Result<Vec<Finding>> {
    use inspay_store::ConnectionSecurity;
    let (status, evidence) = match store.connection_security().await? {
        ConnectionSecurity::Encrypted { tls_version } => (
            Status::Pass,
            format!("encrypted: this session to PostgreSQL runs under {tls_version}"),
        ),
        ConnectionSecurity::LocalFile => (
            Status::Pass,
            "local: SQLite, a file this process opens; nothing travels over a network".into(),
        ),
        ConnectionSecurity::LocalUnencrypted { via } => (
            Status::Pass,
            format!(
                "local: PostgreSQL reached through {via} without TLS; the traffic never leaves the host"
            ),
        ),
        ConnectionSecurity::RemoteUnencrypted { server } => (
            Status::Fail,
            format!(
                "not encrypted: PostgreSQL at {server} is reached over the network without TLS; \
                 add sslmode=verify-full&sslrootcert=FILE to database_url (docs/deployment.md, \"PostgreSQL\")"
            ),
        ),
    };
    let link = Finding::new(
        "5.6.2-a1",
        "The database connection is encrypted or local",
        status,
        vec![evidence],
    );
    let excess = store.excess_privileges().await?;
    let role = if store.backend() == inspay_store::Backend::Sqlite {
        Finding::new(
            "5.3.1.1",
            "The database role has no DDL rights",
            Status::Pass,
            vec!["SQLite has no roles: the boundary is the operating system user that owns the database file".into()],
        )
    } else if excess.is_empty() {
        Finding::new(
            "5.3.1.1",
            "The database role has no DDL rights",
            Status::Pass,
            vec!["the configured role holds row rights only: no ownership, CREATE, TRUNCATE or TRIGGER".into()],
        )
    } else {
        let mut evidence: Vec<String> = excess.into_iter().map(|excess| excess.0).collect();
        evidence.push(
            "connect the server as a separate role granted with `inspay db grant-runtime <role>`; \
             keep the owner role for `inspay db migrate`"
                .into(),
        );
        Finding::new(
            "5.3.1.1",
            "The database role has no DDL rights",
            Status::NeedsAttention,
            evidence,
        )
    };
    Ok(vec![link, role])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uncovered_entries_need_attention_after_twice_the_interval() {
        let now = 1_000_000;
        let row = checkpoint_row(60, now, Some(now - 200_000), Some(now - 130_000), 3);
        assert_eq!(row.status, Status::NeedsAttention);
        let row = checkpoint_row(60, now, Some(now - 200_000), Some(now - 100_000), 3);
        assert_eq!(row.status, Status::Pass);
        let row = checkpoint_row(60, now, None, None, 0);
        assert_eq!(row.status, Status::Pass);
    }

    #[test]
    fn long_lists_are_cut() {
        let names: Vec<String> = (0..25).map(|n| format!("n{n}")).collect();
        assert!(listed(&names).ends_with("and 5 more"));
    }
}
