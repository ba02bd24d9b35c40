//! Orders sent to a channel and the channel's answers.
//!
//! Orders are built only from parsed parts, so an order that exists is well formed: its id
//! has the allowed characters, its amount is a positive number of fen below
//! [`AMOUNT_FEN_MAX`], and its card and account numbers passed their check digits. Card
//! numbers, expiry dates, CVVs, account numbers and holder names are held in the
//! `inspay_core::sensitive` wrappers: `Debug` shows at most the first 6 and last 4 digits of
//! a number (clause 5.6.4.1) and nothing of an expiry or CVV, and all are zeroised on drop.

use core::fmt;
use inspay_core::sensitive::{CardExpiry, CardNumber, Cvv, LegalName};

/// Longest order id, characters.
pub const ORDER_ID_CHARS_MAX: usize = 64;
/// Longest card token, characters.
pub const CARD_TOKEN_CHARS_MAX: usize = 64;
/// Largest amount of one order, fen (one billion yuan): far above any premium or claim, low
/// enough that sums of many orders cannot overflow an `i64`.
pub const AMOUNT_FEN_MAX: i64 = 100_000_000_000;

/// Why an order cannot be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OrderError {
    /// The order id is empty, too long, or has a character outside `A-Z a-z 0-9 _ -`.
    #[error("an order id is 1 to {ORDER_ID_CHARS_MAX} characters of A-Z a-z 0-9 _ -")]
    OrderId,
    /// The card token is empty, too long, or has a character outside `A-Z a-z 0-9 _ -`.
    #[error("a card token is 1 to {CARD_TOKEN_CHARS_MAX} characters of A-Z a-z 0-9 _ -")]
    CardToken,
    /// The amount is zero, negative or above [`AMOUNT_FEN_MAX`] (clause 5.3.1.3).
    #[error("an amount is a positive number of fen, at most {AMOUNT_FEN_MAX}")]
    Amount,
    /// A refund names itself as the order it refunds.
    #[error("a refund needs its own order id, not the id of the order it refunds")]
    SameOrderId,
}

/// Whether `text` is 1 to `max` characters of `A-Z a-z 0-9 _ -`.
pub(crate) fn is_token(text: &str, max: usize) -> bool {
    (1..=max).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b'-')
}

fn positive_amount(amount_fen: i64) -> Result<i64, OrderError> {
    if (1..=AMOUNT_FEN_MAX).contains(&amount_fen) {
        Ok(amount_fen)
    } else {
        Err(OrderError::Amount)
    }
}

/// An order id chosen by the merchant: `[A-Za-z0-9_-]{1,64}`. The channel is idempotent by
/// it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OrderId(String);

impl OrderId {
    /// Parses an order id.
    pub fn parse(text: &str) -> Result<OrderId, OrderError> {
        if is_token(text, ORDER_ID_CHARS_MAX) {
            Ok(OrderId(text.to_string()))
        } else {
            Err(OrderError::OrderId)
        }
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A card token the channel returned for a card it charged, usable instead of the card's
/// details. It only works for this merchant's key, so it is not treated as a card number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CardToken(String);

impl CardToken {
    /// Parses a card token.
    pub fn parse(text: &str) -> Result<CardToken, OrderError> {
        if is_token(text, CARD_TOKEN_CHARS_MAX) {
            Ok(CardToken(text.to_string()))
        } else {
            Err(OrderError::CardToken)
        }
    }

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A card to charge: number, expiry and, where the card has one, the CVV. `Debug` shows the
/// masked number only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardDetails {
    /// The card number.
    pub number: CardNumber,
    /// The expiry, `MMYY`.
    pub expiry: CardExpiry,
    /// The card verification code, if given.
    pub cvv: Option<Cvv>,
}

/// Where a premium is collected from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PaySource {
    /// A card's details.
    Card(CardDetails),
    /// A token from an earlier successful payment ([`ChannelAnswer::card_token`]).
    Token(CardToken),
}

/// Collect a premium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayOrder {
    order_id: OrderId,
    amount_fen: i64,
    source: PaySource,
}

impl PayOrder {
    /// A pay order; the amount must be positive (clause 5.3.1.3).
    pub fn new(order_id: OrderId, amount_fen: i64, source: PaySource) -> Result<Self, OrderError> {
        Ok(PayOrder {
            order_id,
            amount_fen: positive_amount(amount_fen)?,
            source,
        })
    }

    /// The merchant's order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The amount, fen.
    pub fn amount_fen(&self) -> i64 {
        self.amount_fen
    }

    /// The card or token charged.
    pub fn source(&self) -> &PaySource {
        &self.source
    }
}

/// Send money to a bank account (a claim payout). Chinese payout accounts are bank card
/// numbers, so the account number is a [`CardNumber`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayoutOrder {
    order_id: OrderId,
    amount_fen: i64,
    account_number: CardNumber,
    holder_name: LegalName,
}

