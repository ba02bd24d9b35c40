//! Bounded, newest-first reads for the staff console (the `/v1` routes a web console of staff
//! calls): recent security events by kind, recent claim payouts and premium refunds with the
//! masked account or card they went to, reconciliation runs of the last days, and staff
//! accounts with their roles.
//!
//! Every read takes a row limit and uses an index that serves its order (migration 0026), so
//! its cost does not grow with the table. Payouts and refunds are read back through
//! [`Store::payout`] and [`Store::refund`], which check each row's record MAC: a row changed
//! outside inspay is reported as unreadable, never shown as if it were genuine.
//!
//! Closing a staff account created by mistake is in [`close`].

pub mod close;

use crate::security_events::SecurityEvent;
use crate::{Store, StoreError};
use inspay_core::funds::OrderStatus;
use inspay_core::ids::{PayoutId, RefundId};
use inspay_identity::authorization::Role;
use inspay_kms::Keyring;
use sqlx::Row;

/// The most rows one console read returns.
pub const CONSOLE_ROWS_MAX: i64 = 500;

/// The limit actually applied: at least 1, at most [`CONSOLE_ROWS_MAX`].
fn bounded(limit: i64) -> i64 {
    limit.clamp(1, CONSOLE_ROWS_MAX)
}

/// A row read back for the console, or the id of one that failed its integrity check.
#[derive(Debug)]
pub enum Checked<T> {
    /// The row, its record MAC verified.
    Intact(T),
    /// The row's id; it did not verify (changed outside inspay) or could not be read.
    Unreadable {
        /// The row's id.
        id: String,
        /// Why, for the log (never shown to a client).
        error: String,
    },
}

/// A claim payout with the masked bank account it went to.
#[derive(Debug, Clone)]
pub struct PayoutLine {
    /// The payout, as stored and verified.
    pub payout: crate::funds::Payout,
    /// First 6 and last 4 digits of the bank account.
    pub account_masked: Option<String>,
}

/// A premium refund with the masked card of the payment it returns.
#[derive(Debug, Clone)]
pub struct RefundLine {
    /// The refund, as stored and verified.
    pub refund: crate::funds::Refund,
    /// The masked card of the refunded payment (none for a payment from a bound account).
    pub card_masked: Option<String>,
}

/// A recorded reconciliation run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconciliationRow {
    /// Row id.
    pub id: String,
    /// The statement's day, `YYYY-MM-DD` (China time).
    pub day: String,
    /// `channel`, `file` or `wechat`.
    pub source: String,
    /// Orders on both sides, equal.
    pub matched: i64,
    /// Ours, not at the channel.
    pub missing_at_channel: i64,
    /// The channel's, not ours.
    pub missing_in_inspay: i64,
    /// On both sides, differing in amount or kind.
    pub mismatched: i64,
    /// Listed twice on one side.
    pub duplicated: i64,
    /// Whether both sides agreed.
    pub clean: bool,
    /// `system`, `operator:<name>` or `account:<id>`.
    pub run_by: String,
    /// When (unix ms).
    pub run_at_ms: i64,
}

/// A staff account with its roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffAccount {
    /// The account id.
    pub account_id: String,
    /// The staff user name (a work name, not personal data such as a mobile number).
    pub login_name: String,
    /// `active`, `frozen` or `closed`.
    pub status: String,
    /// The roles held.
    pub roles: Vec<Role>,
    /// Still on an initial password.
    pub initial_password: bool,
    /// Created (unix ms).
    pub created_at_ms: i64,
    /// Last successful sign-in, if any.
    pub last_sign_in_ms: Option<i64>,
}

