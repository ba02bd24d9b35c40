//! Claim payouts (issue 5 items 3 and 6; clauses 5.3.1.3, 5.3.4): an approved claim's whole
//! approved amount, sent once to the claimant's verified bank account through the outbox.
//!
//! Starting a payout moves the debt from claims payable to in-flight in the ledger, writes a
//! pending payout and queues it, in the approving transaction; at most one payout per claim is
//! pending or succeeded (a unique index), so a claim is never paid twice. The channel's answer
//! settles it: paid (the money leaves the clearing account), or refused, when the ledger moves
//! back to claims payable and the claim is approved again, to be sent once more (possibly to
//! another verified account). The payout never differs from the approved amount.

use super::claims::{Claim, audit_claim, claim_for_update, write_claim};
use super::outbox::{self, OutboxKind};
use super::payments::SettleOrder;
use super::{FundsError, check_mac, is_unique_violation, mac_text};
use crate::ledger::{self, Subject};
use crate::{Store, StoreError};
use inspay_core::funds::{
    ChannelOutcome, ClaimStatus, OrderStatus, Settlement, payout_settled, payout_started,
};
use inspay_core::ids::{ClaimId, PayoutId};
use inspay_core::ledger::{AccountKind, AccountRef, Transfer};
use inspay_core::money::Amount;
use inspay_kms::Keyring;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

/// A payout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payout {
    /// Id (also the channel order id).
    pub id: PayoutId,
    /// The claim paid.
    pub claim_id: ClaimId,
    /// The claimant.
    pub account_id: String,
    /// The verified bank account paid.
    pub payout_account_id: String,
    /// The approved amount.
    pub amount: Amount,
    /// Where it stands.
    pub status: OrderStatus,
    /// The channel's transaction id.
    pub channel_ref: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// When it was started.
    pub created_at_ms: i64,
    /// When its outcome was recorded.
    pub settled_at_ms: Option<i64>,
}

const PAYOUT_COLUMNS: &str = "id, claim_id, account_id, payout_account_id, amount_fen, status, \
     channel_ref, failure_code, created_at_ms, settled_at_ms, record_mac";