impl PayoutOrder {
    /// A payout order; the amount must be positive (clause 5.3.1.3).
    pub fn new(
        order_id: OrderId,
        amount_fen: i64,
        account_number: CardNumber,
        holder_name: LegalName,
    ) -> Result<Self, OrderError> {
        Ok(PayoutOrder {
            order_id,
            amount_fen: positive_amount(amount_fen)?,
            account_number,
            holder_name,
        })
    }

    /// The merchant's order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The amount, fen.
    pub fn amount_fen(&self) -> i64 {
        self.amount_fen
    }

    /// The account paid.
    pub fn account_number(&self) -> &CardNumber {
        &self.account_number
    }

    /// The account holder's name.
    pub fn holder_name(&self) -> &LegalName {
        &self.holder_name
    }
}

/// Refund part or all of an earlier pay order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundOrder {
    order_id: OrderId,
    pay_order_id: OrderId,
    amount_fen: i64,
}

impl RefundOrder {
    /// A refund of `amount_fen` of the pay order `pay_order_id`, under its own order id.
    pub fn new(
        order_id: OrderId,
        pay_order_id: OrderId,
        amount_fen: i64,
    ) -> Result<Self, OrderError> {
        if order_id == pay_order_id {
            return Err(OrderError::SameOrderId);
        }
        Ok(RefundOrder {
            order_id,
            pay_order_id,
            amount_fen: positive_amount(amount_fen)?,
        })
    }

    /// The refund's own order id.
    pub fn order_id(&self) -> &OrderId {
        &self.order_id
    }

    /// The pay order refunded.
    pub fn pay_order_id(&self) -> &OrderId {
        &self.pay_order_id
    }

    /// The amount, fen.
    pub fn amount_fen(&self) -> i64 {
        self.amount_fen
    }
}

/// What an order does with money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OrderKind {
    /// Money in from a card.
    Pay,
    /// Money out to an account.
    Payout,
    /// Money back to the card of a pay order.
    Refund,
}

impl OrderKind {
    /// The lower-case name used in statements and the ledger: `pay`, `payout`, `refund`.
    pub const fn name(self) -> &'static str {
        match self {
            OrderKind::Pay => "pay",
            OrderKind::Payout => "payout",
            OrderKind::Refund => "refund",
        }
    }

    /// The kind with this name.
    pub fn from_name(name: &str) -> Option<OrderKind> {
        [OrderKind::Pay, OrderKind::Payout, OrderKind::Refund]
            .into_iter()
            .find(|kind| kind.name() == name)
    }
}

/// Where an order stands at the channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderStatus {
    /// The money moved.
    Succeeded,
    /// The channel decided not to move the money, for the reason given (`CARD_DECLINED`,
    /// `INSUFFICIENT_FUNDS`, ...). Final: the same order id will not succeed later.
    Failed {
        /// The channel's reason code.
        reason_code: String,
    },
    /// Accepted but not decided yet: query again later.
    Processing,
    /// The channel has no order with this id: the money did not move.
    NotFound,
}

/// The channel's signature over an answer, kept with the business record as evidence
/// (clause 5.6.2-d1). Anyone with the channel's public key can check it again with
/// [`crate::signing::verify_evidence`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerEvidence {
    /// The HTTP status the answer came with.
    pub status: u16,
    /// The channel's timestamp, unix seconds.
    pub timestamp_s: i64,
    /// The channel's nonce.
    pub nonce: String,
    /// Our request's nonce, which the signature binds.
    pub request_nonce: String,
    /// The answer body exactly as signed (no card number: only a masked card and a token).
    pub body: String,
    /// The signature, base64 of DER.
    pub signature_base64: String,
}

/// The channel's answer about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelAnswer {
    /// The merchant's order id.
    pub order_id: OrderId,
    /// Where the order stands.
    pub status: OrderStatus,
    /// The channel's own transaction id, once known.
    pub channel_ref: Option<String>,
    /// The order's amount, fen (0 for an unknown order).
    pub amount_fen: i64,
    /// A token for the card charged, from a successful pay order.
    pub card_token: Option<String>,
    /// The card charged, first 6 and last 4 digits shown.
    pub masked_card: Option<String>,
    /// The settlement day, `YYYY-MM-DD`, once settled.
    pub settled_on: Option<String>,
    /// The channel's signature over this answer, when it came over a signed protocol.
    pub evidence: Option<AnswerEvidence>,
}

impl ChannelAnswer {
    /// The answer without its evidence, to compare what two answers say.
    pub fn content(&self) -> ChannelAnswer {
        ChannelAnswer {
            evidence: None,
            ..self.clone()
        }
    }
}