impl Store {
    /// The newest security events, of one kind or of all, at most `limit` (1 to
    /// [`CONSOLE_ROWS_MAX`]), newest first.
    pub async fn security_events_recent(
        &self,
        kind: Option<&str>,
        limit: i64,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        const COLUMNS: &str =
            "id, kind, app_id, account_id, client_ip, route, detail, alert, at_ms";
        let rows =
            match kind {
                Some(kind) => {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT {COLUMNS} FROM security_events WHERE kind = $1
                     ORDER BY at_ms DESC, id DESC LIMIT $2"
                    )))
                    .bind(kind.to_string())
                    .bind(bounded(limit))
                    .fetch_all(&self.pool)
                    .await?
                }
                None => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {COLUMNS} FROM security_events ORDER BY at_ms DESC, id DESC LIMIT $1"
                )))
                .bind(bounded(limit))
                .fetch_all(&self.pool)
                .await?,
            };
        rows.iter()
            .map(|row| {
                let alert: i32 = row.try_get(7)?;
                Ok(SecurityEvent {
                    id: row.try_get(0)?,
                    kind: row.try_get(1)?,
                    app_id: row.try_get(2)?,
                    account_id: row.try_get(3)?,
                    client_ip: row.try_get(4)?,
                    route: row.try_get(5)?,
                    detail: row.try_get(6)?,
                    alert: alert != 0,
                    at_ms: row.try_get(8)?,
                })
            })
            .collect()
    }

    /// The newest claim payouts, in one state or all, at most `limit`, newest first, each
    /// read back with its record MAC checked.
    pub async fn payouts_recent(
        &self,
        keyring: &Keyring,
        status: Option<OrderStatus>,
        limit: i64,
    ) -> Result<Vec<Checked<PayoutLine>>, StoreError> {
        let rows = recent_ids(
            self,
            "SELECT p.id, a.account_masked FROM payouts p
             LEFT JOIN payout_accounts a ON a.id = p.payout_account_id",
            "p",
            status,
            limit,
        )
        .await?;
        let mut lines = Vec::with_capacity(rows.len());
        for (id, account_masked) in rows {
            let read = match PayoutId::parse(&id) {
                Ok(payout_id) => self
                    .payout(keyring, &payout_id)
                    .await
                    .map_err(|error| error.to_string()),
                Err(_) => Err("malformed payout id".to_string()),
            };
            lines.push(match read {
                Ok(payout) => Checked::Intact(PayoutLine {
                    payout,
                    account_masked,
                }),
                Err(error) => Checked::Unreadable { id, error },
            });
        }
        Ok(lines)
    }

    /// The newest premium refunds, in one state or all, at most `limit`, newest first, each
    /// read back with its record MAC checked.
    pub async fn refunds_recent(
        &self,
        keyring: &Keyring,
        status: Option<OrderStatus>,
        limit: i64,
    ) -> Result<Vec<Checked<RefundLine>>, StoreError> {
        let rows = recent_ids(
            self,
            "SELECT p.id, m.card_masked FROM refunds p
             LEFT JOIN payments m ON m.id = p.payment_id",
            "p",
            status,
            limit,
        )
        .await?;
        let mut lines = Vec::with_capacity(rows.len());
        for (id, card_masked) in rows {
            let read = match RefundId::parse(&id) {
                Ok(refund_id) => self
                    .refund(keyring, &refund_id)
                    .await
                    .map_err(|error| error.to_string()),
                Err(_) => Err("malformed refund id".to_string()),
            };
            lines.push(match read {
                Ok(refund) => Checked::Intact(RefundLine {
                    refund,
                    card_masked,
                }),
                Err(error) => Checked::Unreadable { id, error },
            });
        }
        Ok(lines)
    }

    /// Reconciliation runs of the days from `first_day` (`YYYY-MM-DD`, inclusive) on, newest
    /// day first and, within a day, the latest run first; at most `limit` rows.
    pub async fn reconciliations_since(
        &self,
        first_day: &str,
        limit: i64,
    ) -> Result<Vec<ReconciliationRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, day, source, matched, missing_at_channel, missing_in_inspay, mismatched,
                    duplicated, clean, run_by, run_at_ms
             FROM reconciliations WHERE day >= $1
             ORDER BY day DESC, run_at_ms DESC, id DESC LIMIT $2",
        )
        .bind(first_day)
        .bind(bounded(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let clean: i64 = row.try_get(8)?;
                Ok(ReconciliationRow {
                    id: row.try_get(0)?,
                    day: row.try_get(1)?,
                    source: row.try_get(2)?,
                    matched: row.try_get(3)?,
                    missing_at_channel: row.try_get(4)?,
                    missing_in_inspay: row.try_get(5)?,
                    mismatched: row.try_get(6)?,
                    duplicated: row.try_get(7)?,
                    clean: clean == 1,
                    run_by: row.try_get(9)?,
                    run_at_ms: row.try_get(10)?,
                })
            })
            .collect()
    }

    /// The newest staff accounts, in one status (`active`, `frozen`, `closed`) or all, at
    /// most `limit`, newest first, with their roles (two reads whatever the count).
    pub async fn staff_accounts(
        &self,
        status: Option<&str>,
        limit: i64,
    ) -> Result<Vec<StaffAccount>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM accounts
             WHERE population = 'staff' AND ($1 = '' OR status = $1)
             ORDER BY created_at_ms DESC, id DESC LIMIT $2"
        )))
        .bind(status.unwrap_or_default().to_string())
        .bind(bounded(limit))
        .fetch_all(&self.pool)
        .await?;
        let accounts = rows.iter().map(staff_from_row).collect::<Result<_, _>>()?;
        self.with_roles(accounts).await
    }

    /// One staff account with its roles; `None` if there is no staff account with this id.
    pub async fn staff_account(
        &self,
        account_id: &str,
    ) -> Result<Option<StaffAccount>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {STAFF_COLUMNS} FROM accounts WHERE id = $1 AND population = 'staff'"
        )))
        .bind(account_id)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let accounts = self.with_roles(vec![staff_from_row(&row)?]).await?;
        Ok(accounts.into_iter().next())
    }

    /// Fills in the roles of `accounts` (at most [`CONSOLE_ROWS_MAX`]): one read, with one
    /// placeholder per account.
    async fn with_roles(
        &self,
        mut accounts: Vec<StaffAccount>,
    ) -> Result<Vec<StaffAccount>, StoreError> {
        debug_assert!(i64::try_from(accounts.len()).is_ok_and(|n| n <= CONSOLE_ROWS_MAX));
        if accounts.is_empty() {
            return Ok(accounts);
        }
        let placeholders: Vec<String> = (1..=accounts.len()).map(|n| format!("${n}")).collect();
        let mut query = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT account_id, role FROM account_roles WHERE account_id IN ({})
             ORDER BY account_id, role",
            placeholders.join(", ")
        )));
        for account in &accounts {
            query = query.bind(account.account_id.clone());
        }
        let roles = query.fetch_all(&self.pool).await?;
        for row in &roles {
            let account_id: String = row.try_get(0)?;
            let name: String = row.try_get(1)?;
            let role = Role::parse(&name).ok_or(StoreError::Malformed("role"))?;
            if let Some(account) = accounts
                .iter_mut()
                .find(|account| account.account_id == account_id)
            {
                account.roles.push(role);
            }
        }
        for account in &mut accounts {
            account.roles.sort();
        }
        Ok(accounts)
    }
}

