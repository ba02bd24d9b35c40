//! The server-side authentication state between requests (clauses 5.2.1.2, 5.3.1.2, 5.1-b).
//!
//! A sign-in flow is stored once its first factor succeeded. Each later step reads the stored
//! stage, applies [`inspay_identity::sign_in_flow::Flow::step`] and writes the new stage in the
//! same write transaction, so a replayed, skipped or reordered step finds the flow already
//! moved on and ends it. A failed factor counts toward the account's lockout like a wrong
//! password (clause 5.2.3.1: per account and per factor, on every node), and the lock ends the
//! account's sessions (clause 5.2.3.2).
//!
//! Step-up proofs are single-use tokens for one operation in one session, stored by digest.

use crate::accounts::{lock_failures, save_failures};
use crate::audit::{AuditValue, Outcome, append_by_account};
use crate::{Store, StoreError};
use inspay_identity::lockout::LockoutPolicy;
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{SecretHash, SecretKind, verify_dummy};
use inspay_identity::session::SessionToken;
use inspay_identity::sign_in_flow::{Factor, Flow, FlowError, Stage, Step};
use inspay_kms::Keyring;
use sqlx::{AnyConnection, Row};

/// A stored sign-in flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFlow {
    /// Flow id (UUIDv7), handed to the client.
    pub id: String,
    /// The account being signed in.
    pub account_id: String,
    /// The state machine.
    pub flow: Flow,
    /// The account had been unused for the dormant period (clause 5.3.3.3-c).
    pub dormant: bool,
    /// The account still has an initial password (clause 5.2.4.2-a).
    pub must_change_password: bool,
}

/// The outcome of a failed factor for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCounted {
    /// This failure locked the account.
    pub locked_now: bool,
    /// Sessions ended because of the lock.
    pub sessions_ended: u64,
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::AwaitingFirst | Stage::AwaitingSecond { .. } => "awaiting-second",
        Stage::Complete { .. } => "complete",
        Stage::Ended => "ended",
    }
}

fn stored_flow(row: &sqlx::any::AnyRow) -> Result<StoredFlow, StoreError> {
    let stage: String = row.try_get(2)?;
    let first: String = row.try_get(3)?;
    let second: Option<String> = row.try_get(4)?;
    let first = Factor::parse(&first).ok_or(StoreError::Malformed("sign-in flow"))?;
    let stage = match (stage.as_str(), second.as_deref().and_then(Factor::parse)) {
        ("awaiting-second", _) => Stage::AwaitingSecond { first },
        ("complete", Some(second)) => Stage::Complete { first, second },
        _ => Stage::Ended,
    };
    let started_ms: i64 = row.try_get(7)?;
    Ok(StoredFlow {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        flow: Flow {
            stage,
            started_s: started_ms.div_euclid(1000),
        },
        dormant: row.try_get::<i64, _>(5)? == 1,
        must_change_password: row.try_get::<i64, _>(6)? == 1,
    })
}

const SELECT_FLOW: &str = "SELECT id, account_id, stage, first_factor, second_factor, dormant, must_change_password, started_at_ms FROM sign_in_flows WHERE id = $1";

/// Counts a failed factor toward the account's lockout inside the caller's transaction, and
/// ends the account's sessions if this failure locks it.
pub(crate) async fn count_failure(
    connection: &mut AnyConnection,
    account_id: &str,
    policy: &LockoutPolicy,
    now_ms: i64,
) -> Result<FailureCounted, StoreError> {
    let now_s = now_ms.div_euclid(1000);
    let state = lock_failures(connection, account_id, now_ms).await?;
    if state.is_locked(now_s) {
        return Ok(FailureCounted {
            locked_now: false,
            sessions_ended: 0,
        });
    }
    let next = state.after_failure(policy, now_s);
    save_failures(connection, account_id, &next).await?;
    if !next.is_locked(now_s) {
        return Ok(FailureCounted {
            locked_now: false,
            sessions_ended: 0,
        });
    }
    let ended = crate::sessions::end_account_sign_ins(connection, account_id, now_ms).await?;
    Ok(FailureCounted {
        locked_now: true,
        sessions_ended: ended,
    })
}

