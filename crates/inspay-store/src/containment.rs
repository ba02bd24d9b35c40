//! Incident containment switches (clause 6.4.3): freeze a customer or staff account, pause a
//! payment channel, end every live session at once.
//!
//! Each switch lives in the database and every node reads it where it matters, on every use
//! (no cache), so a switch thrown through one node or the command line holds on all nodes at
//! the next request:
//! - a frozen account has `accounts.status = 'frozen'`, which password sign-in, device keys
//!   and grants already refuse; freezing also deletes its sessions and ends its sign-ins under
//!   way, so its live sessions stop at the next request; the fund paths refuse it and the
//!   outbox holds its refunds and payouts until it is unfrozen;
//! - a paused channel takes no new payment or payout-account check, and the outbox sends it
//!   nothing: queued work stays queued, uncounted, and is sent once after the resume;
//! - ending every session deletes every session row and ends every sign-in under way.
//!
//! Every change is audited (`containment.*`) in the same transaction as the change.

use crate::audit::{AuditEvent, AuditValue, Outcome, append};
use crate::keys::Actor;
use crate::{Store, StoreError};
use sqlx::Row;

/// Longest reason, in characters.
pub const REASON_CHARS_MAX: usize = 200;
/// Longest channel name, in characters.
pub const CHANNEL_CHARS_MAX: usize = 32;
/// The name of the channel configured in `[payments.channel]` (a deployment has one).
pub const CHANNEL_DEFAULT: &str = "default";
/// Longest run of digits a reason may hold: a longer run could be a card, ID or mobile number.
const REASON_DIGIT_RUN_MAX: usize = 5;
/// Switches listed at most.
pub const SWITCHES_LISTED_MAX: i64 = 10_000;
/// The subject of the `sessions-ended` switch.
const ALL: &str = "all";
/// Why the outbox holds a row of a frozen account (fixed text).
pub const HELD_FROZEN: &str = "held: the account is frozen";

/// Why a switch was thrown: 1 to [`REASON_CHARS_MAX`] printable characters, such as an
/// incident ticket, with no run of more than five digits (no personal numbers).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reason(String);

