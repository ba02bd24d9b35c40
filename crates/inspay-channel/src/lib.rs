//! Payment channels for inspay: the [`PaymentChannel`] interface, [`HttpChannel`] (a signed
//! HTTP client for it) and [`Simulator`] (a simulated bank to test against).
//!
//! # The channel protocol
//!
//! A channel takes money-moving orders, answers questions about them and checks bank
//! accounts:
//!
//! | request | body | answer |
//! |---|---|---|
//! | `POST /v1/pay` | `{"order_id", "amount_fen", "card": {"number", "expiry", "cvv"?}}` or `{"order_id", "amount_fen", "card_token"}` | order answer |
//! | `POST /v1/payout` | `{"order_id", "amount_fen", "account_number", "holder_name"}` | order answer |
//! | `POST /v1/refund` | `{"order_id", "pay_order_id", "amount_fen"}` | order answer |
//! | `POST /v1/accounts/verify` | `{"check_id", "account_number", "holder_name", "id_number", "mobile"}` | verdict |
//! | `GET /v1/orders/{id}` | none | order answer (`NOT_FOUND` if unknown) |
//! | `GET /v1/statements/{YYYY-MM-DD}` | none | CSV, see [`statement`] |
//! | `GET /v1/keys` | none | the channel's SM2 public key, SPKI PEM, unsigned |
//!
//! An order answer is `{"order_id", "status": "SUCCEEDED" | "FAILED" | "PROCESSING" |
//! "NOT_FOUND", "reason_code"? (with FAILED), "channel_ref", "amount_fen", "card_token",
//! "masked_card", "settled_on"}` with HTTP 200. A refusal is `{"code", "message"}` with a
//! 4xx status: 400 `BAD_REQUEST`, 401 `MERCHANT_UNKNOWN` / `SIGNATURE_MISSING` /
//! `TIMESTAMP_STALE` / `SIGNATURE_INVALID` / `NONCE_REPLAYED`, 409 `ORDER_CONFLICT`,
//! 422 `TOKEN_UNKNOWN` / `ORIGINAL_NOT_FOUND` / `ORIGINAL_NOT_REFUNDABLE` /
//! `REFUND_EXCEEDS_PAID`. A refusal moved no money.
//!
//! A verdict (bank-account verification, 银行卡四要素验证, see [`AccountCheck`]) is
//! `{"check_id", "verified": true | false, "reason"? (with false: `ACCOUNT_UNKNOWN`,
//! `NAME_MISMATCH`, `CHANNEL_FAULT`, ...), "masked_account", "debit_token"? (with true)}`
//! with HTTP 200. `debit_token` is the direct-debit agreement token (代扣协议号) the bank
//! issued for the verified account, with the syntax of a card token: a later pay order
//! collects from the account with `{"order_id", "amount_fen", "card_token": <debit_token>}`
//! ([`PaySource::Token`]). The client refuses a verdict that is verified without a token or
//! not verified with one. A check moves no money and is not recorded: the same check may be
//! sent again, under any check id, and the same account gets the same token.
//!
//! Order ids are chosen by the merchant (`[A-Za-z0-9_-]{1,64}`, one space for all kinds).
//! The channel is idempotent by order id: the same id with the same content gets the first
//! answer and moves no money again; the same id with other content is `ORDER_CONFLICT`.
//! Amounts are integer fen, positive.
//!
//! ## Signatures (clause 5.6.2-d1)
//!
//! Every request and every answer is signed with SM2-with-SM3 under the default user id
//! `1234567812345678` (see [`signing`]):
//!
//! ```text
//! request:  METHOD \n PATH \n TIMESTAMP \n NONCE \n hex(SM3(BODY)) \n
//! answer:   STATUS \n TIMESTAMP \n NONCE \n REQUEST_NONCE \n hex(SM3(BODY)) \n
//! ```
//!
//! carried in `X-Channel-Merchant` (requests), `X-Channel-Timestamp` (unix seconds),
//! `X-Channel-Nonce` (16 to 64 of `A-Z a-z 0-9 _ -`) and `X-Channel-Signature` (base64 DER).
//! The channel refuses unsigned or wrongly signed requests, timestamps more than 300 s from
//! its clock and nonces it has seen. The client refuses an answer whose signature fails or
//! whose `REQUEST_NONCE` is not its own request's, so an old answer cannot be replayed as
//! the answer to a new request; it keeps the verified signature as [`AnswerEvidence`].
//! Asynchronous notifications are signed answers with status 200 that also carry
//! `X-Channel-Request-Nonce`; check them with [`signing::verify_notification`].
//!
//! ## The simulator's test cards
//!
//! Any Luhn-valid card number works, except:
//!
//! | card number ends in | pay answer |
//! |---|---|
//! | `0002` (e.g. `6222021234567070002`) | `FAILED`, `CARD_DECLINED` |
//! | `0051` (e.g. `6222021234567070051`) | `FAILED`, `INSUFFICIENT_FUNDS` |
//!
//! A payout to an account ending in `0002` (e.g. `6217001234000060002`) fails with
//! `ACCOUNT_INVALID`. `6222021234567890128` is a card that pays, `6217001234567890122` an
//! account that receives.
//!
//! Account verification looks at the account number only (any well-formed name, ID number
//! and mobile will do):
//!
//! | account number ends in | verdict |
//! |---|---|
//! | `0044` (e.g. `6217001234000060044`) | not verified, `ACCOUNT_UNKNOWN` |
//! | `0051` (e.g. `6217001234000060051`) | not verified, `NAME_MISMATCH` |
//! | anything else (e.g. `6217001234567890122`) | verified |
//!
//! Expiry and CVV must be well formed but are not checked. A
//! successful pay returns a card token (`tok_...`, the same for the same card) that later
//! pay orders may use instead of the card. A verified account's debit token is that same
//! token for the account number, so a payment with it follows the card rules above (an
//! account ending in `0002` verifies, but payments from it are declined).
//!
//! ## The simulator's faults
//!
//! `POST /control/faults` with `{"mode": "...", "count": N, "delay_ms": D}` applies a fault
//! to the next N money-moving or verify requests (`POST /v1/pay`, `/v1/payout`,
//! `/v1/refund`, `/v1/accounts/verify`) that pass the signature checks (see [`FaultMode`]):
//!
//! | mode | money moves? | the client sees | a later query |
//! |---|---|---|---|
//! | `none` | as usual | as usual | as usual |
//! | `fail` | no | `FAILED`, `CHANNEL_FAULT` | `FAILED` |
//! | `timeout` | yes | no answer: [`ChannelError::Timeout`] | `SUCCEEDED` |
//! | `drop` | no | no answer: [`ChannelError::Timeout`] | `NOT_FOUND` |
//! | `late` | yes | the answer after `delay_ms` | `SUCCEEDED` |
//! | `twice` | yes, once | the answer; the order is processed twice and the signed answer POSTed twice to the notify URL | `SUCCEEDED` |
//! | `bad_signature` | yes | [`ChannelError::BadSignature`] | `SUCCEEDED` |
//!
//! A verify request moves no money and is not recorded, so there only what the client sees
//! applies: `fail` answers not verified with `CHANNEL_FAULT`; `timeout` and `drop` give
//! [`ChannelError::Timeout`]; `late` answers after `delay_ms`; `twice` answers once and
//! notifies nobody; `bad_signature` gives [`ChannelError::BadSignature`].
//!
//! `GET /control/ledger` lists every order the simulator recorded (kind, amount, status), so
//! a test can check that each movement at the channel is matched by exactly one on our side.
//! The control plane is unauthenticated and answers loopback peers only: test use only.
//!
//! # Example
//!
//! ```no_run
//! use inspay_channel::{HttpChannel, PaymentChannel, Simulator, SimulatorConfig};
//! use inspay_crypto::sm2::Sm2PrivateKey;
//! use std::time::Duration;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let merchant_key = Sm2PrivateKey::generate()?;
//! let config = SimulatorConfig::new("m-1", merchant_key.public_key().clone());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let simulator = Simulator::spawn(config, listener).await?;
//! let channel = HttpChannel::new(
//!     &simulator.base_url(),
//!     merchant_key,
//!     simulator.public_key().clone(),
//!     "m-1",
//!     Duration::from_secs(5),
//! )?;
//! let answer = channel.query(&inspay_channel::OrderId::parse("P-1")?).await?;
//! assert_eq!(answer.status, inspay_channel::OrderStatus::NotFound);
//! simulator.shutdown().await?;
//! # Ok(())
//! # }
//! ```

