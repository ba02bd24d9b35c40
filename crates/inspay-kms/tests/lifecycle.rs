//! The key lifecycle rules, exhaustively.

use inspay_kms::state::{KeyFacts, Transition, transition};
use inspay_kms::{KeyEvent, KeyPurpose, KeyState};

const NOW: i64 = 1_800_000_000;
const EVENTS: [KeyEvent; 8] = [
    KeyEvent::Activate,
    KeyEvent::Deactivate,
    KeyEvent::Suspend,
    KeyEvent::Resume,
    KeyEvent::Compromise,
    KeyEvent::ScheduleDestruction,
    KeyEvent::CancelDestruction,
    KeyEvent::Destroy,
];

fn facts(state: KeyState) -> KeyFacts {
    KeyFacts {
        purpose: KeyPurpose::FieldEncryption,
        version: 1,
        state,
        state_before_suspension: None,
        destroy_after_s: None,
    }
}

/// Every (state, event) pair without a scheduled destruction gives exactly the transitions of
/// the documented lifecycle, and refuses the rest.
/// req: 5.5.2.1
#[test]
fn lifecycle_table_is_exactly_the_documented_one() {
    use KeyEvent as E;
    use KeyState as S;
    let mut allowed = vec![];
    for state in KeyState::ALL {
        for event in EVENTS {
            if let Ok(next) = transition(facts(state), event, 7, NOW) {
                allowed.push((state, event, next.state));
            }
        }
    }
    let expected = vec![
        (S::PreActive, E::Activate, S::Active),
        (S::PreActive, E::Compromise, S::Compromised),
        (S::PreActive, E::ScheduleDestruction, S::PreActive),
        (S::Active, E::Deactivate, S::DecryptOnly),
        (S::Active, E::Suspend, S::Suspended),
        (S::Active, E::Compromise, S::Compromised),
        (S::DecryptOnly, E::Suspend, S::Suspended),
        (S::DecryptOnly, E::Compromise, S::Compromised),
        (S::DecryptOnly, E::ScheduleDestruction, S::DecryptOnly),
        (S::Suspended, E::Resume, S::DecryptOnly),
        (S::Suspended, E::Compromise, S::Compromised),
        (S::Suspended, E::ScheduleDestruction, S::Suspended),
        (S::Compromised, E::ScheduleDestruction, S::Compromised),
    ];
    assert_eq!(allowed, expected);
}

/// Destruction waits 7 to 30 days, cannot start on the active key, cannot happen early, and
/// can be cancelled while pending; a destroyed key stays destroyed.
/// req: 5.5.2.1
#[test]
fn destruction_waits_and_can_be_cancelled() {
    let retired = facts(KeyState::DecryptOnly);
    for days in [0, 6, 31, 365] {
        assert!(
            transition(retired, KeyEvent::ScheduleDestruction, days, NOW).is_err(),
            "{days}"
        );
    }
    let error = transition(
        facts(KeyState::Active),
        KeyEvent::ScheduleDestruction,
        7,
        NOW,
    )
    .expect_err("active");
    assert!(error.to_string().contains("rotate first"), "{error}");

    let scheduled: Transition =
        transition(retired, KeyEvent::ScheduleDestruction, 7, NOW).expect("schedule");
    assert_eq!(scheduled.destroy_after_s, Some(NOW + 7 * 86_400));
    let pending = KeyFacts {
        destroy_after_s: scheduled.destroy_after_s,
        ..retired
    };
    assert!(transition(pending, KeyEvent::Destroy, 7, NOW + 7 * 86_400 - 1).is_err());
    assert!(transition(pending, KeyEvent::Suspend, 7, NOW).is_err());
    let cancelled = transition(pending, KeyEvent::CancelDestruction, 7, NOW).expect("cancel");
    assert_eq!(cancelled.destroy_after_s, None);
    assert_eq!(cancelled.state, KeyState::DecryptOnly);
    let destroyed = transition(pending, KeyEvent::Destroy, 7, NOW + 7 * 86_400).expect("due");
    assert_eq!(destroyed.state, KeyState::Destroyed);
    for event in EVENTS {
        let gone = KeyFacts {
            state: KeyState::Destroyed,
            destroy_after_s: destroyed.destroy_after_s,
            ..retired
        };
        assert!(
            transition(gone, event, 7, NOW + 30 * 86_400).is_err(),
            "{event}"
        );
    }
}

/// A suspended key returns to the state it was suspended from.
/// req: 5.5.2.1
#[test]
fn resume_returns_to_the_state_before_suspension() {
    let suspended =
        transition(facts(KeyState::Active), KeyEvent::Suspend, 7, NOW).expect("suspend");
    let facts = KeyFacts {
        state: suspended.state,
        state_before_suspension: suspended.state_before_suspension,
        ..facts(KeyState::Active)
    };
    let resumed = transition(facts, KeyEvent::Resume, 7, NOW).expect("resume");
    assert_eq!(resumed.state, KeyState::Active);
}

/// Only active keys protect new data; compromised keys only open data for a rewrap.
/// req: 5.5.2.1
#[test]
fn usage_rights_follow_the_state() {
    let protect: Vec<_> = KeyState::ALL
        .into_iter()
        .filter(|s| s.may_protect())
        .collect();
    assert_eq!(protect, [KeyState::Active]);
    let open: Vec<_> = KeyState::ALL.into_iter().filter(|s| s.may_open()).collect();
    assert_eq!(open, [KeyState::Active, KeyState::DecryptOnly]);
    assert!(KeyState::Compromised.may_open_for_rewrap());
    assert!(!KeyState::Suspended.may_open_for_rewrap());
    for state in KeyState::ALL {
        assert_eq!(KeyState::parse(state.name()), Some(state));
    }
}
