//! The key lifecycle (clause 5.5.2.1), after NIST SP 800-57 part 1 section 7:
//!
//! ```text
//!   pre-active ──activate──▶ active ──deactivate (rotation)──▶ decrypt-only
//!        │                    │  ▲                                 │
//!        │                 suspend│resume                       suspend
//!        │                    ▼  │                                 ▼
//!        │                 suspended ◀────────────────────────────┘
//!        │                    │
//!        └──── compromise (from any live state) ──▶ compromised
//!
//!   schedule-destruction (not from active; 7–30 days) ... destroy (when due) ──▶ destroyed
//! ```
//!
//! Only an active key encrypts, signs or MACs new data. Active and decrypt-only keys decrypt
//! and verify. A suspended key does nothing until resumed. A compromised key is used only to
//! decrypt data while it is rewrapped under a new key, and never to verify a signature. A
//! destroyed key's material is gone, and with it every value it protected (crypto-shredding,
//! clause 5.6.5-a1).

use crate::{KeyPurpose, KmsError};
use core::fmt;

/// Shortest waiting period between scheduling a destruction and carrying it out.
pub const DESTRUCTION_WAIT_DAYS_MIN: u32 = 7;
/// Longest waiting period.
pub const DESTRUCTION_WAIT_DAYS_MAX: u32 = 30;
const _: () = assert!(DESTRUCTION_WAIT_DAYS_MIN <= DESTRUCTION_WAIT_DAYS_MAX);

/// A key's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyState {
    /// Generated, not yet in use.
    PreActive,
    /// The one key of its purpose that protects new data.
    Active,
    /// Retired by rotation: still decrypts and verifies what it protected.
    DecryptOnly,
    /// Temporarily unusable (an investigation, a custodian's hold).
    Suspended,
    /// Known or suspected to be exposed.
    Compromised,
    /// Material erased.
    Destroyed,
}

impl KeyState {
    /// Every state.
    pub const ALL: [KeyState; 6] = [
        KeyState::PreActive,
        KeyState::Active,
        KeyState::DecryptOnly,
        KeyState::Suspended,
        KeyState::Compromised,
        KeyState::Destroyed,
    ];

    /// The stable name used in storage and the CLI.
    pub const fn name(self) -> &'static str {
        match self {
            KeyState::PreActive => "pre-active",
            KeyState::Active => "active",
            KeyState::DecryptOnly => "decrypt-only",
            KeyState::Suspended => "suspended",
            KeyState::Compromised => "compromised",
            KeyState::Destroyed => "destroyed",
        }
    }

    /// Parses a stored state name.
    pub fn parse(name: &str) -> Option<KeyState> {
        KeyState::ALL.into_iter().find(|state| state.name() == name)
    }

    /// Whether the key may protect new data (encrypt, sign, MAC).
    pub const fn may_protect(self) -> bool {
        matches!(self, KeyState::Active)
    }

    /// Whether the key may open what it protected (decrypt, verify a MAC or signature).
    pub const fn may_open(self) -> bool {
        matches!(self, KeyState::Active | KeyState::DecryptOnly)
    }

    /// Whether a rewrap may still decrypt with it, to move data to a new key.
    pub const fn may_open_for_rewrap(self) -> bool {
        matches!(
            self,
            KeyState::Active | KeyState::DecryptOnly | KeyState::Compromised
        )
    }
}

impl fmt::Display for KeyState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Something that moves a key through its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyEvent {
    /// Put a pre-active key into use.
    Activate,
    /// Retire an active key when a newer version becomes active.
    Deactivate,
    /// Hold a key.
    Suspend,
    /// Release a hold.
    Resume,
    /// Declare a key exposed.
    Compromise,
    /// Start the destruction waiting period.
    ScheduleDestruction,
    /// Stop a scheduled destruction.
    CancelDestruction,
    /// Erase the material once the waiting period is over.
    Destroy,
}

impl KeyEvent {
    /// The stable name used in the audit log.
    pub const fn name(self) -> &'static str {
        match self {
            KeyEvent::Activate => "activate",
            KeyEvent::Deactivate => "deactivate",
            KeyEvent::Suspend => "suspend",
            KeyEvent::Resume => "resume",
            KeyEvent::Compromise => "compromise",
            KeyEvent::ScheduleDestruction => "schedule-destruction",
            KeyEvent::CancelDestruction => "cancel-destruction",
            KeyEvent::Destroy => "destroy",
        }
    }
}

