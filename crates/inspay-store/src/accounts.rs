//! Accounts, their secret hashes, and password sign-in with the lockout counted in the
//! database, so that every node sees the same count (clauses 5.2.3.1 to 5.2.3.3).
//!
//! Sign-in gives one answer for an unknown account, a locked account and a wrong password, and
//! does the same hashing work in each case (a dummy verification when there is no hash to
//! check), so neither the answer nor its timing tells them apart.

use crate::audit::{AuditEvent, AuditValue, Outcome, append, append_by_account};
use crate::keys::Actor;
use crate::{Store, StoreError};
use inspay_identity::lockout::{FailureState, LockoutPolicy};
use inspay_identity::login_name::LoginName;
use inspay_identity::secret_hash::{SecretHash, SecretKind, verify_dummy};
use inspay_kms::Keyring;
use sqlx::{AnyConnection, Row};

/// Customer or staff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Population {
    /// Policyholders and claimants.
    Customer,
    /// Agents, adjusters, finance, auditors, security officers, administrators.
    Staff,
}

impl Population {
    fn name(self) -> &'static str {
        match self {
            Population::Customer => "customer",
            Population::Staff => "staff",
        }
    }
}

/// An account to create.
#[derive(Debug)]
pub struct NewAccount<'a> {
    /// Customer or staff.
    pub population: Population,
    /// What the person signs in with.
    pub login_name: &'a LoginName,
    /// The customer's personal record, if any.
    pub person_id: Option<&'a str>,
    /// The login password's hash.
    pub password: &'a SecretHash,
    /// Whether the password is an initial one that must be changed at first sign-in
    /// (clause 5.2.4.2-a).
    pub must_change_password: bool,
}

/// The outcome of a password sign-in. Every refusal is the same value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignIn {
    /// The password is right and the account may sign in.
    Accepted {
        /// The account.
        account_id: String,
        /// An initial password must be changed before anything else.
        must_change_password: bool,
        /// The account had not signed in for `dormant_days` (or ever, if older than that):
        /// the sign-in must add a further factor (clause 5.3.3.3-c).
        dormant: bool,
    },
    /// Refused: unknown account, locked, frozen or closed, or a wrong password.
    Refused,
}

/// Whether a secret sign-in is the whole sign-in or the first factor of a longer one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInStep {
    /// The whole sign-in: success clears the failure count and records the sign-in time.
    Whole,
    /// The first factor of a two-factor sign-in: success changes neither; the flow's
    /// completion does (`Store::sign_in_flow_step`).
    First,
}

/// Why a refusal happened, for the audit log only.
#[derive(Debug, Clone, Copy)]
enum Reason {
    Unknown,
    Locked,
    NotActive,
    WrongPassword,
}

impl Reason {
    fn name(self) -> &'static str {
        match self {
            Reason::Unknown => "unknown-account",
            Reason::Locked => "locked",
            Reason::NotActive => "account-not-active",
            Reason::WrongPassword => "wrong-password",
        }
    }
}

fn login_index(keyring: &Keyring, name: &LoginName) -> Result<String, StoreError> {
    Ok(keyring
        .blind_index("login-name", &name.index_form())?
        .to_text())
}

/// The login name's blind index under every key version still searchable, newest first is not
/// guaranteed: look-ups try each, so accounts stay reachable after a blind-index key rotation
/// until `Store::accounts_rewrap_login_names` moves them to the new version.
pub(crate) fn login_lookups(keyring: &Keyring, name: &LoginName) -> Vec<String> {
    keyring.blind_indexes_for_lookup("login-name", &name.index_form())
}

async fn failure_state(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<FailureState, StoreError> {
    let row = sqlx::query(
        "SELECT consecutive, locked_until_ms FROM account_failures WHERE account_id = $1",
    )
    .bind(account_id)
    .fetch_optional(connection)
    .await?;
    Ok(match row {
        Some(row) => {
            let consecutive: i64 = row.try_get(0)?;
            let locked_until_ms: Option<i64> = row.try_get(1)?;
            FailureState {
                consecutive: u32::try_from(consecutive).unwrap_or(u32::MAX),
                locked_until_s: locked_until_ms.map(|ms| ms.div_euclid(1000)),
            }
        }
        None => FailureState::default(),
    })
}

/// Takes the account's failure row (creating it if needed) inside the caller's write
/// transaction and returns its state. The first statement writes, so the row lock (PostgreSQL)
/// or the write lock (SQLite) is held before the count is read: nodes count one at a time.
pub(crate) async fn lock_failures(
    connection: &mut AnyConnection,
    account_id: &str,
    now_ms: i64,
) -> Result<FailureState, StoreError> {
    sqlx::query(
        "INSERT INTO account_failures (account_id, consecutive, locked_until_ms, updated_at_ms)
         VALUES ($1, 0, NULL, $2) ON CONFLICT (account_id) DO NOTHING",
    )
    .bind(account_id)
    .bind(now_ms)
    .execute(&mut *connection)
    .await?;
    sqlx::query("UPDATE account_failures SET updated_at_ms = $2 WHERE account_id = $1")
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *connection)
        .await?;
    failure_state(connection, account_id).await
}

