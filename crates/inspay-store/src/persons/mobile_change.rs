//! Changing a customer's mobile number, which is also their login name (clause 5.1-b: an
//! enhanced-level operation; the route checks the step-up and the code to the new number):
//! the mobile is re-sealed under the same person key, its blind index and the record MAC
//! renewed, and the account's login-name index and display moved, in one transaction.

use super::*;

/// The audit action of a mobile-number change.
const CHANGE_MOBILE_ACTION: &str = "person.change-mobile";

/// Why a mobile-number change was refused (for the audit log and the error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MobileRefusal {
    UnknownAccount,
    Staff,
    NoPerson,
    Erased,
    NotActive,
    Unchanged,
    Taken,
}

impl MobileRefusal {
    /// The reason for the audit log, and the error (fixed text, never the number).
    fn parts(self) -> (&'static str, StoreError) {
        use MobileRefusal as R;
        let refused = StoreError::Refused;
        match self {
            R::UnknownAccount => ("unknown-account", StoreError::NotFound("account")),
            R::Staff => (
                "staff-account",
                refused("only a customer account has a mobile number"),
            ),
            R::NoPerson => (
                "no-personal-record",
                refused("the account has no personal record"),
            ),
            R::Erased => ("person-erased", StoreError::Erased),
            R::NotActive => ("account-not-active", refused("the account is not active")),
            R::Unchanged => (
                "same-number",
                refused("the new mobile number is the current one"),
            ),
            R::Taken => (
                "login-name-taken",
                StoreError::Conflict("another account already signs in with this mobile number"),
            ),
        }
    }
}

/// The new number and what is derived from it, computed before the transaction starts.
/// `login_lookups` holds the login name's index under every searchable version, to find a
/// holder whose index was made under an older one.
struct NewMobile<'a> {
    mobile: &'a MobileNumber,
    login_index: String,
    login_lookups: Vec<String>,
    login_display: String,
    mobile_index: String,
}

impl<'a> NewMobile<'a> {
    fn derive(keyring: &Keyring, mobile: &'a MobileNumber) -> Result<Self, StoreError> {
        let login = LoginName::Customer(mobile.clone());
        let login_form = login.index_form();
        // The same derivation as the account's login-name index in `accounts.rs`.
        let login_index = keyring.blind_index("login-name", &login_form)?.to_text();
        Ok(NewMobile {
            mobile,
            login_index,
            login_lookups: keyring.blind_indexes_for_lookup("login-name", &login_form),
            login_display: login.display(),
            mobile_index: keyring
                .blind_index("mobile", mobile.index_form())?
                .to_text(),
        })
    }
}

/// A change made: whose record, and the number it replaced.
struct MobileChanged {
    person_id: String,
    old: MobileNumber,
}

/// Takes the account's row (a write first: PostgreSQL row lock, SQLite write lock), so two
/// changes of one account run one after the other and the second reads what the first wrote.
/// Returns its person id, status and current login-name index, or why it cannot change.
async fn lock_mobile_account(
    connection: &mut AnyConnection,
    account_id: &str,
) -> Result<Result<(String, String, String), MobileRefusal>, StoreError> {
    sqlx::query("UPDATE accounts SET login_name_index = login_name_index WHERE id = $1")
        .bind(account_id)
        .execute(&mut *connection)
        .await?;
    let row = sqlx::query(
        "SELECT population, status, person_id, login_name_index FROM accounts WHERE id = $1",
    )
    .bind(account_id)
    .fetch_optional(&mut *connection)
    .await?;
    let Some(row) = row else {
        return Ok(Err(MobileRefusal::UnknownAccount));
    };
    let population: String = row.try_get(0)?;
    if population != "customer" {
        return Ok(Err(MobileRefusal::Staff));
    }
    let Some(person_id) = row.try_get::<Option<String>, _>(2)? else {
        return Ok(Err(MobileRefusal::NoPerson));
    };
    Ok(Ok((person_id, row.try_get(1)?, row.try_get(3)?)))
}

