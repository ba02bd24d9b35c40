//! The simulated bank's books: orders by id, card (and debit) tokens, refund totals. Pure and
//! synchronous: the caller holds one lock around each call, which is what makes a refund's
//! check of the remaining amount and its booking one atomic step.

use crate::date::BusinessDate;
use crate::order::{
    ChannelAnswer, OrderId, OrderKind, OrderStatus, PayOrder, PaySource, PayoutOrder, RefundOrder,
};
use crate::statement::{Statement, StatementLine};
use crate::verify::{AccountCheck, AccountVerdict};
use crate::wechat::BillRow;
use inspay_core::sensitive::{CardNumber, Exposed, PersonalField};
use inspay_crypto::sm3::{Sm3Digest, sm3_parts};
use std::collections::HashMap;

/// Most orders the simulator keeps: it is a test tool, not a bank.
pub const ORDERS_MAX: usize = 1_000_000;
/// Fee the simulated bank charges, per mille of the amount, rounded half up.
const FEE_PER_MILLE: i64 = 6;
/// How the fee rate is written in a WeChat-shaped bill.
const FEE_RATE: &str = "0.60%";

/// A money-moving order as the bank received it.
pub(crate) enum MoneyOrder {
    Pay(PayOrder),
    Payout(PayoutOrder),
    Refund(RefundOrder),
}

impl MoneyOrder {
    fn order_id(&self) -> &OrderId {
        match self {
            MoneyOrder::Pay(order) => order.order_id(),
            MoneyOrder::Payout(order) => order.order_id(),
            MoneyOrder::Refund(order) => order.order_id(),
        }
    }

    fn kind(&self) -> OrderKind {
        match self {
            MoneyOrder::Pay(_) => OrderKind::Pay,
            MoneyOrder::Payout(_) => OrderKind::Payout,
            MoneyOrder::Refund(_) => OrderKind::Refund,
        }
    }

    fn amount_fen(&self) -> i64 {
        match self {
            MoneyOrder::Pay(order) => order.amount_fen(),
            MoneyOrder::Payout(order) => order.amount_fen(),
            MoneyOrder::Refund(order) => order.amount_fen(),
        }
    }

    /// A digest of everything the order says, to tell a duplicate from a conflict.
    fn fingerprint(&self) -> Sm3Digest {
        let amount = self.amount_fen().to_string();
        let kind = self.kind().name().as_bytes();
        match self {
            MoneyOrder::Pay(order) => match order.source() {
                PaySource::Card(card) => sm3_parts(&[
                    kind,
                    b"\ncard\n",
                    amount.as_bytes(),
                    b"\n",
                    card.number.expose().as_bytes(),
                    b"\n",
                    card.expiry.expose().as_bytes(),
                    b"\n",
                    card.cvv
                        .as_ref()
                        .map_or(&b"-"[..], |cvv| cvv.expose().as_bytes()),
                ]),
                PaySource::Token(token) => sm3_parts(&[
                    kind,
                    b"\ntoken\n",
                    amount.as_bytes(),
                    b"\n",
                    token.as_str().as_bytes(),
                ]),
            },
            MoneyOrder::Payout(order) => sm3_parts(&[
                kind,
                b"\n",
                amount.as_bytes(),
                b"\n",
                order.account_number().expose().as_bytes(),
                b"\n",
                order.holder_name().expose().as_bytes(),
            ]),
            MoneyOrder::Refund(order) => sm3_parts(&[
                kind,
                b"\n",
                amount.as_bytes(),
                b"\n",
                order.pay_order_id().as_str().as_bytes(),
            ]),
        }
    }
}

/// The verdict of a check the bank could not make (the `fail` fault): not verified,
/// `CHANNEL_FAULT`, no debit token.
pub(crate) fn fault_verdict(check: &AccountCheck) -> AccountVerdict {
    verdict_with(check, Some("CHANNEL_FAULT"), None)
}

fn verdict_with(
    check: &AccountCheck,
    reason: Option<&str>,
    debit_token: Option<String>,
) -> AccountVerdict {
    AccountVerdict {
        check_id: check.check_id().clone(),
        verified: reason.is_none(),
        reason: reason.map(str::to_string),
        masked_account: crate::wire::masked_account(check.account_number()),
        debit_token,
        evidence: None,
    }
}

/// A definite refusal: nothing was recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    pub(crate) code: &'static str,
    pub(crate) message: String,
}

impl Refusal {
    pub(crate) fn new(status: u16, code: &'static str, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            code,
            message: message.into(),
        }
    }
}