impl Reason {
    /// Parses a reason.
    pub fn parse(text: &str) -> Result<Reason, &'static str> {
        let text = text.trim();
        if text.is_empty() {
            return Err("the reason is empty; name the incident, e.g. \"INC-42 account takeover\"");
        }
        if text.chars().count() > REASON_CHARS_MAX {
            return Err("the reason is longer than 200 characters; name the incident ticket");
        }
        if text.chars().any(char::is_control) {
            return Err("the reason holds control characters");
        }
        let mut run = 0;
        for c in text.chars() {
            run = if c.is_ascii_digit() { run + 1 } else { 0 };
            if run > REASON_DIGIT_RUN_MAX {
                return Err(
                    "the reason holds a long number, which could be personal data (a card, ID or mobile number); name the incident ticket instead",
                );
            }
        }
        Ok(Reason(text.to_string()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payment channel's name: 1 to [`CHANNEL_CHARS_MAX`] of `a-z 0-9 -`. The channel of
/// `[payments.channel]` is [`CHANNEL_DEFAULT`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelName(String);

impl ChannelName {
    /// Parses a channel name.
    pub fn parse(text: &str) -> Result<ChannelName, &'static str> {
        let well_formed = !text.is_empty()
            && text.len() <= CHANNEL_CHARS_MAX
            && text
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if well_formed {
            Ok(ChannelName(text.to_string()))
        } else {
            Err("a channel name is 1 to 32 of a-z 0-9 -; the configured channel is \"default\"")
        }
    }

    /// The channel of `[payments.channel]`.
    pub fn configured() -> ChannelName {
        ChannelName(CHANNEL_DEFAULT.to_string())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a switch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwitchKind {
    /// An account is frozen.
    AccountFrozen,
    /// A payment channel is paused.
    ChannelPaused,
    /// Every session was ended (kept: the last time).
    SessionsEnded,
}

impl SwitchKind {
    /// The stored name.
    pub const fn name(self) -> &'static str {
        match self {
            SwitchKind::AccountFrozen => "account-frozen",
            SwitchKind::ChannelPaused => "channel-paused",
            SwitchKind::SessionsEnded => "sessions-ended",
        }
    }

    fn parse(text: &str) -> Option<SwitchKind> {
        [
            SwitchKind::AccountFrozen,
            SwitchKind::ChannelPaused,
            SwitchKind::SessionsEnded,
        ]
        .into_iter()
        .find(|kind| kind.name() == text)
    }
}

/// A switch in force.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Switch {
    /// What it does (`account-frozen`, `channel-paused`, `sessions-ended`).
    pub kind: &'static str,
    /// The account id, the channel name, or `all`.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// Who threw it (`operator:<name>`, `user:<id>`).
    pub set_by: String,
    /// When, unix ms.
    pub set_at_ms: i64,
}

/// What the fund paths must know about an account and a channel, read in one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FundGate {
    /// The account is frozen.
    pub account_frozen: bool,
    /// The channel is paused.
    pub channel_paused: bool,
}

fn count(value: u64) -> AuditValue {
    AuditValue::Number(i64::try_from(value).unwrap_or(i64::MAX))
}

impl Store {
    /// Freezes an account: marks it frozen, deletes its sessions, ends its sign-ins under way
    /// and records the switch, audited as `containment.account-frozen`. Returns how many
    /// sessions ended. Refused for an unknown, closed or already frozen account.
    pub async fn containment_freeze_account(
        &self,
        account_id: &str,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query("SELECT status FROM accounts WHERE id = $1")
            .bind(account_id)
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get(0))
            .transpose()?;
        match status.as_deref() {
            None => return Err(StoreError::NotFound("account")),
            Some("frozen") => return Err(StoreError::Conflict("the account is already frozen")),
            Some("active") => {}
            Some(_) => return Err(StoreError::Conflict("the account is closed")),
        }
        let updated = sqlx::query(
            "UPDATE accounts SET status = 'frozen' WHERE id = $1 AND status = 'active'",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::Conflict("the account changed; try again"));
        }
        let ended = crate::sessions::end_account_sign_ins(&mut tx, account_id, now_ms).await?;
        sqlx::query(
            "INSERT INTO containment_switches (kind, subject, reason, set_by, set_at_ms)
             VALUES ('account-frozen', $1, $2, $3, $4)
             ON CONFLICT (kind, subject) DO UPDATE
             SET reason = excluded.reason, set_by = excluded.set_by, set_at_ms = excluded.set_at_ms",
        )
        .bind(account_id)
        .bind(reason.as_str())
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "containment.account-frozen",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    ("reason", AuditValue::Text(reason.as_str().to_string())),
                    ("sessions_ended", count(ended)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// Unfreezes an account: it may sign in again (the sessions the freeze ended stay ended),
    /// audited as `containment.account-unfrozen`. Refused unless the account is frozen.
    pub async fn containment_unfreeze_account(
        &self,
        account_id: &str,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE accounts SET status = 'active' WHERE id = $1 AND status = 'frozen'",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated != 1 {
            return Err(StoreError::NotFound("frozen account"));
        }
        sqlx::query(
            "DELETE FROM containment_switches WHERE kind = 'account-frozen' AND subject = $1",
        )
        .bind(account_id)
        .execute(&mut *tx)
        .await?;
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "containment.account-unfrozen",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[("reason", AuditValue::Text(reason.as_str().to_string()))],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Pauses a payment channel, audited as `containment.channel-paused`. Refused if it is
    /// already paused.
    pub async fn containment_pause_channel(
        &self,
        channel: &ChannelName,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO containment_switches (kind, subject, reason, set_by, set_at_ms)
             VALUES ('channel-paused', $1, $2, $3, $4)
             ON CONFLICT (kind, subject) DO NOTHING",
        )
        .bind(channel.as_str())
        .bind(reason.as_str())
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted != 1 {
            return Err(StoreError::Conflict("the channel is already paused"));
        }
        self.audit_channel(
            &mut tx,
            "containment.channel-paused",
            channel,
            reason,
            who,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Resumes a paused channel, audited as `containment.channel-resumed`: queued work goes
    /// out at the workers' next pass. Refused unless it is paused.
    pub async fn containment_resume_channel(
        &self,
        channel: &ChannelName,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM containment_switches WHERE kind = 'channel-paused' AND subject = $1",
        )
        .bind(channel.as_str())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if deleted != 1 {
            return Err(StoreError::NotFound("paused channel"));
        }
        self.audit_channel(
            &mut tx,
            "containment.channel-resumed",
            channel,
            reason,
            who,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn audit_channel(
        &self,
        connection: &mut sqlx::AnyConnection,
        action: &str,
        channel: &ChannelName,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = format!("channel:{}", channel.as_str());
        append(
            connection,
            &AuditEvent {
                actor: who.actor,
                action,
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[("reason", AuditValue::Text(reason.as_str().to_string()))],
            },
            now_ms,
        )
        .await?;
        Ok(())
    }

    /// Ends every live session, customer and staff, and every sign-in under way, audited as
    /// `containment.sessions-ended`. Returns how many sessions ended. The next request with
    /// an old session is refused as signed out (401); new sign-ins work at once.
    pub async fn containment_end_all_sessions(
        &self,
        reason: &Reason,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let mut tx = self.begin_write().await?;
        let ended = sqlx::query("DELETE FROM sessions")
            .execute(&mut *tx)
            .await?
            .rows_affected();
        sqlx::query(
            "UPDATE sign_in_flows SET stage = 'ended', updated_at_ms = $1
             WHERE stage = 'awaiting-second'",
        )
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO containment_switches (kind, subject, reason, set_by, set_at_ms)
             VALUES ('sessions-ended', $1, $2, $3, $4)
             ON CONFLICT (kind, subject) DO UPDATE
             SET reason = excluded.reason, set_by = excluded.set_by, set_at_ms = excluded.set_at_ms",
        )
        .bind(ALL)
        .bind(reason.as_str())
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "containment.sessions-ended",
                object: "sessions:all",
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[
                    ("reason", AuditValue::Text(reason.as_str().to_string())),
                    ("sessions_ended", count(ended)),
                ],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(ended)
    }

    /// The switches in force, oldest first (and the last time every session was ended).
    pub async fn containment_switches(&self) -> Result<Vec<Switch>, StoreError> {
        let rows = sqlx::query(
            "SELECT kind, subject, reason, set_by, set_at_ms FROM containment_switches
             ORDER BY set_at_ms, kind, subject LIMIT $1",
        )
        .bind(SWITCHES_LISTED_MAX)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get(0)?;
                Ok(Switch {
                    kind: SwitchKind::parse(&kind)
                        .ok_or(StoreError::Malformed("containment switch kind"))?
                        .name(),
                    subject: row.try_get(1)?,
                    reason: row.try_get(2)?,
                    set_by: row.try_get(3)?,
                    set_at_ms: row.try_get(4)?,
                })
            })
            .collect()
    }

