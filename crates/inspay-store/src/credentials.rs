//! Changing a secret (clause 5.2.4.2): the current one is checked first, and wrong current
//! passwords count toward the lockout like failed sign-ins; the new one may not repeat the
//! current one or the last five, and a login password may not equal the transaction password
//! (or the reverse, clause 5.2.1.1-b). A change ends every session of the account and clears
//! the "initial password" flag.

use crate::accounts::{lock_failures, save_failures};
use crate::audit::{AuditValue, Outcome, append_by_account};
use crate::{Store, StoreError};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::secret_hash::{SecretHash, SecretKind, verify_dummy};
use sqlx::Row;

/// Earlier secrets a new one may not repeat (besides the current one).
pub const HISTORY_LEN: i64 = 5;

/// Why a change was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeRefused {
    /// The current secret was wrong (counted toward the lockout).
    WrongCurrent,
    /// The account is locked.
    Locked,
    /// The new secret repeats the current one or one of the last five.
    Reused,
    /// The new login password equals the transaction password, or the reverse.
    SameAsOtherFactor,
}

impl ChangeRefused {
    fn name(self) -> &'static str {
        match self {
            ChangeRefused::WrongCurrent => "wrong-current",
            ChangeRefused::Locked => "locked",
            ChangeRefused::Reused => "reused",
            ChangeRefused::SameAsOtherFactor => "same-as-other-factor",
        }
    }
}

/// A change that went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    /// Sessions ended by the change.
    pub sessions_ended: u64,
}

fn other_factor(kind: SecretKind) -> Option<SecretKind> {
    match kind {
        SecretKind::LoginPassword => Some(SecretKind::TransactionPassword),
        SecretKind::TransactionPassword => Some(SecretKind::LoginPassword),
        SecretKind::Gesture => None,
    }
}