impl Store {
    /// Stores a flow whose first factor just succeeded. Returns its id.
    pub async fn sign_in_flow_start(
        &self,
        account_id: &str,
        first: Factor,
        dormant: bool,
        must_change_password: bool,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.begin_write().await?;
        // Flows older than a day are only clutter; they could not be completed anyway.
        sqlx::query("DELETE FROM sign_in_flows WHERE started_at_ms < $1")
            .bind(now_ms - 86_400_000)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sign_in_flows (id, account_id, stage, first_factor, second_factor, dormant,
                must_change_password, started_at_ms, updated_at_ms)
             VALUES ($1, $2, 'awaiting-second', $3, NULL, $4, $5, $6, $6)",
        )
        .bind(&id)
        .bind(account_id)
        .bind(first.name())
        .bind(i64::from(dormant))
        .bind(i64::from(must_change_password))
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// A stored flow, if the id is known.
    pub async fn sign_in_flow_get(&self, flow_id: &str) -> Result<Option<StoredFlow>, StoreError> {
        sqlx::query(SELECT_FLOW)
            .bind(flow_id)
            .fetch_optional(&self.pool)
            .await?
            .map(|row| stored_flow(&row))
            .transpose()
    }

    /// Applies one step to a stored flow, atomically. A failed factor counts toward the
    /// lockout; any error ends the flow. A locked account's steps fail without counting.
    /// Audited. Unknown flows give `Err(FlowError::OutOfOrder)`.
    pub async fn sign_in_flow_step(
        &self,
        flow_id: &str,
        step: Step,
        ttl_s: i64,
        lockout: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<Result<StoredFlow, FlowError>, StoreError> {
        let mut tx = self.begin_write().await?;
        // Writing first takes the row (PostgreSQL) or the database (SQLite) before reading.
        let touched = sqlx::query("UPDATE sign_in_flows SET updated_at_ms = $2 WHERE id = $1")
            .bind(flow_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if touched == 0 {
            return Ok(Err(FlowError::OutOfOrder));
        }
        let row = sqlx::query(SELECT_FLOW)
            .bind(flow_id)
            .fetch_one(&mut *tx)
            .await?;
        let stored = stored_flow(&row)?;
        let now_s = now_ms.div_euclid(1000);
        let locked = lock_failures(&mut tx, &stored.account_id, now_ms)
            .await?
            .is_locked(now_s);
        let step = match step {
            Step::Verified(factor) if locked => Step::Failed(factor),
            other => other,
        };
        let (next, result) = stored.flow.step(step, ttl_s, now_s);
        let second = match next.stage {
            Stage::Complete { second, .. } => Some(second.name()),
            _ => None,
        };
        sqlx::query("UPDATE sign_in_flows SET stage = $2, second_factor = $3 WHERE id = $1")
            .bind(flow_id)
            .bind(stage_name(next.stage))
            .bind(second)
            .execute(&mut *tx)
            .await?;
        let factor = match step {
            Step::Verified(factor) | Step::Failed(factor) => factor,
        };
        let mut details = vec![("factor", AuditValue::Word(factor.name()))];
        match result {
            Ok(stage) => {
                let state = lock_failures(&mut tx, &stored.account_id, now_ms).await?;
                save_failures(&mut tx, &stored.account_id, &state.after_success()).await?;
                if matches!(stage, Stage::Complete { .. }) && !stored.dormant {
                    // The sign-in time (the dormancy clock) moves only on a completed sign-in
                    // of an account that is not dormant; a dormant one moves it when its extra
                    // check passes (`Store::dormancy_cleared`, `Store::staff_reactivate`), so
                    // signing in twice does not skip the check.
                    sqlx::query("UPDATE accounts SET last_login_at_ms = $2 WHERE id = $1")
                        .bind(&stored.account_id)
                        .bind(now_ms)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            Err(error) => {
                details.push(("reason", AuditValue::Word(flow_error_name(error))));
                // Only a failed factor on a live flow counts: a retried submission that finds
                // the flow already complete or ended is not a guess.
                let live = matches!(stored.flow.stage, Stage::AwaitingSecond { .. });
                if matches!(step, Step::Failed(_)) && !locked && live {
                    let counted =
                        count_failure(&mut tx, &stored.account_id, lockout, now_ms).await?;
                    if counted.locked_now {
                        details.push(("locked", AuditValue::Word("yes")));
                    }
                } else if locked {
                    details.push(("locked", AuditValue::Word("already")));
                }
            }
        }
        append_by_account(
            &mut tx,
            &stored.account_id,
            "auth.sign-in-step",
            if result.is_ok() {
                Outcome::Success
            } else {
                Outcome::Denied
            },
            request_id,
            &details,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(result.map(|_| StoredFlow {
            flow: next,
            ..stored
        }))
    }

    /// Consecutive failed sign-ins for a login name, whether or not an account has it.
    pub async fn name_failures(
        &self,
        keyring: &Keyring,
        name: &LoginName,
    ) -> Result<u32, StoreError> {
        let index = name_index(keyring, name)?;
        let count: Option<i64> = sqlx::query(
            "SELECT consecutive FROM sign_in_name_failures WHERE login_name_index = $1",
        )
        .bind(&index)
        .fetch_optional(&self.pool)
        .await?
        .map(|row| row.try_get(0))
        .transpose()?;
        Ok(count.map_or(0, |count| u32::try_from(count).unwrap_or(u32::MAX)))
    }

    /// Records the outcome of a sign-in attempt for a login name: a failure adds one, a
    /// success clears the count.
    pub async fn name_failure_record(
        &self,
        keyring: &Keyring,
        name: &LoginName,
        failed: bool,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let index = name_index(keyring, name)?;
        if failed {
            sqlx::query(
                "INSERT INTO sign_in_name_failures (login_name_index, consecutive, updated_at_ms)
                 VALUES ($1, 1, $2)
                 ON CONFLICT (login_name_index)
                 DO UPDATE SET consecutive = sign_in_name_failures.consecutive + 1, updated_at_ms = $2",
            )
            .bind(&index)
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        } else {
            sqlx::query("DELETE FROM sign_in_name_failures WHERE login_name_index = $1")
                .bind(&index)
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// Counts one failed factor (outside a sign-in flow: step-up, resume, the identity check
    /// with registration data) toward the account's lockout, ending its sessions if it locks.
    /// `factor` names it in the audit log. Audited.
    pub async fn factor_failure(
        &self,
        account_id: &str,
        factor: &'static str,
        lockout: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<FailureCounted, StoreError> {
        let mut tx = self.begin_write().await?;
        let counted = count_failure(&mut tx, account_id, lockout, now_ms).await?;
        let mut details = vec![("factor", AuditValue::Word(factor))];
        if counted.locked_now {
            details.push(("locked", AuditValue::Word("yes")));
        }
        append_by_account(
            &mut tx,
            account_id,
            "auth.factor",
            Outcome::Denied,
            request_id,
            &details,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(counted)
    }

    /// Whether the account is locked now.
    pub async fn account_locked(&self, account_id: &str, now_ms: i64) -> Result<bool, StoreError> {
        Ok(self
            .account_failures(account_id)
            .await?
            .is_locked(now_ms.div_euclid(1000)))
    }

    /// Re-authenticates a signed-in account with one of its secrets (resume after the
    /// background limit, extra factor). Right answers clear the failure count; wrong ones count
    /// toward the lockout; a locked account always gets `false` after the same hashing work.
    #[allow(clippy::too_many_arguments)]
    pub async fn secret_verify(
        &self,
        account_id: &str,
        kind: SecretKind,
        secret: &str,
        lockout: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let hash: Option<String> =
            sqlx::query("SELECT hash FROM account_secrets WHERE account_id = $1 AND kind = $2")
                .bind(account_id)
                .bind(kind.name())
                .fetch_optional(&self.pool)
                .await?
                .map(|row| row.try_get(0))
                .transpose()?;
        let hash = hash
            .map(|text| SecretHash::parse(&text))
            .transpose()
            .map_err(|_| StoreError::Malformed("secret hash"))?;
        let locked = self.account_locked(account_id, now_ms).await?;
        let correct = match (&hash, locked) {
            (Some(hash), false) => hash.verify(secret.as_bytes()),
            (hash, _) => verify_dummy(
                kind,
                secret.as_bytes(),
                hash.as_ref().map_or(
                    inspay_identity::secret_hash::ITERATIONS_DEFAULT,
                    SecretHash::iterations,
                ),
            ),
        };
        let factor = match kind {
            SecretKind::Gesture => Factor::Gesture,
            _ => Factor::Password,
        };
        if correct {
            let mut tx = self.begin_write().await?;
            let state = lock_failures(&mut tx, account_id, now_ms).await?;
            if state.is_locked(now_ms.div_euclid(1000)) {
                // Locked by a concurrent request while the hash was checked.
                return Ok(false);
            }
            save_failures(&mut tx, account_id, &state.after_success()).await?;
            append_by_account(
                &mut tx,
                account_id,
                "auth.factor",
                Outcome::Success,
                request_id,
                &[("factor", AuditValue::Word(factor.name()))],
                now_ms,
            )
            .await?;
            tx.commit().await?;
            Ok(true)
        } else if locked {
            Ok(false)
        } else {
            self.factor_failure(account_id, factor.name(), lockout, request_id, now_ms)
                .await?;
            Ok(false)
        }
    }

    /// Records that a dormant account passed its extra check (clause 5.3.3.3-c): the dormancy
    /// clock moves to now. Audited.
    pub async fn dormancy_cleared(
        &self,
        account_id: &str,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE accounts SET last_login_at_ms = $2 WHERE id = $1")
            .bind(account_id)
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        append_by_account(
            &mut tx,
            account_id,
            "auth.dormancy-cleared",
            Outcome::Success,
            request_id,
            &[],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Grants a step-up proof: one operation, one session, single use, `ttl_s` seconds.
    /// Audited.
    #[allow(clippy::too_many_arguments)]
    pub async fn step_up_grant(
        &self,
        session: &SessionToken,
        account_id: &str,
        operation: &str,
        factor: Factor,
        ttl_s: i64,
        request_id: &str,
        now_ms: i64,
    ) -> Result<SessionToken, StoreError> {
        let token = SessionToken::generate().map_err(|_| StoreError::Malformed("random source"))?;
        let mut tx = self.begin_write().await?;
        sqlx::query("DELETE FROM step_ups WHERE expires_at_ms < $1")
            .bind(now_ms)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO step_ups (token_digest, session_digest, account_id, operation, factor,
                created_at_ms, expires_at_ms, consumed_at_ms)
             VALUES ($1, $2, $3, $4, $5, $6, $7, NULL)",
        )
        .bind(token.digest())
        .bind(session.digest())
        .bind(account_id)
        .bind(operation)
        .bind(factor.name())
        .bind(now_ms)
        .bind(now_ms + ttl_s * 1000)
        .execute(&mut *tx)
        .await?;
        append_by_account(
            &mut tx,
            account_id,
            "auth.step-up",
            Outcome::Success,
            request_id,
            &[
                ("operation", AuditValue::Text(operation.to_string())),
                ("factor", AuditValue::Word(factor.name())),
            ],
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Consumes a step-up proof for `operation` in the session. True once; false for a
    /// proof that is unknown, expired, already used, or from another session or operation.
    pub async fn step_up_consume(
        &self,
        proof: &SessionToken,
        session: &SessionToken,
        operation: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let consumed = sqlx::query(
            "UPDATE step_ups SET consumed_at_ms = $4
             WHERE token_digest = $1 AND session_digest = $2 AND operation = $3
               AND consumed_at_ms IS NULL AND expires_at_ms > $4",
        )
        .bind(proof.digest())
        .bind(session.digest())
        .bind(operation)
        .bind(now_ms)
        .execute(&self.pool)
        .await?
        .rows_affected();
        Ok(consumed == 1)
    }

    /// As [`Store::step_up_consume`], for a proof made with one of `factors` (names such as
    /// `sms-code`, `device-key`): the risk engine asks for a factor at least as strong as
    /// the one it names, and a proof made with a weaker one is not consumed.
    pub async fn step_up_consume_with(
        &self,
        proof: &SessionToken,
        session: &SessionToken,
        operation: &str,
        factors: &[&str],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        if factors.is_empty() {
            return Ok(false);
        }
        let placeholders: Vec<String> = (0..factors.len())
            .map(|index| format!("${}", index + 5))
            .collect();
        let sql = format!(
            "UPDATE step_ups SET consumed_at_ms = $4
             WHERE token_digest = $1 AND session_digest = $2 AND operation = $3
               AND consumed_at_ms IS NULL AND expires_at_ms > $4 AND factor IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(proof.digest())
            .bind(session.digest())
            .bind(operation)
            .bind(now_ms);
        for factor in factors {
            query = query.bind(*factor);
        }
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }
}

fn name_index(keyring: &Keyring, name: &LoginName) -> Result<String, StoreError> {
    Ok(keyring
        .blind_index("login-name", &name.index_form())?
        .to_text())
}

fn flow_error_name(error: FlowError) -> &'static str {
    match error {
        FlowError::Expired => "expired",
        FlowError::OutOfOrder => "out-of-order",
        FlowError::FactorNotAllowed => "factor-not-allowed",
        FlowError::Failed => "failed",
    }
}