    /// Whether the account is frozen and the channel paused, in one read.
    pub async fn containment_fund_gate(
        &self,
        account_id: &str,
        channel: &str,
    ) -> Result<FundGate, StoreError> {
        let row = sqlx::query(
            "SELECT
               (SELECT COUNT(*) FROM accounts WHERE id = $1 AND status = 'frozen'),
               (SELECT COUNT(*) FROM containment_switches
                WHERE kind = 'channel-paused' AND subject = $2)",
        )
        .bind(account_id)
        .bind(channel)
        .fetch_one(&self.pool)
        .await?;
        Ok(FundGate {
            account_frozen: row.try_get::<i64, _>(0)? > 0,
            channel_paused: row.try_get::<i64, _>(1)? > 0,
        })
    }

    /// Whether the channel is paused.
    pub async fn containment_channel_paused(&self, channel: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM containment_switches WHERE kind = 'channel-paused' AND subject = $1",
        )
        .bind(channel)
        .fetch_one(&self.pool)
        .await?;
        Ok(row.try_get::<i64, _>(0)? > 0)
    }

    /// Puts a claimed outbox row back until `next_attempt_at_ms` without counting the
    /// attempt: the account it pays is frozen, which is no failure of the channel.
    pub async fn containment_outbox_hold(
        &self,
        id: &str,
        next_attempt_at_ms: i64,
        at_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE outbox SET next_attempt_at_ms = $1, lease_until_ms = 0, last_error = $2,
                 attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END,
                 updated_at_ms = $3
             WHERE id = $4 AND state = 'ready'",
        )
        .bind(next_attempt_at_ms)
        .bind(HELD_FROZEN)
        .bind(at_ms)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reasons are short, printable and hold no personal numbers; channel names are plain.
    /// req: 6.4.3
    #[test]
    fn reasons_and_channel_names_are_checked() {
        assert!(Reason::parse("INC-2026-042 account takeover").is_ok());
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"x".repeat(REASON_CHARS_MAX + 1)).is_err());
        assert!(Reason::parse("card 6222021234567890128 leaked").is_err());
        assert!(Reason::parse("line\nbreak").is_err());
        assert!(ChannelName::parse("default").is_ok());
        assert!(ChannelName::parse("Bank A").is_err());
        assert!(ChannelName::parse("").is_err());
        assert_eq!(ChannelName::configured().as_str(), CHANNEL_DEFAULT);
    }
}
