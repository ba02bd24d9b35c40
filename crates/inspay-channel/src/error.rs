//! What can go wrong when talking to a channel, and whether money may have moved.

/// Longest refusal message kept from a channel, characters.
pub const REFUSAL_MESSAGE_CHARS_MAX: usize = 200;
/// A run of this many digits in a channel's message is starred out: it could be a card or
/// account number echoed back.
const DIGIT_RUN_MAX: usize = 6;

/// A failed channel call. Each variant says whether money may have moved, because the
/// outbox decides from it whether to retry, query or compensate:
///
/// | variant | money may have moved? | what to do |
/// |---|---|---|
/// | [`Timeout`](ChannelError::Timeout) | yes | query the order, then decide |
/// | [`Unreachable`](ChannelError::Unreachable) | no | retry with the same order id |
/// | [`Refused`](ChannelError::Refused) | no (for this request) | do not retry unchanged |
/// | [`OrderConflict`](ChannelError::OrderConflict) | no (for this request) | a bug: the id is reused |
/// | [`BadSignature`](ChannelError::BadSignature) | yes | query the order, then decide |
/// | [`Protocol`](ChannelError::Protocol) | yes | query the order, then decide |
/// | [`Local`](ChannelError::Local) | no | fix the cause, retry |
///
/// Messages never hold a card number, account number, CVV or key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChannelError {
    /// No complete answer arrived within the timeout. The request may have been received and
    /// acted on: the outcome is unknown until a query tells it. Money MAY have moved.
    #[error("the channel did not answer in time: the outcome is unknown, query the order")]
    Timeout,
    /// The connection could not be made (refused, no route, connect timeout). Nothing was
    /// sent, so money did NOT move: retrying with the same order id is safe.
    #[error("the channel could not be reached: nothing was sent")]
    Unreachable,
    /// The channel answered, with a valid signature, that it will not act on this request
    /// (bad request, unknown token, refund above the paid amount, our signature refused, ...).
    /// Money did NOT move for this request.
    #[error("the channel refused the request: {code}: {message}")]
    Refused {
        /// The channel's stable code, e.g. `REFUND_EXCEEDS_PAID`.
        code: String,
        /// The channel's message, shortened, with long digit runs starred out.
        message: String,
    },
    /// The order id is already used for an order with different content. Money did NOT move
    /// for this request; the earlier order stands as it was (query it).
    #[error("the order id is already used for an order with different content")]
    OrderConflict,
    /// The answer's signature is missing or did not verify, or binds another request's nonce
    /// (a replayed answer). Its content cannot be trusted, so the outcome is unknown: money
    /// MAY have moved.
    #[error("the channel's answer failed signature verification: the outcome is unknown")]
    BadSignature,
    /// The answer was signed but malformed, answered another order, or came with an
    /// unexpected status; or the connection broke after the request was sent. Money MAY have
    /// moved.
    #[error("the channel's answer is malformed: {0}")]
    Protocol(String),
    /// The request could not be prepared (the random source failed, the URL is unusable).
    /// Nothing was sent: money did NOT move.
    #[error("the request was not sent: {0}")]
    Local(&'static str),
}

impl ChannelError {
    /// Whether money may have moved, i.e. whether the caller must query before it compensates
    /// or retries with different content.
    pub fn money_may_have_moved(&self) -> bool {
        match self {
            ChannelError::Timeout | ChannelError::BadSignature | ChannelError::Protocol(_) => true,
            ChannelError::Unreachable
            | ChannelError::Refused { .. }
            | ChannelError::OrderConflict
            | ChannelError::Local(_) => false,
        }
    }

    /// A refusal with the channel's code and a message made safe to log.
    pub(crate) fn refused(code: &str, message: &str) -> ChannelError {
        ChannelError::Refused {
            code: safe_text(code),
            message: safe_text(message),
        }
    }
}

/// Shortens `text` and stars out runs of digits long enough to be part of a card number.
pub(crate) fn safe_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(REFUSAL_MESSAGE_CHARS_MAX));
    let mut run = String::new();
    for c in text.chars().take(REFUSAL_MESSAGE_CHARS_MAX) {
        if c.is_ascii_digit() {
            run.push(c);
            continue;
        }
        flush_run(&mut out, &mut run);
        out.push(if c.is_control() { ' ' } else { c });
    }
    flush_run(&mut out, &mut run);
    out
}

fn flush_run(out: &mut String, run: &mut String) {
    if run.len() >= DIGIT_RUN_MAX {
        out.extend(std::iter::repeat_n('*', run.len()));
    } else {
        out.push_str(run);
    }
    run.clear();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digit_runs_are_starred_and_messages_shortened() {
        assert_eq!(
            safe_text("card 6222021234567890128 refused, code 51"),
            "card ******************* refused, code 51"
        );
        assert_eq!(safe_text(&"x".repeat(500)).len(), REFUSAL_MESSAGE_CHARS_MAX);
        assert_eq!(safe_text("a\nb"), "a b");
    }

    #[test]
    fn only_unknown_outcomes_say_money_may_have_moved() {
        assert!(ChannelError::Timeout.money_may_have_moved());
        assert!(ChannelError::BadSignature.money_may_have_moved());
        assert!(ChannelError::Protocol(String::new()).money_may_have_moved());
        assert!(!ChannelError::Unreachable.money_may_have_moved());
        assert!(!ChannelError::OrderConflict.money_may_have_moved());
        assert!(!ChannelError::refused("X", "y").money_may_have_moved());
    }
}