/// The simulator's own record of one order, as `GET /control/ledger` shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LedgerEntry {
    /// The merchant's order id.
    pub order_id: String,
    /// `pay`, `payout` or `refund`.
    pub kind: String,
    /// The amount, fen.
    pub amount_fen: i64,
    /// `SUCCEEDED` (the money moved) or `FAILED` (it did not).
    pub status: String,
    /// The bank's transaction id.
    pub channel_ref: String,
    /// The settlement day of a succeeded order.
    pub settled_on: Option<String>,
    /// For a refund: the pay order refunded.
    pub pay_order_id: Option<String>,
}

struct Record {
    kind: OrderKind,
    fingerprint: Sm3Digest,
    answer: ChannelAnswer,
    sequence: u64,
    settled_at_ms: Option<i64>,
    pay_order_id: Option<OrderId>,
    refunded_fen: i64,
}

/// The bank's books.
pub(crate) struct Bank {
    records: HashMap<OrderId, Record>,
    /// Card behind each token.
    cards: HashMap<String, CardNumber>,
    /// Token of each card, by the SM3 of its number.
    tokens: HashMap<Sm3Digest, String>,
    next_sequence: u64,
    utc_offset_s: i32,
}

impl Bank {
    pub(crate) fn new(utc_offset_s: i32) -> Bank {
        Bank {
            records: HashMap::new(),
            cards: HashMap::new(),
            tokens: HashMap::new(),
            next_sequence: 1,
            utc_offset_s,
        }
    }

    /// The stored answer for a repeated order, a conflict for a reused id, or `None` if new.
    fn existing(&self, order: &MoneyOrder) -> Option<Result<ChannelAnswer, Refusal>> {
        let record = self.records.get(order.order_id())?;
        if record.kind == order.kind() && record.fingerprint == order.fingerprint() {
            Some(Ok(record.answer.clone()))
        } else {
            Some(Err(Refusal::new(
                409,
                "ORDER_CONFLICT",
                "the order id is already used for different content",
            )))
        }
    }

    /// Acts on an order once: a repeat gets the first answer and moves nothing.
    pub(crate) fn apply(
        &mut self,
        order: &MoneyOrder,
        now_ms: i64,
    ) -> Result<ChannelAnswer, Refusal> {
        if let Some(outcome) = self.existing(order) {
            return outcome;
        }
        if self.records.len() >= ORDERS_MAX {
            return Err(Refusal::new(
                503,
                "BOOKS_FULL",
                "the simulator keeps no more orders",
            ));
        }
        match order {
            MoneyOrder::Pay(pay) => self.pay(order, pay, now_ms),
            MoneyOrder::Payout(payout) => {
                let declined = payout.account_number().last_four() == "0002";
                let failure = declined.then_some("ACCOUNT_INVALID");
                let masked = payout.account_number().masked().to_string();
                Ok(self.record(order, failure, Some(masked), None, None, now_ms))
            }
            MoneyOrder::Refund(refund) => self.refund(order, refund, now_ms),
        }
    }

    /// Records an order as failed without moving money (the `fail` fault). A repeat of a
    /// recorded order gets its first answer instead.
    pub(crate) fn fail(&mut self, order: &MoneyOrder) -> Result<ChannelAnswer, Refusal> {
        if let Some(outcome) = self.existing(order) {
            return outcome;
        }
        Ok(self.record(order, Some("CHANNEL_FAULT"), None, None, None, 0))
    }

    fn pay(
        &mut self,
        order: &MoneyOrder,
        pay: &PayOrder,
        now_ms: i64,
    ) -> Result<ChannelAnswer, Refusal> {
        let card = match pay.source() {
            PaySource::Card(card) => card.number.clone(),
            PaySource::Token(token) => {
                self.cards.get(token.as_str()).cloned().ok_or_else(|| {
                    Refusal::new(422, "TOKEN_UNKNOWN", "the card token is not known")
                })?
            }
        };
        let failure = match card.last_four() {
            "0002" => Some("CARD_DECLINED"),
            "0051" => Some("INSUFFICIENT_FUNDS"),
            _ => None,
        };
        let token = match failure {
            Some(_) => None,
            None => Some(self.token_for(&card)?),
        };
        let masked = Some(card.masked().to_string());
        Ok(self.record(order, failure, masked, token, None, now_ms))
    }