/// Takes the person's row the same way and reads it.
async fn lock_person(
    connection: &mut AnyConnection,
    person_id: &str,
) -> Result<StoredPerson, StoreError> {
    sqlx::query("UPDATE persons SET record_mac = record_mac WHERE id = $1")
        .bind(person_id)
        .execute(&mut *connection)
        .await?;
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{SELECT_PERSONS} WHERE p.id = $1"
    )))
    .bind(person_id)
    .fetch_optional(&mut *connection)
    .await?
    .ok_or(StoreError::NotFound("person"))?;
    StoredPerson::from_row(&row)
}

/// Whether an account other than `account_id` signs in with the new login name, under any
/// searchable blind-index version.
async fn login_taken(
    connection: &mut AnyConnection,
    account_id: &str,
    lookups: &[String],
) -> Result<bool, StoreError> {
    for index in lookups {
        let holder =
            sqlx::query("SELECT id FROM accounts WHERE login_name_index = $1 AND id <> $2")
                .bind(index)
                .bind(account_id)
                .fetch_optional(&mut *connection)
                .await?;
        if holder.is_some() {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Moves an account's mobile number inside the caller's write transaction: re-seals it under
/// the person's own key, renews its blind index and the record MAC, and moves the account's
/// login-name index and display. A refusal writes nothing. The UNIQUE login-name index
/// settles a race that the look-up did not see, as a database error.
async fn change_mobile(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    account_id: &str,
    new: &NewMobile<'_>,
) -> Result<Result<MobileChanged, MobileRefusal>, StoreError> {
    let (person_id, status, current_index) =
        match lock_mobile_account(connection, account_id).await? {
            Ok(account) => account,
            Err(refusal) => return Ok(Err(refusal)),
        };
    let stored = lock_person(connection, &person_id).await?;
    if stored.erased_at_ms.is_some() {
        return Ok(Err(MobileRefusal::Erased));
    }
    if status != "active" {
        return Ok(Err(MobileRefusal::NotActive));
    }
    // A row changed outside inspay is refused, never re-MACed: that would launder the change.
    check_mac(keyring, &stored)?;
    let key = stored.key(keyring, false)?;
    let old: MobileNumber = open(&key, &stored.id, "mobile", &stored.mobile)?;
    if old == *new.mobile && new.login_lookups.contains(&current_index) {
        return Ok(Err(MobileRefusal::Unchanged));
    }
    if login_taken(connection, account_id, &new.login_lookups).await? {
        return Ok(Err(MobileRefusal::Taken));
    }
    let mut fresh = stored.clone();
    fresh.mobile = seal(&key, &stored.id, "mobile", new.mobile)?;
    fresh.mobile_index.clone_from(&new.mobile_index);
    fresh.record_mac = mac(keyring, &fresh)?;
    sqlx::query("UPDATE accounts SET login_name_index = $2, login_name_display = $3 WHERE id = $1")
        .bind(account_id)
        .bind(&new.login_index)
        .bind(&new.login_display)
        .execute(&mut *connection)
        .await?;
    let updated = sqlx::query(
        "UPDATE persons SET mobile = $2, mobile_index = $3, record_mac = $4
         WHERE id = $1 AND erased_at_ms IS NULL",
    )
    .bind(&fresh.id)
    .bind(&fresh.mobile)
    .bind(&fresh.mobile_index)
    .bind(&fresh.record_mac)
    .execute(&mut *connection)
    .await?
    .rows_affected();
    if updated != 1 {
        return Err(StoreError::Integrity(format!(
            "person {person_id} changed while its row was held for a mobile change"
        )));
    }
    Ok(Ok(MobileChanged { person_id, old }))
}

fn is_unique_violation(error: &StoreError) -> bool {
    matches!(error, StoreError::Database(sqlx::Error::Database(error)) if error.is_unique_violation())
}

impl Store {
    /// Changes a customer's mobile number, which is also their login name (an enhanced-level
    /// operation, clause 5.1-b: the caller has done the step-up and checked a code sent to the
    /// new number). In one write transaction it re-seals the mobile under the person's own
    /// key, recomputes its blind index and the record MAC, and moves the account's login-name
    /// index and display; the other fields and the person key stay as they are.
    ///
    /// Refuses, writing nothing but an audit entry: a number another account already signs in
    /// with ([`StoreError::Conflict`], also when two changes race for one number), the number
    /// already bound ([`StoreError::Refused`]), an unknown account ([`StoreError::NotFound`]), a
    /// staff account, a customer without a personal record or an account that is not active
    /// ([`StoreError::Refused`]), an erased person ([`StoreError::Erased`]). A row whose record
    /// MAC does not match gives [`StoreError::Integrity`] and is left alone.
    ///
    /// The number is the login name, so in the same transaction every session of the account
    /// is deleted and every sign-in under way ends (they began under the old name). Returns
    /// how many sessions ended. Other accounts of the same person are left alone. Audited by
    /// the account (`person.change-mobile`) with the old and new numbers masked.
    pub async fn person_change_mobile(
        &self,
        keyring: &Keyring,
        account_id: &str,
        new_mobile: &MobileNumber,
        request_id: &str,
        now_ms: i64,
    ) -> Result<u64, StoreError> {
        let new = NewMobile::derive(keyring, new_mobile)?;
        let mut tx = self.begin_write().await?;
        let refusal = match change_mobile(&mut tx, keyring, account_id, &new).await {
            Ok(Ok(changed)) => {
                let sessions_ended =
                    crate::sessions::end_account_sign_ins(&mut tx, account_id, now_ms).await?;
                append_by_account(
                    &mut tx,
                    account_id,
                    CHANGE_MOBILE_ACTION,
                    Outcome::Success,
                    request_id,
                    &[
                        ("person", AuditValue::Id(changed.person_id)),
                        ("old_mobile", AuditValue::Masked(changed.old.masked())),
                        ("new_mobile", AuditValue::Masked(new_mobile.masked())),
                        (
                            "sessions_ended",
                            AuditValue::Number(i64::try_from(sessions_ended).unwrap_or(i64::MAX)),
                        ),
                    ],
                    now_ms,
                )
                .await?;
                tx.commit().await?;
                return Ok(sessions_ended);
            }
            Ok(Err(refusal)) => refusal,
            Err(error) if is_unique_violation(&error) => MobileRefusal::Taken,
            Err(error) => return Err(error),
        };
        // Nothing is kept. On PostgreSQL a failed statement has aborted the transaction too,
        // so the refusal is recorded in a transaction of its own.
        tx.rollback().await?;
        let (reason, error) = refusal.parts();
        self.audit_mobile_refusal(account_id, refusal, reason, new_mobile, request_id, now_ms)
            .await?;
        Err(error)
    }

    async fn audit_mobile_refusal(
        &self,
        account_id: &str,
        refusal: MobileRefusal,
        reason: &'static str,
        new_mobile: &MobileNumber,
        request_id: &str,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        // An id that names no account is not repeated in the log: it is caller input.
        let account = if refusal == MobileRefusal::UnknownAccount {
            "account:unknown".to_string()
        } else {
            format!("account:{account_id}")
        };
        self.audit(
            &AuditEvent {
                actor: &account,
                action: CHANGE_MOBILE_ACTION,
                object: &account,
                outcome: Outcome::Denied,
                request_id,
                details: &[
                    ("new_mobile", AuditValue::Masked(new_mobile.masked())),
                    ("reason", AuditValue::Word(reason)),
                ],
            },
            now_ms,
        )
        .await?;
        Ok(())
    }
}
