//! The double-entry ledger in storage (issue 5 item 5; clauses 4-b, 5.3.1.3, 5.6.1-b).
//!
//! [`post`] writes one balanced [`Transfer`] inside the caller's transaction, so the entries
//! commit with the business state change they record or not at all. Balances are kept on the
//! account rows and changed in account-code order, so two transfers on PostgreSQL never wait
//! for each other in opposite orders. A change that would take a bounded balance below zero
//! is refused before it is written (and the table's CHECK refuses it again). Each transfer
//! carries a record MAC over its event, subject and every posting; entries cannot be updated
//! or deleted (database triggers). [`Store::ledger_check`] proves Σdebits = Σcredits, every
//! balance equals the sum of its entries, and every transfer's MAC holds.

use crate::{Store, StoreError};
use inspay_core::ids::TransferId;
use inspay_core::ledger::{AccountRef, AccountTotals, Discrepancy, Side, Transfer, check_ledger};
use inspay_kms::Keyring;
use inspay_kms::sealed::Sealed;
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// What a business event's transfer is about, stored beside it: `payment:<id>`,
/// `refund:<id>`, `claim:<id>`, `payout:<id>`.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    /// `payment`, `refund`, `claim` or `payout`.
    pub kind: &'static str,
    /// The object's id.
    pub id: &'a str,
}

impl Subject<'_> {
    fn text(&self) -> String {
        format!("{}:{}", self.kind, self.id)
    }
}

fn mac_parts(
    id: &str,
    event: &str,
    subject: &str,
    request_id: &str,
    at_ms: i64,
    postings: &[(String, String, i64)],
) -> Vec<Vec<u8>> {
    let mut parts = vec![
        b"inspay/ledger-transfer/v1".to_vec(),
        id.as_bytes().to_vec(),
        event.as_bytes().to_vec(),
        subject.as_bytes().to_vec(),
        request_id.as_bytes().to_vec(),
        at_ms.to_string().into_bytes(),
    ];
    for (code, side, fen) in postings {
        parts.push(format!("{code}|{side}|{fen}").into_bytes());
    }
    parts
}

/// Posts a transfer inside the caller's write transaction. Refused with
/// [`StoreError::Refused`] when a bounded balance would go below zero; the caller then rolls
/// back its whole transaction.
pub async fn post(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    transfer: &Transfer,
    subject: Subject<'_>,
    request_id: &str,
    at_ms: i64,
) -> Result<TransferId, StoreError> {
    let ids = post_all(
        connection,
        keyring,
        std::slice::from_ref(transfer),
        subject,
        request_id,
        at_ms,
    )
    .await?;
    ids.into_iter()
        .next()
        .ok_or(StoreError::Refused("a transfer holds 2 to 8 postings"))
}

/// Posts several transfers of one business event inside the caller's write transaction. The
/// balances of all their accounts change together, in account-code order, so every fund
/// transaction takes its ledger row locks in one global order and two can never wait for each
/// other in a cycle on PostgreSQL.
pub async fn post_all(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    transfers: &[Transfer],
    subject: Subject<'_>,
    request_id: &str,
    at_ms: i64,
) -> Result<Vec<TransferId>, StoreError> {
    let mut deltas: BTreeMap<String, (AccountRef, i64)> = BTreeMap::new();
    for posting in transfers.iter().flat_map(Transfer::postings) {
        let delta = posting.account.delta_fen(posting.side, posting.amount);
        deltas
            .entry(posting.account.code())
            .or_insert_with(|| (posting.account.clone(), 0))
            .1 += delta;
    }
    for (code, (account, delta)) in &deltas {
        apply_delta(connection, code, account, *delta, at_ms).await?;
    }
    let mut ids = Vec::with_capacity(transfers.len());
    for transfer in transfers {
        ids.push(record(connection, keyring, transfer, subject, request_id, at_ms).await?);
    }
    Ok(ids)
}