    fn refund(
        &mut self,
        order: &MoneyOrder,
        refund: &RefundOrder,
        now_ms: i64,
    ) -> Result<ChannelAnswer, Refusal> {
        let original = self
            .records
            .get_mut(refund.pay_order_id())
            .ok_or_else(|| Refusal::new(422, "ORIGINAL_NOT_FOUND", "no pay order has this id"))?;
        if original.kind != OrderKind::Pay || original.answer.status != OrderStatus::Succeeded {
            return Err(Refusal::new(
                422,
                "ORIGINAL_NOT_REFUNDABLE",
                "only a succeeded pay order can be refunded",
            ));
        }
        let remaining_fen = original.answer.amount_fen - original.refunded_fen;
        debug_assert!(remaining_fen >= 0, "refunds never exceed the paid amount");
        if refund.amount_fen() > remaining_fen {
            return Err(Refusal::new(
                422,
                "REFUND_EXCEEDS_PAID",
                format!("the refund is above the {remaining_fen} fen not yet refunded"),
            ));
        }
        original.refunded_fen += refund.amount_fen();
        let masked = original.answer.masked_card.clone();
        let pay_order_id = Some(refund.pay_order_id().clone());
        Ok(self.record(order, None, masked, None, pay_order_id, now_ms))
    }

    /// The bank's verdict on an account check, by the account number's last four digits
    /// only: `0044` is `ACCOUNT_UNKNOWN`, `0051` is `NAME_MISMATCH`, anything else is
    /// verified, with the account's card token (the one a payment from it would get) as its
    /// debit token. No order is recorded and no money moves; only the token is remembered,
    /// so that pay orders can use it.
    pub(crate) fn verdict(&mut self, check: &AccountCheck) -> Result<AccountVerdict, Refusal> {
        let reason = match check.account_number().last_four() {
            "0044" => Some("ACCOUNT_UNKNOWN"),
            "0051" => Some("NAME_MISMATCH"),
            _ => None,
        };
        let debit_token = match reason {
            Some(_) => None,
            None => Some(self.token_for(check.account_number())?),
        };
        Ok(verdict_with(check, reason, debit_token))
    }

    /// The token of a card (or account), the same for the same number; a new one is
    /// remembered so that pay orders can use it.
    fn token_for(&mut self, card: &CardNumber) -> Result<String, Refusal> {
        let key = sm3_parts(&[card.expose().as_bytes()]);
        if let Some(token) = self.tokens.get(&key) {
            return Ok(token.clone());
        }
        let token = crate::signing::new_nonce()
            .map(|random| format!("tok_{random}"))
            .map_err(|_| Refusal::new(503, "SYSTEM_ERROR", "no random source"))?;
        self.tokens.insert(key, token.clone());
        self.cards.insert(token.clone(), card.clone());
        Ok(token)
    }

    /// Books an order; `failure` names why the money did not move.
    fn record(
        &mut self,
        order: &MoneyOrder,
        failure: Option<&str>,
        masked_card: Option<String>,
        card_token: Option<String>,
        pay_order_id: Option<OrderId>,
        now_ms: i64,
    ) -> ChannelAnswer {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        let settled_at_ms = failure.is_none().then_some(now_ms);
        let answer = ChannelAnswer {
            order_id: order.order_id().clone(),
            status: match failure {
                Some(reason) => OrderStatus::Failed {
                    reason_code: reason.to_string(),
                },
                None => OrderStatus::Succeeded,
            },
            channel_ref: Some(format!("sim_{sequence:012}")),
            amount_fen: order.amount_fen(),
            card_token,
            masked_card,
            settled_on: settled_at_ms
                .map(|ms| BusinessDate::of_unix_ms(ms, self.utc_offset_s).to_string()),
            evidence: None,
        };
        let record = Record {
            kind: order.kind(),
            fingerprint: order.fingerprint(),
            answer: answer.clone(),
            sequence,
            settled_at_ms,
            pay_order_id,
            refunded_fen: 0,
        };
        self.records.insert(order.order_id().clone(), record);
        answer
    }

    /// What the bank knows about an order.
    pub(crate) fn query(&self, order_id: &OrderId) -> ChannelAnswer {
        match self.records.get(order_id) {
            Some(record) => record.answer.clone(),
            None => ChannelAnswer {
                order_id: order_id.clone(),
                status: OrderStatus::NotFound,
                channel_ref: None,
                amount_fen: 0,
                card_token: None,
                masked_card: None,
                settled_on: None,
                evidence: None,
            },
        }
    }

