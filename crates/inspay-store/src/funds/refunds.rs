//! Refunds: for cancellations (the unearned premium), overpayments and goodwill. A refund is
//! checked against its payment while the payment's row is locked, so concurrent refunds can
//! never add up to more than was paid; it is approved, posted and queued for the channel in one
//! transaction, and settled (or reversed, when the channel refuses it) in another.

use super::claims::policy_claims_state;
use super::outbox::{self, OutboxKind};
use super::payments::{Payment, SettleOrder, payment_for_update};
use super::policies::{
    INSTALMENT_COLUMNS, instalment_from_row, policy_for_update, set_policy_status,
};
use super::{FundsError, InstalmentStatus, check_mac, mac_text};
use crate::audit::{self, AuditEvent, AuditValue, Outcome};
use crate::ledger::{self, Subject};
use crate::{Store, StoreError};
use inspay_core::funds::{OrderStatus, Settlement, check_refund};
use inspay_core::ids::{PaymentId, PolicyId, RefundId};
use inspay_core::ledger::{AccountKind, AccountRef, Transfer};
use inspay_core::money::{Amount, Money};
use inspay_core::policy::{PaidPeriod, PolicyEvent, cancellation_refund};
use inspay_kms::Keyring;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use time::Date;

/// Why money goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundReason {
    /// The policy was cancelled: the unearned premium.
    Cancellation,
    /// Money arrived that nothing was due for.
    Overpayment,
    /// Staff decided to refund (a complaint, a mistake).
    Goodwill,
}

impl RefundReason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundReason::Cancellation => "cancellation",
            RefundReason::Overpayment => "overpayment",
            RefundReason::Goodwill => "goodwill",
        }
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "cancellation" => Some(RefundReason::Cancellation),
            "overpayment" => Some(RefundReason::Overpayment),
            "goodwill" => Some(RefundReason::Goodwill),
            _ => None,
        }
    }

    /// Whether the money comes back out of premium income (rather than out of money held for
    /// the customer).
    fn comes_from_premium(self) -> bool {
        self != RefundReason::Overpayment
    }
}

/// A refund to request.
#[derive(Debug, Clone)]
pub struct NewRefund<'a> {
    /// The payment to refund.
    pub payment_id: &'a PaymentId,
    /// How much.
    pub amount: Amount,
    /// Why.
    pub reason: RefundReason,
    /// Who asks (`account:<id>` of staff, or `system`).
    pub requested_by: &'a str,
}

/// A policy to cancel.
#[derive(Debug, Clone, Copy)]
pub struct Cancellation<'a> {
    /// The policy.
    pub policy_id: &'a PolicyId,
    /// The policyholder, when the policyholder asks (staff pass `None`).
    pub holder: Option<&'a str>,
    /// The day cover ends (at its start).
    pub cancelled_on: Date,
    /// Who cancels: `account:<id>`.
    pub actor: &'a str,
}

/// A refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// Id (also the channel order id).
    pub id: RefundId,
    /// The payment refunded.
    pub payment_id: PaymentId,
    /// The customer refunded.
    pub account_id: String,
    /// Why.
    pub reason: RefundReason,
    /// How much.
    pub amount: Amount,
    /// Where it stands.
    pub status: OrderStatus,
    /// The channel's transaction id.
    pub channel_ref: Option<String>,
    /// Why it failed.
    pub failure_code: Option<String>,
    /// Who asked.
    pub requested_by: String,
    /// When.
    pub created_at_ms: i64,
    /// When its outcome was recorded.
    pub settled_at_ms: Option<i64>,
}

const REFUND_COLUMNS: &str = "id, payment_id, account_id, reason, amount_fen, status, \
     channel_ref, failure_code, requested_by, created_at_ms, settled_at_ms, record_mac";