mod client;
mod date;
mod error;
mod interface;
mod order;
pub mod signing;
pub mod simulator;
pub mod statement;
mod verify;
pub mod wechat;
mod wire;

pub use client::{
    ANSWER_BYTES_MAX, ChannelConfigError, HttpChannel, HttpChannelConfig, MERCHANT_ID_CHARS_MAX,
};
pub use date::{BusinessDate, CHINA_STANDARD_TIME_OFFSET_S, Clock, DateError};
pub use error::{ChannelError, REFUSAL_MESSAGE_CHARS_MAX};
pub use interface::PaymentChannel;
pub use order::{
    AMOUNT_FEN_MAX, AnswerEvidence, CARD_TOKEN_CHARS_MAX, CardDetails, CardToken, ChannelAnswer,
    ORDER_ID_CHARS_MAX, OrderError, OrderId, OrderKind, OrderStatus, PayOrder, PaySource,
    PayoutOrder, RefundOrder,
};
pub use signing::RequestSigner;
pub use simulator::{
    FaultMode, FaultPlan, LedgerEntry, Simulator, SimulatorConfig, SimulatorHandle, run,
};
pub use statement::{Statement, StatementLine};
pub use verify::{AccountCheck, AccountVerdict};
pub use wechat::{BillRow, parse_wechat_bill, render_wechat_bill};
