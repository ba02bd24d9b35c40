//! The payment-channel interface every channel (a bank, a wallet, the simulator) implements.

use crate::date::BusinessDate;
use crate::error::ChannelError;
use crate::order::{ChannelAnswer, OrderId, PayOrder, PayoutOrder, RefundOrder};
use crate::statement::Statement;
use crate::verify::{AccountCheck, AccountVerdict};
use core::future::Future;

/// A payment channel. Every method's future is `Send`, so calls can run in `tokio::spawn`ed
/// tasks (the outbox drives them from its own workers).
///
/// The channel is idempotent by order id: the same order id with the same content returns
/// the same answer and never moves money twice; the same id with different content is
/// refused with [`ChannelError::OrderConflict`]. Order ids live in one space across pay,
/// payout and refund orders.
///
/// See [`ChannelError`] for what each failure says about whether money moved.
pub trait PaymentChannel: Send + Sync {
    /// Collects a premium from a card or a card token.
    fn pay(
        &self,
        order: PayOrder,
    ) -> impl Future<Output = Result<ChannelAnswer, ChannelError>> + Send;

    /// Sends money to a bank account (a claim payout).
    fn payout(
        &self,
        order: PayoutOrder,
    ) -> impl Future<Output = Result<ChannelAnswer, ChannelError>> + Send;

    /// Refunds part or all of an earlier succeeded pay order. The refunds of one pay order
    /// never add up to more than it paid: one that would is refused.
    fn refund(
        &self,
        order: RefundOrder,
    ) -> impl Future<Output = Result<ChannelAnswer, ChannelError>> + Send;

    /// The status of any order; [`crate::OrderStatus::NotFound`] if the channel never
    /// recorded it.
    fn query(
        &self,
        order_id: &OrderId,
    ) -> impl Future<Output = Result<ChannelAnswer, ChannelError>> + Send;

    /// The orders settled on `date` (succeeded ones only).
    fn statement(
        &self,
        date: &BusinessDate,
    ) -> impl Future<Output = Result<Statement, ChannelError>> + Send;

    /// Asks whether a bank account belongs to the person named in `check` (银行卡四要素验证:
    /// account number, legal name, ID number, mobile number), before the account is stored
    /// for claim payouts. Only [`AccountVerdict::verified`] `true` means it does; otherwise
    /// [`AccountVerdict::reason`] says why not.
    ///
    /// It moves no money and the channel records nothing, so it is safe to retry on any
    /// error, with the same check: whatever [`ChannelError::money_may_have_moved`] says for
    /// other calls, a failed check only leaves the verdict unknown. A
    /// [`ChannelError::Refused`] means the channel would not check these details (e.g.
    /// `BAD_REQUEST`): retrying them unchanged will not help.
    fn verify_account(
        &self,
        check: AccountCheck,
    ) -> impl Future<Output = Result<AccountVerdict, ChannelError>> + Send;
}