/// Writes a transfer's rows (its balances already applied).
async fn record(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    transfer: &Transfer,
    subject: Subject<'_>,
    request_id: &str,
    at_ms: i64,
) -> Result<TransferId, StoreError> {
    let id = TransferId::generate();
    let subject = subject.text();
    let postings: Vec<(String, String, i64)> = transfer
        .postings()
        .iter()
        .map(|posting| {
            (
                posting.account.code(),
                posting.side.as_str().to_string(),
                posting.amount.fen(),
            )
        })
        .collect();
    let event = transfer.event().as_str();
    let parts = mac_parts(id.as_str(), event, &subject, request_id, at_ms, &postings);
    let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
    let mac = keyring.record_mac(&refs)?.to_text();
    sqlx::query(
        "INSERT INTO ledger_transfers (id, event, subject, request_id, created_at_ms, record_mac)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id.as_str())
    .bind(event)
    .bind(&subject)
    .bind(request_id)
    .bind(at_ms)
    .bind(&mac)
    .execute(&mut *connection)
    .await?;
    for (seq, (code, side, fen)) in (1_i32..).zip(&postings) {
        sqlx::query(
            "INSERT INTO ledger_entries (transfer_id, seq, account_code, side, amount_fen)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(id.as_str())
        .bind(seq)
        .bind(code)
        .bind(side)
        .bind(*fen)
        .execute(&mut *connection)
        .await?;
    }
    Ok(id)
}

async fn apply_delta(
    connection: &mut AnyConnection,
    code: &str,
    account: &AccountRef,
    delta_fen: i64,
    at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ledger_accounts (code, kind, holder_account_id, balance_fen, updated_at_ms)
         VALUES ($1, $2, $3, 0, $4) ON CONFLICT (code) DO NOTHING",
    )
    .bind(code)
    .bind(account.kind().as_str())
    .bind(account.holder())
    .bind(at_ms)
    .execute(&mut *connection)
    .await?;
    // The row lock this UPDATE takes is held to the end of the transaction.
    let row = sqlx::query(
        "UPDATE ledger_accounts SET balance_fen = balance_fen + $1, updated_at_ms = $2
         WHERE code = $3 RETURNING balance_fen",
    )
    .bind(delta_fen)
    .bind(at_ms)
    .bind(code)
    .fetch_one(&mut *connection)
    .await;
    let after: i64 = match row {
        Ok(row) => row.try_get(0)?,
        Err(error) if is_check_violation(&error) => return Err(below_bound()),
        Err(error) => return Err(error.into()),
    };
    account
        .apply(after - delta_fen, delta_fen)
        .map_err(|_| below_bound())?;
    Ok(())
}

fn below_bound() -> StoreError {
    StoreError::Refused("a ledger balance would go below its bound")
}

fn is_check_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(database) if database.is_check_violation())
}

/// One line of an account's statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementLine {
    /// The transfer.
    pub transfer_id: String,
    /// The business event.
    pub event: String,
    /// What it was about (`payment:<id>`...).
    pub subject: String,
    /// Debit or credit.
    pub side: Side,
    /// How much.
    pub amount_fen: i64,
    /// When.
    pub at_ms: i64,
}

/// What the ledger check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerReport {
    /// Accounts read.
    pub accounts: usize,
    /// Transfers whose MAC was checked.
    pub transfers: usize,
    /// Σ debits over every entry.
    pub debits_fen: i64,
    /// Σ credits.
    pub credits_fen: i64,
    /// Balance and bound problems.
    pub discrepancies: Vec<Discrepancy>,
    /// Transfers whose record MAC does not match (changed outside inspay).
    pub tampered_transfers: Vec<String>,
}

impl LedgerReport {
    /// Whether the ledger is sound.
    pub fn is_sound(&self) -> bool {
        self.discrepancies.is_empty() && self.tampered_transfers.is_empty()
    }
}

/// Transfers read per page by the check.
const CHECK_PAGE_ROWS: i64 = 1_000;