    fn in_order(&self) -> Vec<(&OrderId, &Record)> {
        let mut records: Vec<_> = self.records.iter().collect();
        records.sort_by_key(|(_, record)| record.sequence);
        records
    }

    /// Every order recorded, oldest first.
    pub(crate) fn ledger(&self) -> Vec<LedgerEntry> {
        self.in_order()
            .into_iter()
            .map(|(order_id, record)| LedgerEntry {
                order_id: order_id.to_string(),
                kind: record.kind.name().to_string(),
                amount_fen: record.answer.amount_fen,
                status: match record.answer.status {
                    OrderStatus::Succeeded => "SUCCEEDED".to_string(),
                    _ => "FAILED".to_string(),
                },
                channel_ref: record.answer.channel_ref.clone().unwrap_or_default(),
                settled_on: record.answer.settled_on.clone(),
                pay_order_id: record.pay_order_id.as_ref().map(OrderId::to_string),
            })
            .collect()
    }

    /// The succeeded orders settled on `date`, oldest first, with their settlement times.
    fn settled_on<'a>(&'a self, date: &BusinessDate) -> Vec<(&'a OrderId, &'a Record, i64)> {
        self.in_order()
            .into_iter()
            .filter(|(_, record)| record.answer.settled_on.as_deref() == Some(date.as_str()))
            .filter_map(|(id, record)| Some((id, record, record.settled_at_ms?)))
            .collect()
    }

    /// The day's statement in the simulator's own shape.
    pub(crate) fn statement(&self, date: &BusinessDate) -> Statement {
        let lines = self
            .settled_on(date)
            .into_iter()
            .map(|(order_id, record, settled_at_ms)| StatementLine {
                channel_ref: record.answer.channel_ref.clone().unwrap_or_default(),
                order_id: order_id.clone(),
                kind: record.kind,
                amount_fen: record.answer.amount_fen,
                settled_at: crate::date::rfc3339(settled_at_ms, self.utc_offset_s),
            })
            .collect();
        Statement {
            date: date.clone(),
            lines,
        }
    }

    /// The day's pay and refund orders as WeChat-shaped trade-bill rows.
    pub(crate) fn bill_rows(
        &self,
        date: &BusinessDate,
        app_id: &str,
        mch_id: &str,
    ) -> Vec<BillRow> {
        let fee = |amount_fen: i64| (amount_fen * FEE_PER_MILLE + 500) / 1000;
        let mut rows = Vec::new();
        for (order_id, record, settled_at_ms) in self.settled_on(date) {
            let mut row = BillRow {
                trade_time: crate::date::local_date_time(settled_at_ms, self.utc_offset_s),
                app_id: app_id.to_string(),
                mch_id: mch_id.to_string(),
                trade_type: "APP".to_string(),
                bank_type: "OTHERS".to_string(),
                currency: "CNY".to_string(),
                product: "insurance premium".to_string(),
                fee_rate: FEE_RATE.to_string(),
                ..BillRow::default()
            };
            let amount_fen = record.answer.amount_fen;
            match (record.kind, &record.pay_order_id) {
                (OrderKind::Pay, _) => {
                    row.transaction_id = record.answer.channel_ref.clone().unwrap_or_default();
                    row.out_trade_no = order_id.to_string();
                    row.openid = record.answer.card_token.clone().unwrap_or_default();
                    row.trade_state = "SUCCESS".to_string();
                    row.settlement_total_fen = amount_fen;
                    row.total_fen = amount_fen;
                    row.fee_fen = fee(amount_fen);
                }
                (OrderKind::Refund, Some(pay_order_id)) => {
                    let original = self.records.get(pay_order_id).map(|pay| &pay.answer);
                    row.transaction_id = original
                        .and_then(|answer| answer.channel_ref.clone())
                        .unwrap_or_default();
                    row.out_trade_no = pay_order_id.to_string();
                    row.openid = original
                        .and_then(|answer| answer.card_token.clone())
                        .unwrap_or_default();
                    row.trade_state = "REFUND".to_string();
                    row.refund_id = record.answer.channel_ref.clone().unwrap_or_default();
                    row.out_refund_no = order_id.to_string();
                    row.refund_fen = amount_fen;
                    row.requested_refund_fen = amount_fen;
                    row.refund_type = "ORIGINAL".to_string();
                    row.refund_status = "SUCCESS".to_string();
                    row.fee_fen = -fee(amount_fen);
                }
                _ => continue,
            }
            rows.push(row);
        }
        rows
    }
}