/// Writes the failure state back (inside the transaction of [`lock_failures`]).
pub(crate) async fn save_failures(
    connection: &mut AnyConnection,
    account_id: &str,
    state: &FailureState,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE account_failures SET consecutive = $2, locked_until_ms = $3 WHERE account_id = $1",
    )
    .bind(account_id)
    .bind(i64::from(state.consecutive))
    .bind(state.locked_until_s.map(|s| s * 1000))
    .execute(connection)
    .await?;
    Ok(())
}

impl Store {
    /// Creates an account with its login password; the login name is stored as a blind index
    /// and a display form (masked mobile or staff name). Audited.
    pub async fn account_create(
        &self,
        keyring: &Keyring,
        account: &NewAccount<'_>,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let mut tx = self.begin_write().await?;
        let id = account_create_in(&mut tx, keyring, account, who, now_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Signs in with a login name and password. Every node shares the failure count: the
    /// count is read and written in one transaction that first takes the account's failure
    /// row (PostgreSQL row lock, SQLite write lock).
    pub async fn password_sign_in(
        &self,
        keyring: &Keyring,
        name: &LoginName,
        password: &str,
        policy: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<SignIn, StoreError> {
        self.secret_sign_in(
            keyring,
            name,
            SecretKind::LoginPassword,
            password,
            SignInStep::Whole,
            policy,
            request_id,
            now_ms,
        )
        .await
    }

    /// Signs in with a login name and a knowledge factor (login password or gesture), with
    /// the same single answer, hashing work and shared failure count as
    /// [`Store::password_sign_in`]. A failure that locks the account ends its sessions
    /// (clause 5.2.3.2).
    #[allow(clippy::too_many_arguments)]
    pub async fn secret_sign_in(
        &self,
        keyring: &Keyring,
        name: &LoginName,
        kind: SecretKind,
        password: &str,
        step: SignInStep,
        policy: &LockoutPolicy,
        request_id: &str,
        now_ms: i64,
    ) -> Result<SignIn, StoreError> {
        let mut row = None;
        for index in login_lookups(keyring, name) {
            row = sqlx::query(
                "SELECT a.id, a.status, a.must_change_password, s.hash, a.last_login_at_ms, a.created_at_ms
                 FROM accounts a LEFT JOIN account_secrets s ON s.account_id = a.id AND s.kind = $2
                 WHERE a.login_name_index = $1",
            )
            .bind(&index)
            .bind(kind.name())
            .fetch_optional(&self.pool)
            .await?;
            if row.is_some() {
                break;
            }
        }
        let Some(row) = row else {
            let _ = verify_dummy(kind, password.as_bytes(), policy_iterations(None));
            self.audit_sign_in(name, None, Reason::Unknown, request_id, now_ms)
                .await?;
            return Ok(SignIn::Refused);
        };
        let account_id: String = row.try_get(0)?;
        let status: String = row.try_get(1)?;
        let must_change: i64 = row.try_get(2)?;
        let hash: Option<String> = row.try_get(3)?;
        let last_active_ms: i64 = row.try_get::<Option<i64>, _>(4)?.unwrap_or(row.try_get(5)?);
        let dormant = now_ms - last_active_ms >= i64::from(policy.dormant_days) * 86_400_000;
        let hash = hash
            .map(|text| SecretHash::parse(&text))
            .transpose()
            .map_err(|_| StoreError::Malformed("secret hash"))?;
        let now_s = now_ms.div_euclid(1000);

        let mut connection = self.pool.acquire().await?;
        let locked_before = failure_state(&mut connection, &account_id)
            .await?
            .is_locked(now_s);
        drop(connection);
        // The same hashing work in every case, outside any transaction.
        let correct = match (&hash, locked_before || status != "active") {
            (Some(hash), false) => hash.verify(password.as_bytes()),
            (hash, _) => verify_dummy(kind, password.as_bytes(), policy_iterations(hash.as_ref())),
        };

        let mut tx = self.begin_write().await?;
        let state = lock_failures(&mut tx, &account_id, now_ms).await?;
        let (next, outcome) = if state.is_locked(now_s) {
            (state, Err(Reason::Locked))
        } else if status != "active" {
            (state, Err(Reason::NotActive))
        } else if correct && step == SignInStep::First {
            // A right first factor does not clear the count: only a completed sign-in does,
            // so "right password, wrong code" cannot be repeated without locking.
            (state, Ok(()))
        } else if correct {
            (state.after_success(), Ok(()))
        } else {
            (
                state.after_failure(policy, now_s),
                Err(Reason::WrongPassword),
            )
        };
        save_failures(&mut tx, &account_id, &next).await?;
        let locked_now = next.is_locked(now_s) && !state.is_locked(now_s);
        if locked_now {
            crate::sessions::end_account_sign_ins(&mut tx, &account_id, now_ms).await?;
        }
        if outcome.is_ok() && step == SignInStep::Whole {
            sqlx::query("UPDATE accounts SET last_login_at_ms = $2 WHERE id = $1")
                .bind(&account_id)
                .bind(now_ms)
                .execute(&mut *tx)
                .await?;
        }
        let mut details = vec![
            ("login_name", AuditValue::Text(name.display())),
            ("factor", AuditValue::Word(kind.name())),
        ];
        if let Err(reason) = outcome {
            details.push(("reason", AuditValue::Word(reason.name())));
        }
        if locked_now {
            details.push((
                "locked_until_ms",
                AuditValue::Number(next.locked_until_s.unwrap_or(0) * 1000),
            ));
        }
        append_by_account(
            &mut tx,
            &account_id,
            "auth.secret",
            if outcome.is_ok() {
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
        Ok(match outcome {
            Ok(()) => SignIn::Accepted {
                account_id,
                must_change_password: must_change == 1,
                dormant,
            },
            Err(_) => SignIn::Refused,
        })
    }

    async fn audit_sign_in(
        &self,
        name: &LoginName,
        account_id: Option<&str>,
        reason: Reason,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let object = account_id.map_or_else(
            || "account:unknown".to_string(),
            |id| format!("account:{id}"),
        );
        self.audit(
            &AuditEvent {
                actor: "anonymous",
                action: "auth.secret",
                object: &object,
                outcome: Outcome::Denied,
                request_id,
                details: &[
                    ("login_name", AuditValue::Text(name.display())),
                    ("reason", AuditValue::Word(reason.name())),
                ],
            },
            now_ms,
        )
        .await?;
        Ok(())
    }

    /// The failure state of an account (for tests and the security console).
    pub async fn account_failures(&self, account_id: &str) -> Result<FailureState, StoreError> {
        let mut connection = self.pool.acquire().await?;
        failure_state(&mut connection, account_id).await
    }
}

/// The cost of the dummy verification: the account's own cost if known, else the default.
fn policy_iterations(hash: Option<&SecretHash>) -> u32 {
    hash.map_or(
        inspay_identity::secret_hash::ITERATIONS_DEFAULT,
        SecretHash::iterations,
    )
}

/// An account as the API shows it to its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountSummary {
    /// Account id (pseudonymous UUIDv7).
    pub id: String,
    /// Customer or staff.
    pub population: Population,
    /// Masked login name (customers) or staff name.
    pub login_name_display: String,
    /// The customer's personal record.
    pub person_id: Option<String>,
    /// `active`, `frozen` or `closed`.
    pub status: String,
    /// Still on an initial password.
    pub must_change_password: bool,
    /// Kinds of secret enrolled (`login-password`, `transaction-password`, `gesture`).
    pub secrets: Vec<String>,
}

const SELECT_ACCOUNT: &str = "SELECT id, population, login_name_display, person_id, status, must_change_password FROM accounts";

impl Store {
    /// An account by id.
    pub async fn account_summary(&self, account_id: &str) -> Result<AccountSummary, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{SELECT_ACCOUNT} WHERE id = $1"
        )))
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or(StoreError::NotFound("account"))?;
        self.summary_from(&row).await
    }