impl Store {
    /// The kept balance of an account, in fen (0 for an account that has no entries yet).
    pub async fn ledger_balance(&self, account: &AccountRef) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT balance_fen FROM ledger_accounts WHERE code = $1")
            .bind(account.code())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            Some(row) => row.try_get(0)?,
            None => 0,
        })
    }

    /// An account's entries, oldest first, at most `limit`.
    pub async fn ledger_statement(
        &self,
        account: &AccountRef,
        limit: i64,
    ) -> Result<Vec<StatementLine>, StoreError> {
        let rows = sqlx::query(
            "SELECT t.id, t.event, t.subject, e.side, e.amount_fen, t.created_at_ms
             FROM ledger_entries e JOIN ledger_transfers t ON t.id = e.transfer_id
             WHERE e.account_code = $1 ORDER BY t.created_at_ms, t.id, e.seq LIMIT $2",
        )
        .bind(account.code())
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                let side: String = row.try_get(3)?;
                Ok(StatementLine {
                    transfer_id: row.try_get(0)?,
                    event: row.try_get(1)?,
                    subject: row.try_get(2)?,
                    side: Side::parse(&side).ok_or(StoreError::Malformed("ledger entry side"))?,
                    amount_fen: row.try_get(4)?,
                    at_ms: row.try_get(5)?,
                })
            })
            .collect()
    }

    /// Checks the whole ledger: balanced, balances equal to their entries, bounds held, and
    /// every transfer's record MAC intact.
    pub async fn ledger_check(&self, keyring: &Keyring) -> Result<LedgerReport, StoreError> {
        let rows = sqlx::query(
            "SELECT a.code, a.balance_fen,
                    CAST(COALESCE(SUM(CASE WHEN e.side = 'debit' THEN e.amount_fen ELSE 0 END), 0) AS BIGINT),
                    CAST(COALESCE(SUM(CASE WHEN e.side = 'credit' THEN e.amount_fen ELSE 0 END), 0) AS BIGINT)
             FROM ledger_accounts a LEFT JOIN ledger_entries e ON e.account_code = a.code
             GROUP BY a.code, a.balance_fen ORDER BY a.code",
        )
        .fetch_all(&self.pool)
        .await?;
        let totals = rows
            .iter()
            .map(|row| {
                Ok(AccountTotals {
                    code: row.try_get(0)?,
                    balance_fen: row.try_get(1)?,
                    debits_fen: row.try_get(2)?,
                    credits_fen: row.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Entries whose account row is missing would escape the join above; count them in.
        let orphan = sqlx::query(
            "SELECT COUNT(*) FROM ledger_entries e
             WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.code = e.account_code)",
        )
        .fetch_one(&self.pool)
        .await?;
        let orphans: i64 = orphan.try_get(0)?;
        let mut discrepancies = check_ledger(&totals);
        if orphans > 0 {
            discrepancies.push(Discrepancy::UnknownAccount {
                code: format!("{orphans} entries without an account"),
            });
        }
        let (transfers, tampered_transfers) = self.ledger_check_macs(keyring).await?;
        Ok(LedgerReport {
            accounts: totals.len(),
            transfers,
            debits_fen: totals.iter().map(|account| account.debits_fen).sum(),
            credits_fen: totals.iter().map(|account| account.credits_fen).sum(),
            discrepancies,
            tampered_transfers,
        })
    }

    async fn ledger_check_macs(
        &self,
        keyring: &Keyring,
    ) -> Result<(usize, Vec<String>), StoreError> {
        let mut checked = 0;
        let mut tampered = Vec::new();
        let mut after = String::new();
        loop {
            let rows = sqlx::query(
                "SELECT id, event, subject, request_id, created_at_ms, record_mac
                 FROM ledger_transfers WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(&after)
            .bind(CHECK_PAGE_ROWS)
            .fetch_all(&self.pool)
            .await?;
            let Some(last) = rows.last() else { break };
            after = last.try_get(0)?;
            for row in &rows {
                let id: String = row.try_get(0)?;
                let entries = sqlx::query(
                    "SELECT account_code, side, amount_fen FROM ledger_entries
                     WHERE transfer_id = $1 ORDER BY seq",
                )
                .bind(&id)
                .fetch_all(&self.pool)
                .await?
                .iter()
                .map(|entry| Ok((entry.try_get(0)?, entry.try_get(1)?, entry.try_get(2)?)))
                .collect::<Result<Vec<(String, String, i64)>, StoreError>>()?;
                let parts = mac_parts(
                    &id,
                    &row.try_get::<String, _>(1)?,
                    &row.try_get::<String, _>(2)?,
                    &row.try_get::<String, _>(3)?,
                    row.try_get(4)?,
                    &entries,
                );
                let refs: Vec<&[u8]> = parts.iter().map(Vec::as_slice).collect();
                let mac: String = row.try_get(5)?;
                let intact = match Sealed::parse(&mac) {
                    Ok(sealed) => keyring.verify_record_mac(&refs, &sealed)?,
                    Err(_) => false,
                };
                if !intact {
                    tampered.push(id);
                }
                checked += 1;
            }
        }
        Ok((checked, tampered))
    }
}