fn mac_parts(refund: &Refund) -> Vec<Vec<u8>> {
    [
        "inspay/refund/v1".to_string(),
        refund.id.to_string(),
        refund.payment_id.to_string(),
        refund.account_id.clone(),
        refund.reason.as_str().to_string(),
        refund.amount.fen().to_string(),
        refund.status.as_str().to_string(),
        refund.channel_ref.clone().unwrap_or_default(),
        refund.failure_code.clone().unwrap_or_default(),
        refund.requested_by.clone(),
        refund.settled_at_ms.unwrap_or(0).to_string(),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn refund_from_row(keyring: &Keyring, row: &AnyRow) -> Result<Refund, StoreError> {
    let malformed = || StoreError::Malformed("refund");
    let reason: String = row.try_get(3)?;
    let status: String = row.try_get(5)?;
    let refund = Refund {
        id: RefundId::parse(&row.try_get::<String, _>(0)?).map_err(|_| malformed())?,
        payment_id: PaymentId::parse(&row.try_get::<String, _>(1)?).map_err(|_| malformed())?,
        account_id: row.try_get(2)?,
        reason: RefundReason::parse(&reason).ok_or_else(malformed)?,
        amount: Amount::from_fen(row.try_get(4)?).map_err(|_| malformed())?,
        status: OrderStatus::parse(&status).ok_or_else(malformed)?,
        channel_ref: row.try_get(6)?,
        failure_code: row.try_get(7)?,
        requested_by: row.try_get(8)?,
        created_at_ms: row.try_get(9)?,
        settled_at_ms: row.try_get(10)?,
    };
    let mac: String = row.try_get(11)?;
    check_mac(keyring, &mac_parts(&refund), &mac, "a refund")?;
    Ok(refund)
}

async fn write_refund(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    refund: &Refund,
    insert: bool,
) -> Result<(), StoreError> {
    let mac = mac_text(keyring, &mac_parts(refund))?;
    let sql = if insert {
        "INSERT INTO refunds (id, payment_id, account_id, reason, amount_fen, status, channel_ref,
             failure_code, requested_by, created_at_ms, settled_at_ms, record_mac)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    } else {
        "UPDATE refunds SET payment_id = $2, account_id = $3, reason = $4, amount_fen = $5,
             status = $6, channel_ref = $7, failure_code = $8, requested_by = $9,
             created_at_ms = $10, settled_at_ms = $11, record_mac = $12
         WHERE id = $1"
    };
    sqlx::query(sql)
        .bind(refund.id.as_str())
        .bind(refund.payment_id.as_str())
        .bind(&refund.account_id)
        .bind(refund.reason.as_str())
        .bind(refund.amount.fen())
        .bind(refund.status.as_str())
        .bind(&refund.channel_ref)
        .bind(&refund.failure_code)
        .bind(&refund.requested_by)
        .bind(refund.created_at_ms)
        .bind(refund.settled_at_ms)
        .bind(&mac)
        .execute(&mut *connection)
        .await?;
    Ok(())
}

/// Refunds of a payment that succeeded or may still succeed.
async fn committed_refunds(
    connection: &mut AnyConnection,
    payment_id: &str,
) -> Result<Money, StoreError> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(amount_fen), 0) AS BIGINT) FROM refunds
         WHERE payment_id = $1 AND status IN ('pending', 'succeeded')",
    )
    .bind(payment_id)
    .fetch_one(&mut *connection)
    .await?;
    Money::from_fen(row.try_get(0)?).map_err(|_| StoreError::Malformed("refund total"))
}

/// Checks, approves, posts and queues one refund of a payment whose row the caller has locked.
#[allow(clippy::too_many_arguments)]
pub(super) async fn insert_refund(
    connection: &mut AnyConnection,
    keyring: &Keyring,
    payment: &Payment,
    amount: Amount,
    reason: RefundReason,
    requested_by: &str,
    request_id: &str,
    at_ms: i64,
) -> Result<Refund, FundsError> {
    let committed = committed_refunds(connection, payment.id.as_str()).await?;
    check_refund(payment.status, payment.amount, committed, amount)?;
    let refund = Refund {
        id: RefundId::generate(),
        payment_id: payment.id.clone(),
        account_id: payment.account_id.clone(),
        reason,
        amount,
        status: OrderStatus::Pending,
        channel_ref: None,
        failure_code: None,
        requested_by: requested_by.to_string(),
        created_at_ms: at_ms,
        settled_at_ms: None,
    };
    write_refund(connection, keyring, &refund, true).await?;
    let customer = &refund.account_id;
    let approved = if reason.comes_from_premium() {
        Transfer::premium_refund_approved(customer, amount)
    } else {
        Transfer::overpayment_refund_approved(customer, amount)
    };
    let payable = AccountRef::customer(AccountKind::RefundsPayable, customer)
        .map_err(|_| StoreError::Refused("ledger account"))?;
    let started = Transfer::outbound_started(&payable, amount);
    let subject = Subject {
        kind: "refund",
        id: refund.id.as_str(),
    };
    let transfers = [approved, started]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| StoreError::Refused("ledger account"))?;
    ledger::post_all(connection, keyring, &transfers, subject, request_id, at_ms).await?;
    outbox::insert(
        connection,
        OutboxKind::SendRefund,
        refund.id.as_str(),
        at_ms,
        at_ms,
    )
    .await?;
    audit_refund(
        connection,
        &refund,
        "refund.request",
        Outcome::Success,
        request_id,
        at_ms,
    )
    .await?;
    Ok(refund)
}