impl fmt::Display for KeyEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What the lifecycle rules need to know about a key besides its state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyFacts {
    /// The key's purpose.
    pub purpose: KeyPurpose,
    /// The key's version.
    pub version: u32,
    /// Its state.
    pub state: KeyState,
    /// The state it was in when suspended, to return to on resume.
    pub state_before_suspension: Option<KeyState>,
    /// When a scheduled destruction becomes due (unix seconds), if one is scheduled.
    pub destroy_after_s: Option<i64>,
}

/// The outcome of an allowed transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The new state.
    pub state: KeyState,
    /// The state to remember for a later resume.
    pub state_before_suspension: Option<KeyState>,
    /// The destruction deadline after the transition.
    pub destroy_after_s: Option<i64>,
}

/// Applies `event` to a key, or explains why it is not allowed. `wait_days` applies only to
/// [`KeyEvent::ScheduleDestruction`]; `now_s` is the current unix time.
pub fn transition(
    facts: KeyFacts,
    event: KeyEvent,
    wait_days: u32,
    now_s: i64,
) -> Result<Transition, KmsError> {
    use KeyEvent as E;
    use KeyState as S;
    let refuse = |hint: &'static str| KmsError::Transition {
        purpose: facts.purpose,
        version: facts.version,
        event,
        state: facts.state,
        hint,
    };
    let keep = |state| Transition {
        state,
        state_before_suspension: facts.state_before_suspension,
        destroy_after_s: facts.destroy_after_s,
    };
    if facts.destroy_after_s.is_some()
        && !matches!(event, E::CancelDestruction | E::Destroy | E::Compromise)
    {
        return Err(refuse("; its destruction is scheduled: cancel it first"));
    }
    match (facts.state, event) {
        (S::PreActive, E::Activate) => Ok(keep(S::Active)),
        (S::Active, E::Deactivate) => Ok(keep(S::DecryptOnly)),
        (S::Active | S::DecryptOnly, E::Suspend) => Ok(Transition {
            state: S::Suspended,
            state_before_suspension: Some(facts.state),
            destroy_after_s: None,
        }),
        (S::Suspended, E::Resume) => Ok(Transition {
            state: facts.state_before_suspension.unwrap_or(S::DecryptOnly),
            state_before_suspension: None,
            destroy_after_s: None,
        }),
        (S::PreActive | S::Active | S::DecryptOnly | S::Suspended, E::Compromise) => {
            Ok(keep(S::Compromised))
        }
        (S::Active, E::ScheduleDestruction) => Err(refuse(
            "; rotate first so that another key takes over, then schedule destruction",
        )),
        (S::PreActive | S::DecryptOnly | S::Suspended | S::Compromised, E::ScheduleDestruction) => {
            if !(DESTRUCTION_WAIT_DAYS_MIN..=DESTRUCTION_WAIT_DAYS_MAX).contains(&wait_days) {
                return Err(KmsError::WaitingPeriod {
                    min: DESTRUCTION_WAIT_DAYS_MIN,
                    max: DESTRUCTION_WAIT_DAYS_MAX,
                    asked: wait_days,
                });
            }
            Ok(Transition {
                state: facts.state,
                state_before_suspension: facts.state_before_suspension,
                destroy_after_s: Some(now_s + i64::from(wait_days) * 86_400),
            })
        }
        (state, E::CancelDestruction) if state != S::Destroyed => match facts.destroy_after_s {
            Some(_) => Ok(Transition {
                state,
                state_before_suspension: facts.state_before_suspension,
                destroy_after_s: None,
            }),
            None => Err(refuse("; no destruction is scheduled")),
        },
        (state, E::Destroy) if state != S::Destroyed => match facts.destroy_after_s {
            Some(due) if due <= now_s => Ok(Transition {
                state: S::Destroyed,
                state_before_suspension: None,
                destroy_after_s: Some(due),
            }),
            Some(_) => Err(refuse("; its waiting period is not over")),
            None => Err(refuse("; schedule the destruction first")),
        },
        _ => Err(refuse("")),
    }
}