    /// An account by login name, if one has it.
    pub async fn account_find(
        &self,
        keyring: &Keyring,
        name: &LoginName,
    ) -> Result<Option<AccountSummary>, StoreError> {
        for index in login_lookups(keyring, name) {
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "{SELECT_ACCOUNT} WHERE login_name_index = $1"
            )))
            .bind(&index)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return Ok(Some(self.summary_from(&row).await?));
            }
        }
        Ok(None)
    }

    async fn summary_from(&self, row: &sqlx::any::AnyRow) -> Result<AccountSummary, StoreError> {
        let id: String = row.try_get(0)?;
        let population = match row.try_get::<String, _>(1)?.as_str() {
            "customer" => Population::Customer,
            "staff" => Population::Staff,
            _ => return Err(StoreError::Malformed("account population")),
        };
        let secrets =
            sqlx::query("SELECT kind FROM account_secrets WHERE account_id = $1 ORDER BY kind")
                .bind(&id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|row| row.try_get(0))
                .collect::<Result<Vec<String>, _>>()?;
        Ok(AccountSummary {
            population,
            login_name_display: row.try_get(2)?,
            person_id: row.try_get(3)?,
            status: row.try_get(4)?,
            must_change_password: row.try_get::<i64, _>(5)? == 1,
            secrets,
            id,
        })
    }
}