impl Store {
    /// Requests a refund of a payment. The payment's row is locked while the refunds already
    /// committed are added up, so concurrent requests can never exceed what was paid.
    pub async fn refund_request(
        &self,
        keyring: &Keyring,
        request: NewRefund<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<Refund, FundsError> {
        let mut tx = self.begin_write().await?;
        let payment =
            payment_for_update(&mut tx, self.backend, keyring, request.payment_id.as_str()).await?;
        let refund = insert_refund(
            &mut tx,
            keyring,
            &payment,
            request.amount,
            request.reason,
            request.requested_by,
            request_id,
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(refund)
    }

    /// Records the channel's answer for a refund: on success the money leaves the clearing
    /// account; on failure the refund is reversed entirely (compensation, clause 5.3.4) and can
    /// be requested again. A duplicate answer changes nothing.
    pub async fn refund_settle(
        &self,
        keyring: &Keyring,
        refund_id: &RefundId,
        answer: &SettleOrder,
        request_id: &str,
        at_ms: i64,
    ) -> Result<(Refund, bool), FundsError> {
        let mut tx = self.begin_write().await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1{}",
            self.backend.for_update()
        )))
        .bind(refund_id.as_str())
        .fetch_optional(&mut *tx)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("refund"))?;
        let mut refund = refund_from_row(keyring, &row)?;
        let next = match refund.status.settle(answer.outcome)? {
            Settlement::AlreadySo => return Ok((refund, false)),
            Settlement::Changed(next) => next,
        };
        refund.status = next;
        refund.channel_ref = answer.channel_ref.clone();
        refund.failure_code = answer.failure_code.clone();
        refund.settled_at_ms = Some(at_ms);
        write_refund(&mut tx, keyring, &refund, false).await?;
        outbox::finish(&mut tx, OutboxKind::SendRefund, refund.id.as_str(), at_ms).await?;
        if let Some(evidence) = &answer.evidence {
            super::evidence::insert(
                &mut tx,
                keyring,
                "refund",
                refund.id.as_str(),
                evidence,
                at_ms,
            )
            .await?;
        }
        let customer = &refund.account_id;
        let payable = AccountRef::customer(AccountKind::RefundsPayable, customer)
            .map_err(|_| StoreError::Refused("ledger account"))?;
        let transfers = if next == OrderStatus::Succeeded {
            vec![Transfer::outbound_settled(refund.amount)]
        } else {
            vec![
                Transfer::outbound_voided(&payable, refund.amount),
                Transfer::refund_reversed(
                    customer,
                    refund.reason.comes_from_premium(),
                    refund.amount,
                ),
            ]
        };
        let subject = Subject {
            kind: "refund",
            id: refund.id.as_str(),
        };
        let transfers = transfers
            .into_iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| StoreError::Refused("ledger account"))?;
        ledger::post_all(&mut tx, keyring, &transfers, subject, request_id, at_ms).await?;
        let (action, outcome) = match next {
            OrderStatus::Succeeded => ("refund.succeeded", Outcome::Success),
            _ => ("refund.failed", Outcome::Failure),
        };
        audit_refund(&mut tx, &refund, action, outcome, request_id, at_ms).await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok((refund, true))
    }

    /// One refund.
    pub async fn refund(
        &self,
        keyring: &Keyring,
        refund_id: &RefundId,
    ) -> Result<Refund, FundsError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1"
        )))
        .bind(refund_id.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::from)?
        .ok_or(FundsError::NotFound("refund"))?;
        Ok(refund_from_row(keyring, &row)?)
    }

    /// The refunds of a payment, oldest first.
    pub async fn refunds_of_payment(
        &self,
        keyring: &Keyring,
        payment_id: &PaymentId,
    ) -> Result<Vec<Refund>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {REFUND_COLUMNS} FROM refunds WHERE payment_id = $1 ORDER BY created_at_ms, id"
        )))
        .bind(payment_id.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| refund_from_row(keyring, row))
            .collect()
    }

    /// Cancels a policy (退保) effective `cancelled_on`: refused while one of its payments is
    /// pending or one of its claims is open (filed, awaiting approval, or approved and not yet
    /// paid); premiums not yet paid are voided; each paid premium's unearned part (see
    /// [`cancellation_refund`]; nothing once a claim paid out) less what was already refunded
    /// of it is refunded, all in one transaction. `holder` limits the call to the policyholder.
    pub async fn policy_cancel(
        &self,
        keyring: &Keyring,
        cancellation: Cancellation<'_>,
        request_id: &str,
        at_ms: i64,
    ) -> Result<Vec<Refund>, FundsError> {
        let Cancellation {
            policy_id,
            holder,
            cancelled_on,
            actor,
        } = cancellation;
        let mut tx = self.begin_write().await?;
        let policy = policy_for_update(&mut tx, self.backend, keyring, policy_id).await?;
        if holder.is_some_and(|holder| holder != policy.holder_account_id) {
            return Err(FundsError::NotFound("policy"));
        }
        let next = policy.status.on(PolicyEvent::Cancelled)?;
        let pending = sqlx::query(
            "SELECT COUNT(*) FROM payments WHERE policy_id = $1 AND status = 'pending'",
        )
        .bind(policy_id.as_str())
        .fetch_one(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        if pending.try_get::<i64, _>(0).map_err(StoreError::from)? > 0 {
            return Err(FundsError::PaymentInProgress);
        }
        let (claim_open, claim_paid) = policy_claims_state(&mut tx, policy_id).await?;
        if claim_open {
            return Err(FundsError::ClaimOpen);
        }
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {INSTALMENT_COLUMNS} FROM premium_instalments WHERE policy_id = $1 ORDER BY number"
        )))
        .bind(policy_id.as_str())
        .fetch_all(&mut *tx)
        .await
        .map_err(StoreError::from)?;
        set_policy_status(&mut tx, keyring, &policy, next, at_ms).await?;
        sqlx::query("UPDATE premium_instalments SET status = 'void' WHERE policy_id = $1 AND status = 'due'")
            .bind(policy_id.as_str())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::from)?;
        let mut refunds = Vec::new();
        for row in &rows {
            let instalment = instalment_from_row(row)?;
            let (InstalmentStatus::Paid, Some(paid_by)) = (instalment.status, &instalment.paid_by)
            else {
                continue;
            };
            let payment = payment_for_update(&mut tx, self.backend, keyring, paid_by).await?;
            let committed = committed_refunds(&mut tx, paid_by).await?;
            let left = payment
                .amount
                .money()
                .checked_sub(committed)
                .unwrap_or(Money::ZERO);
            let period = PaidPeriod {
                period_start: instalment.period_start,
                period_end: instalment.period_end,
                amount: left,
            };
            let due = cancellation_refund(&[period], cancelled_on, claim_paid);
            if let Ok(amount) = due.to_amount() {
                let refund = insert_refund(
                    &mut tx,
                    keyring,
                    &payment,
                    amount,
                    RefundReason::Cancellation,
                    actor,
                    request_id,
                    at_ms,
                )
                .await?;
                refunds.push(refund);
            }
        }
        let object = format!("policy:{policy_id}");
        let total: i64 = refunds.iter().map(|refund| refund.amount.fen()).sum();
        audit::append(
            &mut tx,
            &AuditEvent {
                actor,
                action: "policy.cancel",
                object: &object,
                outcome: Outcome::Success,
                request_id,
                details: &[
                    ("refund_fen", AuditValue::Number(total)),
                    (
                        "refunds",
                        AuditValue::Number(i64::try_from(refunds.len()).unwrap_or(0)),
                    ),
                ],
            },
            at_ms,
        )
        .await?;
        tx.commit().await.map_err(StoreError::from)?;
        Ok(refunds)
    }
}