const STAFF_COLUMNS: &str =
    "id, login_name_display, status, must_change_password, created_at_ms, last_login_at_ms";

fn staff_from_row(row: &sqlx::any::AnyRow) -> Result<StaffAccount, StoreError> {
    let must_change: i64 = row.try_get(3)?;
    Ok(StaffAccount {
        account_id: row.try_get(0)?,
        login_name: row.try_get(1)?,
        status: row.try_get(2)?,
        roles: Vec::new(),
        initial_password: must_change == 1,
        created_at_ms: row.try_get(4)?,
        last_sign_in_ms: row.try_get(5)?,
    })
}

/// The ids (and one display column) of the newest rows of `select` (whose main table has the
/// alias `alias` and columns `id`, `status`, `created_at_ms`), in one state or all.
async fn recent_ids(
    store: &Store,
    select: &'static str,
    alias: &'static str,
    status: Option<OrderStatus>,
    limit: i64,
) -> Result<Vec<(String, Option<String>)>, StoreError> {
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "{select} WHERE ($1 = '' OR {alias}.status = $1)
         ORDER BY {alias}.created_at_ms DESC, {alias}.id DESC LIMIT $2"
    )))
    .bind(status.map(OrderStatus::as_str).unwrap_or_default())
    .bind(bounded(limit))
    .fetch_all(&store.pool)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_bounded_on_both_sides() {
        assert_eq!(bounded(0), 1);
        assert_eq!(bounded(-5), 1);
        assert_eq!(bounded(50), 50);
        assert_eq!(bounded(CONSOLE_ROWS_MAX + 1), CONSOLE_ROWS_MAX);
        assert_eq!(bounded(i64::MAX), CONSOLE_ROWS_MAX);
    }
}
