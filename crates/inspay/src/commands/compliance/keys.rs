//! Data keys (5.5.2.1): every purpose has exactly one active key, rotated on schedule;
//! compromised keys are on their way out; scheduled destructions are carried out.

use super::model::{Finding, Status, days_between};
use crate::commands::utc_date;
use inspay_kms::{KeyPurpose, KeyState};
use inspay_store::keys::KeyRecord;

/// Days before a scheduled rotation from which the key needs attention.
pub const ROTATION_ATTENTION_DAYS: i64 = 7;

/// One row per purpose plus one for keys outside normal use, at `now_ms`.
pub fn rows(records: &[KeyRecord], now_ms: i64) -> Vec<Finding> {
    let mut findings: Vec<Finding> = KeyPurpose::ALL
        .into_iter()
        .map(|purpose| active_key(purpose, records, now_ms))
        .collect();
    findings.push(lifecycle(records, now_ms));
    findings
}

fn active_key(purpose: KeyPurpose, records: &[KeyRecord], now_ms: i64) -> Finding {
    let title = format!("Active key and rotation: {purpose}");
    let active: Vec<&KeyRecord> = records
        .iter()
        .filter(|record| record.purpose == purpose && record.state == KeyState::Active)
        .collect();
    let retired = records
        .iter()
        .filter(|record| record.purpose == purpose && record.state == KeyState::DecryptOnly)
        .count();
    let key = match active.as_slice() {
        [] => {
            return Finding::new(
                "5.5.2.1",
                &title,
                Status::Fail,
                vec![format!(
                    "no active {purpose} key: nothing can be protected; run `inspay keys rotate {purpose}`"
                )],
            );
        }
        [key] => *key,
        many => {
            return Finding::new(
                "5.5.2.1",
                &title,
                Status::Fail,
                vec![format!(
                    "{} active {purpose} keys; exactly one may be active",
                    many.len()
                )],
            );
        }
    };
    let mut evidence = vec![format!(
        "v{} ({}) active since {} UTC; {retired} older version(s) decrypt-only",
        key.version,
        key.algorithm,
        utc_date(key.activated_at_ms.unwrap_or(key.created_at_ms))
    )];
    let status = match key.rotate_after_ms {
        None => {
            evidence.push("no scheduled rotation date".into());
            Status::NeedsAttention
        }
        Some(due_ms) => {
            let days = days_between(now_ms, due_ms);
            let due = utc_date(due_ms);
            if now_ms > due_ms {
                evidence.push(format!(
                    "rotation was due {due} UTC, {} day(s) ago: run `inspay keys rotate-due`",
                    -days
                ));
                Status::Fail
            } else if days < ROTATION_ATTENTION_DAYS {
                evidence.push(format!("rotation due {due} UTC, in {days} day(s)"));
                Status::NeedsAttention
            } else {
                evidence.push(format!("rotation due {due} UTC, in {days} day(s)"));
                Status::Pass
            }
        }
    };
    Finding::new("5.5.2.1", &title, status, evidence)
}

fn lifecycle(records: &[KeyRecord], now_ms: i64) -> Finding {
    let mut status = Status::Pass;
    let mut evidence = vec![];
    for record in records {
        let name = record.object();
        match record.state {
            KeyState::Compromised if record.destroy_after_ms.is_none() => {
                status = status.worst(Status::NeedsAttention);
                evidence.push(format!(
                    "{name} is compromised and its destruction is not scheduled: rewrap, then `inspay keys schedule-destruction`"
                ));
            }
            KeyState::Compromised | KeyState::Suspended => {
                evidence.push(format!("{name} is {} (not in use)", record.state));
            }
            _ => {}
        }
        if let (Some(due_ms), None) = (record.destroy_after_ms, record.destroyed_at_ms) {
            if due_ms < now_ms {
                status = status.worst(Status::NeedsAttention);
                evidence.push(format!(
                    "{name}: destruction was due {} UTC; run `inspay keys destroy-due`",
                    utc_date(due_ms)
                ));
            } else {
                evidence.push(format!(
                    "{name}: destruction scheduled for {} UTC",
                    utc_date(due_ms)
                ));
            }
        }
    }
    let destroyed = records
        .iter()
        .filter(|record| record.state == KeyState::Destroyed)
        .count();
    evidence.insert(
        0,
        format!(
            "{} key version(s) on record, {destroyed} destroyed",
            records.len()
        ),
    );
    Finding::new(
        "5.5.2.1",
        "Compromised, suspended and scheduled keys",
        status,
        evidence,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY_MS: i64 = 86_400_000;

    fn key(purpose: KeyPurpose, version: u32, state: KeyState, rotate_day: i64) -> KeyRecord {
        KeyRecord {
            purpose,
            version,
            state,
            state_before_suspension: None,
            algorithm: purpose.algorithm().name().into(),
            wrapped: None,
            public_key_pem: None,
            created_at_ms: 0,
            activated_at_ms: Some(0),
            rotate_after_ms: Some(rotate_day * DAY_MS),
            deactivated_at_ms: None,
            destroy_after_ms: None,
            destroyed_at_ms: None,
        }
    }

    fn all_active(rotate_day: i64) -> Vec<KeyRecord> {
        KeyPurpose::ALL
            .into_iter()
            .map(|purpose| key(purpose, 1, KeyState::Active, rotate_day))
            .collect()
    }

    #[test]
    fn rotation_dates_are_graded() {
        let now = 100 * DAY_MS;
        let statuses = |records: &[KeyRecord]| {
            rows(records, now)
                .into_iter()
                .map(|row| row.status)
                .collect::<Vec<_>>()
        };
        assert!(
            statuses(&all_active(200))
                .iter()
                .all(|s| *s == Status::Pass)
        );
        assert_eq!(statuses(&all_active(103))[0], Status::NeedsAttention);
        assert_eq!(statuses(&all_active(99))[0], Status::Fail);
        let mut missing = all_active(200);
        missing.remove(0);
        assert_eq!(statuses(&missing)[0], Status::Fail);
    }

    #[test]
    fn compromised_keys_without_a_destruction_date_need_attention() {
        let mut records = all_active(200);
        records.push(key(
            KeyPurpose::FieldEncryption,
            2,
            KeyState::Compromised,
            0,
        ));
        let last = rows(&records, 100 * DAY_MS).pop().map(|row| row.status);
        assert_eq!(last, Some(Status::NeedsAttention));
    }
}