async fn audit_refund(
    connection: &mut AnyConnection,
    refund: &Refund,
    action: &str,
    outcome: Outcome,
    request_id: &str,
    at_ms: i64,
) -> Result<(), StoreError> {
    let object = format!("refund:{}", refund.id);
    let mut details = vec![
        (
            "payment",
            AuditValue::Id(format!("payment:{}", refund.payment_id)),
        ),
        ("amount_fen", AuditValue::Number(refund.amount.fen())),
        ("reason", AuditValue::Word(refund.reason.as_str())),
    ];
    if let Some(code) = &refund.failure_code {
        details.push(("failure", AuditValue::Text(code.clone())));
    }
    audit::append(
        connection,
        &AuditEvent {
            actor: &refund.requested_by,
            action,
            object: &object,
            outcome,
            request_id,
            details: &details,
        },
        at_ms,
    )
    .await?;
    Ok(())
}

impl Store {
    /// The scheduled integrity check of `refunds` (clause 5.6.1-b): every row's record MAC
    /// is recomputed, a page at a time. Returns the ids of the rows that fail: changed outside
    /// inspay, no longer parseable, or under a MAC key that can no longer verify.
    pub async fn refunds_verify(&self, keyring: &Keyring) -> Result<Vec<String>, StoreError> {
        crate::record_check::failing_rows(
            &self.pool,
            &format!("SELECT {REFUND_COLUMNS} FROM refunds"),
            "id",
            |row| refund_from_row(keyring, row).map(|_| ()),
        )
        .await
    }
}