impl Store {
    /// Confirms a staff member back after the dormant period (clause 5.3.3.3-c): a security
    /// officer checked who they are out of band. Moves the dormancy clock to now, so the next
    /// sign-in is a normal one, and ends the account's sessions (a dormant session cannot be
    /// promoted). Audited with the officer as the actor. Refuses customer accounts, which
    /// confirm their own identity with their registration data.
    pub async fn staff_reactivate(
        &self,
        account_id: &str,
        who: Actor<'_>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE accounts SET last_login_at_ms = $2
             WHERE id = $1 AND population = 'staff' AND status = 'active'",
        )
        .bind(account_id)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if updated == 0 {
            return Err(StoreError::NotFound("active staff account"));
        }
        let ended = sqlx::query("DELETE FROM sessions WHERE account_id = $1")
            .bind(account_id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        let object = format!("account:{account_id}");
        append(
            &mut tx,
            &AuditEvent {
                actor: who.actor,
                action: "account.reactivate",
                object: &object,
                outcome: Outcome::Success,
                request_id: who.request_id,
                details: &[(
                    "sessions_ended",
                    AuditValue::Number(i64::try_from(ended).unwrap_or(i64::MAX)),
                )],
            },
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// What a login-name rewrap did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct LoginRewrap {
    /// Accounts read.
    pub accounts: u64,
    /// Accounts whose login-name index moved to the active blind-index key.
    pub moved: u64,
    /// Accounts whose name could not be read back (erased customers keep their marker).
    pub skipped: u64,
}

impl Store {
    /// Moves every account's login-name blind index to the active blind-index key, after a
    /// rotation, so the old key can be destroyed without locking anyone out. A customer's
    /// name is their mobile number, read from their sealed record; a staff name is kept in
    /// clear as the display name.
    pub async fn accounts_rewrap_login_names(
        &self,
        keyring: &Keyring,
    ) -> Result<LoginRewrap, StoreError> {
        let rows = sqlx::query(
            "SELECT id, population, login_name_index, login_name_display, person_id FROM accounts ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut summary = LoginRewrap::default();
        for row in rows {
            summary.accounts += 1;
            let id: String = row.try_get(0)?;
            let population: String = row.try_get(1)?;
            let stored: String = row.try_get(2)?;
            let display: String = row.try_get(3)?;
            let person_id: Option<String> = row.try_get(4)?;
            if stored.starts_with("erased:") {
                summary.skipped += 1;
                continue;
            }
            let name = match (population.as_str(), person_id) {
                ("staff", _) => LoginName::staff(&display).ok(),
                (_, Some(person_id)) => match self.person_get(keyring, &person_id).await {
                    Ok(person) => {
                        use inspay_core::sensitive::Exposed;
                        LoginName::customer(person.mobile.expose()).ok()
                    }
                    Err(StoreError::Erased) => None,
                    Err(error) => return Err(error),
                },
                _ => None,
            };
            let Some(name) = name else {
                summary.skipped += 1;
                continue;
            };
            let fresh = login_index(keyring, &name)?;
            if fresh != stored {
                sqlx::query("UPDATE accounts SET login_name_index = $2 WHERE id = $1 AND login_name_index = $3")
                    .bind(&id)
                    .bind(&fresh)
                    .bind(&stored)
                    .execute(&self.pool)
                    .await?;
                summary.moved += 1;
            }
        }
        Ok(summary)
    }
}

/// [`Store::account_create`] inside the caller's write transaction, so that registration can create the
/// person, the account and the consent record all or nothing.
pub(crate) async fn account_create_in(
    tx: &mut sqlx::AnyConnection,
    keyring: &Keyring,
    account: &NewAccount<'_>,
    who: Actor<'_>,
    now_ms: i64,
) -> Result<String, StoreError> {
    let id = uuid::Uuid::now_v7().to_string();
    let index = login_index(keyring, account.login_name)?;
    // The UNIQUE index catches the current key version; an account stored under an
    // older version (before a rotation's rewrap) must be caught too.
    for older in login_lookups(keyring, account.login_name) {
        let taken = sqlx::query("SELECT 1 FROM accounts WHERE login_name_index = $1")
            .bind(&older)
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(StoreError::Conflict(
                "an account with this login name already exists",
            ));
        }
    }
    let inserted = sqlx::query(
        "INSERT INTO accounts (id, population, login_name_index, login_name_display, person_id, status,
            must_change_password, created_at_ms)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7)",
    )
    .bind(&id)
    .bind(account.population.name())
    .bind(&index)
    .bind(account.login_name.display())
    .bind(account.person_id)
    .bind(i64::from(account.must_change_password))
    .bind(now_ms)
    .execute(&mut *tx)
    .await;
    if let Err(sqlx::Error::Database(error)) = &inserted
        && error.is_unique_violation()
    {
        return Err(StoreError::Conflict(
            "an account with this login name already exists",
        ));
    }
    inserted?;
    sqlx::query(
        "INSERT INTO account_secrets (account_id, kind, hash, set_at_ms) VALUES ($1, $2, $3, $4)",
    )
    .bind(&id)
    .bind(SecretKind::LoginPassword.name())
    .bind(account.password.to_text())
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    if account.population == Population::Customer {
        // A customer account holds the customer role, and only it, from its creation:
        // its own data and nothing else (clause 5.3.2.2, least privilege).
        sqlx::query(
            "INSERT INTO account_roles (account_id, role, granted_by, granted_at_ms)
             VALUES ($1, 'customer', $2, $3)",
        )
        .bind(&id)
        .bind(who.actor)
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    }
    let object = format!("account:{id}");
    append(
        &mut *tx,
        &AuditEvent {
            actor: who.actor,
            action: "account.create",
            object: &object,
            outcome: Outcome::Success,
            request_id: who.request_id,
            details: &[
                ("population", AuditValue::Word(account.population.name())),
                ("login_name", AuditValue::Text(account.login_name.display())),
            ],
        },
        now_ms,
    )
    .await?;
    Ok(id)
}