fn mac_parts(payout: &Payout) -> Vec<Vec<u8>> {
    [
        "inspay/payout/v1".to_string(),
        payout.id.to_string(),
        payout.claim_id.to_string(),
        payout.account_id.clone(),
        payout.payout_account_id.clone(),
        payout.amount.fen().to_string(),
        payout.status.as_str().to_string(),
        payout.channel_ref.clone().unwrap_or_default(),
        payout.failure_code.clone().unwrap_or_default(),
        payout.created_at_ms.to_string(),
        payout.settled_at_ms.unwrap_or(0).to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn payout_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Payout, StoreError> {
    let malformed = || StoreError::Malformed("payout");
    let status: String = row.try_get(5)?;
    let payout = Payout {
        id: PayoutId::parse(&row.try_get::<String, _>(0)?).map_err(|_| malformed())?,
        claim_id: ClaimId::parse(&row.try_get::<String, _>(1)?).map_err(|_| malformed())?,
        account_id: row.try_get(2)?,
        payout_account_id: row.try_get(3)?,
        amount: Amount::from_fen(row.try_get(4)?).map_err(|_| malformed())?,
        status: OrderStatus::parse(&status).ok_or_else(malformed)?,
        channel_ref: row.try_get(6)?,
        failure_code: row.try_get(7)?,
        created_at_ms: row.try_get(8)?,
        settled_at_ms: row.try_get(9)?,
    };
    let mac: String = row.try_get(10)?;
    check_mac(keyring, &mac_parts(&payout), &mac, "a payout")?;
    Ok(payout)
}

/// Writes a payout row with `mac` ([`mac_text`] of its [`mac_parts`]).
async fn write_payout(
    connection: &mut AnyConnection,
    payout: &Payout,
    mac: &str,
    insert: bool,
) -> Result<(), sqlx::Error> {
    let sql = if insert {
        "INSERT INTO payouts (id, claim_id, account_id, payout_account_id, amount_fen, status,
             channel_ref, failure_code, created_at_ms, settled_at_ms, record_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    } else {
        "UPDATE payouts SET claim_id = $2, account_id = $3, payout_account_id = $4,
             amount_fen = $5, status = $6, channel_ref = $7, failure_code = $8,
             created_at_ms = $9, settled_at_ms = $10, record_mac = $11
         WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(payout.id.as_str())
        .bind(payout.claim_id.as_str())
        .bind(&payout.account_id)
        .bind(&payout.payout_account_id)
        .bind(payout.amount.fen())
        .bind(payout.status.as_str())
        .bind(&payout.channel_ref)
        .bind(&payout.failure_code)
        .bind(payout.created_at_ms)
        .bind(payout.settled_at_ms)
        .bind(mac)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

fn ledger_error(_: inspay_core::ledger::LedgerError) -> StoreError {
    StoreError::Refused("ledger account")
}

/// Starts the payout of an approved claim inside the caller's transaction (which holds the
/// policy's and the claim's rows): the claim moves to `payout_pending`, a pending payout of
/// exactly the approved amount is written and queued, and the ledger moves the debt to
/// in-flight. `first` posts the approval itself (expense to claims payable) too; a restart
/// after a refused payout finds the debt already payable. `payout_account_id` is a live
/// verified account of the claimant's (the caller checked).
pub(super) async fn start_payout(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    claim: &mut Claim,
    first: bool,
    payout_account_id: &str,
    request_id: &str,
    at_ms: i64,
) -> Result<Payout, FundsError> {
    claim.status = payout_started(claim.status)?;
    let amount = claim
        .approved
        .ok_or(FundsError::ClaimRefused("the claim has no approved amount"))?;
    write_claim(connection, keyring, claim).await?;
    let payout = Payout {
        id: PayoutId::generate(),
        claim_id: claim.id.clone(),
        account_id: claim.claimant_account_id.clone(),
        payout_account_id: payout_account_id.to_string(),
        amount,
        status: OrderStatus::Pending,
        channel_ref: None,
        failure_code: None,
        created_at_ms: at_ms,
        settled_at_ms: None,
    };
    let mac = mac_text(keyring, &mac_parts(&payout))?;
    match write_payout(connection, &payout, &mac, true).await {
        Err(error) if is_unique_violation(&error) => {
            return Err(FundsError::ClaimRefused(
                "a payout of this claim is under way",
            ));
        }
        other => other.map_err(StoreError::from)?,
    }
    let customer = &payout.account_id;
    let payable =
        AccountRef::customer(AccountKind::ClaimsPayable, customer).map_err(ledger_error)?;
    let mut transfers = Vec::new();
    if first {
        transfers.push(Transfer::claim_approved(customer, amount).map_err(ledger_error)?);
    }
    transfers.push(Transfer::outbound_started(&payable, amount).map_err(ledger_error)?);
    let subject = Subject {
        kind: "payout",
        id: payout.id.as_str(),
    };
    ledger::post_all(connection, keyring, &transfers, subject, request_id, at_ms).await?;
    outbox::insert(
        connection,
        OutboxKind::SendPayout,
        payout.id.as_str(),
        at_ms,
        at_ms,
    )
    .await?;
    Ok(payout)
}

impl Store {
    /// Records the channel's answer for a payout: on success the money leaves the clearing
    /// account and the claim is paid; on refusal the ledger returns the debt to claims payable
    /// and the claim is approved again (compensation, clause 5.3.4), to be sent once more. A
    /// duplicate answer changes nothing; a contradicting one is refused. Audited.
    pub async fn payout_settle(
        &self,
        keyring: &Keyring,
        payout_id: &PayoutId,
        answer: &SettleOrder,
        request_id: &str,
        at_ms: i64,
    ) -> Result<(Payout, bool), FundsError> {
        let mut tx = self.begin_write().await?;
        // The claim's row is locked before the payout's, the order starting a payout takes.
        let claim_id: String = sqlx::query("SELECT claim_id FROM payouts WHERE id = $1")
            .bind(payout_id.as_str())
            .fetch_optional(&mut *tx)
            .await
            .map_err(StoreError::from)?
            .ok_or(FundsError::NotFound("payout"))?
            .try_get(0)
            .map_err(StoreError::from)?;
        let claim_id =
            ClaimId::parse(&claim_id).map_err(|_| StoreError::Malformed("payout claim id"))?;
        let mut claim = claim_for_update(&mut tx, self.backend, keyring, &claim_id).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = $1{}",
            self.backend.for_update()
        )))
        .bind(payout_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("payout"))?;
        let mut payout = payout_from_row(keyring, &row)?;
        let next = match payout.status.settle(answer.outcome)? {
            Settlement::AlreadySo => return Ok((payout, false)),
            Settlement::Changed(next) => next,
        };
        let outcome = if next == OrderStatus::Succeeded {
            ChannelOutcome::Succeeded
        } else {
            ChannelOutcome::Failed
        };
        claim.status = payout_settled(claim.status, outcome)?;
        claim.updated_at_ms = at_ms;
        write_claim(&mut tx, keyring, &claim).await?;
        payout.status = next;
        payout.channel_ref = answer.channel_ref.clone();
        payout.failure_code = answer.failure_code.clone();
        payout.settled_at_ms = Some(at_ms);
        let mac = mac_text(keyring, &mac_parts(&payout))?;
        write_payout(&mut tx, &payout, &mac, false)
            .await
            .map_err(StoreError::from)?;
        outbox::finish(&mut tx, OutboxKind::SendPayout, payout.id.as_str(), at_ms).await?;
        if let Some(evidence) = &answer.evidence {
            super::evidence::insert(
                &mut tx,
                keyring,
                "payout",
                payout.id.as_str(),
                evidence,
                at_ms,
            )
            .await?;
        }
        let transfer = if next == OrderStatus::Succeeded {
            Transfer::outbound_settled(payout.amount)
        } else {
            let payable = AccountRef::customer(AccountKind::ClaimsPayable, &payout.account_id)
                .map_err(ledger_error)?;
            Transfer::outbound_voided(&payable, payout.amount)
        }
        .map_err(ledger_error)?;
        let subject = Subject {
            kind: "payout",
            id: payout.id.as_str(),
        };
        ledger::post(&mut tx, keyring, &transfer, subject, request_id, at_ms).await?;
        let action = if claim.status == ClaimStatus::Paid {
            "claim.paid"
        } else {
            "claim.payout-failed"
        };
        audit_claim(&mut tx, &claim, "system", action, request_id, at_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((payout, true))
    }

    /// One payout.
    pub async fn payout(
        &self,
        keyring: &Keyring,
        payout_id: &PayoutId,
    ) -> Result<Payout, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = $1"
        )))
        .bind(payout_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("payout"))?;
        Ok(payout_from_row(keyring, &row)?)
    }

    /// How many payouts a customer was sent since `since_ms`, and their total in fen (pending
    /// and succeeded ones: a pending payout may yet succeed), for the daily limit.
    pub async fn payouts_since(
        &self,
        account_id: &str,
        since_ms: i64,
    ) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*), CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM payouts
             WHERE account_id = $1 AND created_at_ms >= $2 AND status IN ('pending', 'succeeded')",
        )
        .bind(account_id)
        .bind(since_ms)
        .fetch_one(&self.pool)
        .await?;
        Ok((row.try_get(0)?, row.try_get(1)?))
    }

    /// The payouts of a claim, oldest first.
    pub async fn payouts_of_claim(
        &self,
        keyring: &Keyring,
        claim_id: &ClaimId,
    ) -> Result<Vec<Payout>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE claim_id = $1 ORDER BY created_at_ms, id"
        )))
        .bind(claim_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| payout_from_row(keyring, row))
            .collect()
    }
}

impl Store {
    /// The scheduled integrity check of `payouts` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn payouts_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {PAYOUT_COLUMNS} FROM payouts"),
            "id",
            |row| payout_from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
