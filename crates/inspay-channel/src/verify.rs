//! Bank-account verification (银行卡四要素验证): before a customer's bank account is stored
//! for claim payouts, the channel is asked whether the account number belongs to the person
//! with this legal name, ID number and mobile number.
//!
//! A check moves no money and the channel records nothing, so it is safe to repeat, under
//! the same check id or another. The answer is signed like every other answer; keep
//! [`AccountVerdict::evidence`] with the stored account as proof of what the bank said.
//!
//! A verified account comes with a direct-debit agreement token (代扣协议号,
//! [`AccountVerdict::debit_token`]): premiums can later be collected from the account with
//! a pay order whose source is [`crate::PaySource::Token`], exactly like a card token from a
//! successful payment. The token is part of the signed answer, so the evidence proves that
//! the bank issued it for this account. A bank issues the same token for the same account
//! each time; the token does not reveal the account number.
//!
//! The simulator's rule, by the account number's last four digits: `0044` (e.g.
//! `6217001234000060044`) is not verified with `ACCOUNT_UNKNOWN`, `0051` (e.g.
//! `6217001234000060051`) is not verified with `NAME_MISMATCH`, and every other Luhn-valid
//! number (e.g. `6217001234567890122`) is verified whatever the name, ID and mobile. Its
//! debit token is the card token a payment from that number would get, so paying with it
//! follows the card rules (an account ending in `0002` verifies, but its payments are
//! declined).

use crate::order::{AnswerEvidence, OrderId};
use inspay_core::sensitive::{CardNumber, IdNumber, LegalName, MobileNumber};

/// Ask the channel whether a bank account belongs to a person: the four elements (account
/// number, legal name, ID number, mobile number). Every part is a parsed
/// `inspay_core::sensitive` wrapper, so `Debug` shows only their masked forms (clause
/// 5.6.4.1) and all are zeroised on drop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountCheck {
    check_id: OrderId,
    account_number: CardNumber,
    holder_name: LegalName,
    id_number: IdNumber,
    mobile: MobileNumber,
}

impl AccountCheck {
    /// A check of `account_number` against the person `holder_name` with `id_number` and
    /// `mobile`. The check id (same syntax as an order id) is echoed in the answer so the
    /// verdict can be matched to its check; the channel does not record it.
    pub fn new(
        check_id: OrderId,
        account_number: CardNumber,
        holder_name: LegalName,
        id_number: IdNumber,
        mobile: MobileNumber,
    ) -> AccountCheck {
        AccountCheck {
            check_id,
            account_number,
            holder_name,
            id_number,
            mobile,
        }
    }

    /// The merchant's id for this check.
    pub fn check_id(&self) -> &OrderId {
        &self.check_id
    }

    /// The bank account (a bank card number) checked.
    pub fn account_number(&self) -> &CardNumber {
        &self.account_number
    }

    /// The legal name the account should be held under.
    pub fn holder_name(&self) -> &LegalName {
        &self.holder_name
    }

    /// The holder's resident ID number.
    pub fn id_number(&self) -> &IdNumber {
        &self.id_number
    }

    /// The mobile number the bank has on file for the account.
    pub fn mobile(&self) -> &MobileNumber {
        &self.mobile
    }
}

/// The channel's verdict on an [`AccountCheck`].
///
/// Only `verified: true` means the four elements match. `verified: false` comes with a
/// stable reason code: `ACCOUNT_UNKNOWN` (the bank has no such account: ask for the number
/// again), `NAME_MISMATCH` (the account is held by someone else, or the name, ID number or
/// mobile differ from the bank's record: ask the customer to check them), or
/// `CHANNEL_FAULT` (the bank could not check now: try again later). A real bank may add
/// others; treat an unknown code as not verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountVerdict {
    /// The check's id, as sent.
    pub check_id: OrderId,
    /// Whether the account belongs to the person named in the check.
    pub verified: bool,
    /// Why not, when not verified; `None` when verified.
    pub reason: Option<String>,
    /// The account checked, first 6 and last 4 digits shown.
    pub masked_account: String,
    /// The direct-debit agreement token (代扣协议号) the bank issued for the account:
    /// present exactly when `verified` is true, 1 to [`crate::CARD_TOKEN_CHARS_MAX`]
    /// characters of `A-Z a-z 0-9 _ -` (so [`crate::CardToken::parse`] accepts it). Collect
    /// premiums from the account with a pay order whose source is
    /// [`crate::PaySource::Token`] of it.
    pub debit_token: Option<String>,
    /// The channel's signature over this answer, when it came over a signed protocol: its
    /// `body` is the verdict exactly as signed, and
    /// [`crate::signing::verify_evidence`] checks it again later.
    pub evidence: Option<AnswerEvidence>,
}

impl AccountVerdict {
    /// The verdict without its evidence, to compare what two verdicts say.
    pub fn content(&self) -> AccountVerdict {
        AccountVerdict {
            evidence: None,
            ..self.clone()
        }
    }
}