impl Store {
    /// Registers a customer in one transaction: the sealed personal record, the account with
    /// its login password and customer role, and the consent answer to the notice the person
    /// saw (clause 6.1.4). All or nothing: a failure leaves no personal record behind. Returns
    /// the account id.
    #[allow(clippy::too_many_arguments)]
    pub async fn customer_register(
        &self,
        keyring: &Keyring,
        person: &crate::persons::NewPerson,
        login_name: &LoginName,
        password: &SecretHash,
        notice_version: &str,
        choices: &[(String, bool)],
        request_id: &str,
        now_ms: i64,
    ) -> Result<String, StoreError> {
        let who = Actor {
            actor: "anonymous:registration",
            request_id,
        };
        let mut tx = self.begin_write().await?;
        let person_id =
            crate::persons::person_insert_in(&mut tx, keyring, person, who, now_ms).await?;
        let account_id = account_create_in(
            &mut tx,
            keyring,
            &NewAccount {
                population: Population::Customer,
                login_name,
                person_id: Some(&person_id),
                password,
                must_change_password: false,
            },
            who,
            now_ms,
        )
        .await?;
        crate::consent::consent_record_in(
            &mut tx,
            &account_id,
            notice_version,
            choices,
            request_id,
            now_ms,
        )
        .await?;
        tx.commit().await?;
        Ok(account_id)
    }
}

impl Store {
    /// How many accounts are locked at `now_ms` after repeated failed sign-ins, for the
    /// monitoring gauge (clause 5.4.4.1). A count only: no account is named.
    pub async fn accounts_locked_count(&self, now_ms: i64) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM account_failures WHERE locked_until_ms > $1")
                .bind(now_ms)
                .fetch_one(&self.pool)
                .await?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}