impl Store {
    /// Changes one of an account's secrets after checking the current one. The caller has
    /// already checked the new secret's strength (`password_policy`).
    #[allow(clippy::too_many_arguments)]
    pub async fn secret_change(
        &self,
        account_id: &str,
        kind: SecretKind,
        current: &str,
        new: &str,
        iterations: u32,
        policy: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Result<Changed, ChangeRefused>, StoreError> {
        let hashes = self.secret_hashes(account_id).await?;
        let find = |wanted: SecretKind| hashes.iter().find(|hash| hash.kind() == wanted);
        let current_hash = find(kind).ok_or(StoreError::NotFound("secret"))?.clone();
        let now_s = now_ms.div_euclid(1000);
        let locked_before = self.account_failures(account_id).await?.is_locked(now_s);
        let current_ok = if locked_before {
            verify_dummy(kind, current.as_bytes(), current_hash.iterations())
        } else {
            current_hash.verify(current.as_bytes())
        };
        let history = self.secret_history(account_id, kind).await?;
        let reused = current_hash.verify(new.as_bytes())
            || history.iter().any(|old| old.verify(new.as_bytes()));
        let same_as_other = other_factor(kind)
            .and_then(find)
            .is_some_and(|other| other.verify(new.as_bytes()));
        let fresh = SecretHash::new(kind, new.as_bytes(), iterations)
            .map_err(|_| StoreError::Malformed("secret hash"))?;

        let mut tx = self.begin_write().await?;
        let state = lock_failures(&mut tx, account_id, now_ms).await?;
        let refusal = if state.is_locked(now_s) {
            Some(ChangeRefused::Locked)
        } else if !current_ok {
            // Wrong current secrets count toward the lockout, which ends the sessions
            // (clauses 5.2.4.2-c, 5.2.3.2).
            crate::sign_in_flows::count_failure(&mut tx, account_id, policy, now_ms).await?;
            Some(ChangeRefused::WrongCurrent)
        } else {
            save_failures(&mut tx, account_id, &state.after_success()).await?;
            if reused {
                Some(ChangeRefused::Reused)
            } else if same_as_other {
                Some(ChangeRefused::SameAsOtherFactor)
            } else {
                None
            }
        };
        let action = format!("secret.change.{}", kind.name());
        if let Some(refusal) = refusal {
            append_by_account(
                &mut tx,
                account_id,
                &action,
                Outcome::Denied,
                request_id,
                &[("reason", AuditValue::Word(refusal.name()))],
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(refusal));
        }
        let sessions_ended = replace_secret(&mut tx, account_id, &fresh, now_ms).await?;
        append_by_account(
            &mut tx,
            account_id,
            &action,
            Outcome::Success,
            request_id,
            &[(
                "sessions_ended",
                AuditValue::Number(i64::try_from(sessions_ended).unwrap_or(i64::MAX)),
            )],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(Changed { sessions_ended }))
    }

    /// Resets the login password after the caller verified an SMS code and the registration
    /// data (clause 5.2.4.2-e): the current and last five are still refused, every session
    /// ends, the failure count and the initial-password flag clear. Audited.
    pub async fn password_reset(
        &self,
        account_id: &str,
        new: &str,
        iterations: u32,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Result<Changed, ChangeRefused>, StoreError> {
        let kind = SecretKind::LoginPassword;
        let hashes = self.secret_hashes(account_id).await?;
        let find = |wanted: SecretKind| hashes.iter().find(|hash| hash.kind() == wanted);
        let history = self.secret_history(account_id, kind).await?;
        let reused = find(kind).is_some_and(|current| current.verify(new.as_bytes()))
            || history.iter().any(|old| old.verify(new.as_bytes()));
        let same_as_other =
            find(SecretKind::TransactionPassword).is_some_and(|other| other.verify(new.as_bytes()));
        let fresh = SecretHash::new(kind, new.as_bytes(), iterations)
            .map_err(|_| StoreError::Malformed("secret hash"))?;
        let mut tx = self.begin_write().await?;
        let refusal = if reused {
            Some(ChangeRefused::Reused)
        } else if same_as_other {
            Some(ChangeRefused::SameAsOtherFactor)
        } else {
            None
        };
        if let Some(refusal) = refusal {
            append_by_account(
                &mut tx,
                account_id,
                "secret.reset.login-password",
                Outcome::Denied,
                request_id,
                &[("reason", AuditValue::Word(refusal.name()))],
                now_ms,
            )
            .await?;
            tx.commit().await?;
            return Ok(Err(refusal));
        }
        let sessions_ended = replace_secret(&mut tx, account_id, &fresh, now_ms).await?;
        lock_failures(&mut tx, account_id, now_ms).await?;
        save_failures(
            &mut tx,
            account_id,
            &inspay_identity::lockout::FailureState::default(),
        )
        .await?;
        append_by_account(
            &mut tx,
            account_id,
            "secret.reset.login-password",
            Outcome::Success,
            request_id,
            &[(
                "sessions_ended",
                AuditValue::Number(i64::try_from(sessions_ended).unwrap_or(i64::MAX)),
            )],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(Changed { sessions_ended }))
    }

    /// Sets a secret the account does not have yet (enrolling a transaction password or a
    /// gesture). The caller has checked its strength and, for a transaction password, that it
    /// differs from the login password.
    pub async fn secret_enrol(
        &self,
        account_id: &str,
        hash: &SecretHash,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query("INSERT INTO account_secrets (account_id, kind, hash, set_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(account_id)
            .bind(hash.kind().name())
            .bind(hash.to_text())
            .bind(now_ms)
            .execute(&mut *tx)
            .await;
        if let Err(sqlx::Error::Database(error)) = &inserted
            && error.is_unique_violation()
        {
            return Err(StoreError::Conflict(
                "this factor is already enrolled; change it instead",
            ));
        }
        inserted?;
        append_by_account(
            &mut tx,
            account_id,
            &format!("secret.enrol.{}", hash.kind().name()),
            Outcome::Success,
            request_id,
            &[],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every current secret hash of an account.
    pub async fn secret_hashes(&self, account_id: &str) -> Result<Vec<SecretHash>, StoreError> {
        let rows = sqlx::query("SELECT hash FROM account_secrets WHERE account_id = $1")
            .bind(account_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get(0)?;
                SecretHash::parse(&text).map_err(|_| StoreError::Malformed("secret hash"))
            })
            .collect()
    }

    async fn secret_history(
        &self,
        account_id: &str,
        kind: SecretKind,
    ) -> Result<Vec<SecretHash>, StoreError> {
        let rows = sqlx::query(
            "SELECT hash FROM account_secret_history WHERE account_id = $1 AND kind = $2
             ORDER BY replaced_at_ms DESC LIMIT $3",
        )
        .bind(account_id)
        .bind(kind.name())
        .bind(HISTORY_LEN)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let text: String = row.try_get(0)?;
                SecretHash::parse(&text).map_err(|_| StoreError::Malformed("secret hash"))
            })
            .collect()
    }
}

/// Moves the current secret into the history (keeping the last [`HISTORY_LEN`]), stores the
/// new one, clears the initial-password flag for a login password, and ends every session.
/// Returns how many sessions ended.
async fn replace_secret(
    tx: &mut sqlx::AnyConnection,
    account_id: &str,
    fresh: &SecretHash,
    now_ms: i64,
) -> Result<u64, StoreError> {
    let kind = fresh.kind();
    sqlx::query(
        "INSERT INTO account_secret_history (account_id, kind, hash, set_at_ms, replaced_at_ms)
         SELECT account_id, kind, hash, set_at_ms, $3 FROM account_secrets WHERE account_id = $1 AND kind = $2",
    )
    .bind(account_id)
    .bind(kind.name())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "DELETE FROM account_secret_history WHERE account_id = $1 AND kind = $2 AND replaced_at_ms NOT IN (
        SELECT replaced_at_ms FROM account_secret_history WHERE account_id = $1 AND kind = $2
        ORDER BY replaced_at_ms DESC LIMIT $3)",
    )
    .bind(account_id)
    .bind(kind.name())
    .bind(HISTORY_LEN)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE account_secrets SET hash = $3, set_at_ms = $4 WHERE account_id = $1 AND kind = $2",
    )
    .bind(account_id)
    .bind(kind.name())
    .bind(fresh.to_text())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    if kind == SecretKind::LoginPassword {
        sqlx::query("UPDATE accounts SET must_change_password = 0 WHERE id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?;
    }
    // Sessions and sign-ins under way began with the old secret: they end.
    let sessions_ended = crate::sessions::end_account_sign_ins(tx, account_id, now_ms).await?;
    Ok(sessions_ended)
}
