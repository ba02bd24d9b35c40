//! The SDK's one error type. No variant carries a request body, a key, a token or a sensitive
//! field value, and no message prints one: an error can be logged as it is.

use inspay_protocol::response::ResponseError;

/// What kind of transport failure happened (the retry policy reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// The connection could not be made, or broke while the request or answer was in flight.
    Connection,
    /// The request timed out.
    Timeout,
    /// Anything else (a malformed answer, a body that could not be read).
    Other,
}

impl TransportKind {
    fn name(self) -> &'static str {
        match self {
            TransportKind::Connection => "connection",
            TransportKind::Timeout => "timeout",
            TransportKind::Other => "other",
        }
    }
}

/// Everything that can go wrong calling the inspay API.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The request never got a complete answer (connection refused or broken, TLS or TLCP
    /// handshake failure, time-out). The URL is stripped from the source, so a query never
    /// reaches a log.
    #[error("transport error ({}): {source}", kind.name())]
    Transport {
        /// What kind of failure.
        kind: TransportKind,
        /// The channel's error, without the URL: a `reqwest::Error` over TLS, the SDK's own
        /// description over TLCP (feature `tlcp`).
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// The server answered with an error (a verified `application/problem+json` answer).
    #[error(
        "the server answered {status} {code}: {title}{}{}",
        detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default(),
        reference.as_deref().map(|r| format!(" [reference {r}]")).unwrap_or_default()
    )]
    Api {
        /// The HTTP status.
        status: u16,
        /// The stable error code (`INSPAY-SIG-007`, ...), or `unknown` for an answer without one.
        code: String,
        /// The error's title.
        title: String,
        /// The server's safe detail, if it gave one.
        detail: Option<String>,
        /// The reference that joins the answer to the server's log line: quote it to support.
        reference: Option<String>,
    },
    /// The answer's signature is missing, malformed, made with a key serial this client does
    /// not pin, does not verify, or is too old: the answer was not accepted as data.
    #[error("the answer was refused: {0}")]
    ResponseSignature(#[from] ResponseError),
    /// A sensitive field could not be encrypted, or the request could not be signed.
    #[error("encryption or signing failed: {0}")]
    Encryption(&'static str),
    /// The client or the request is misconfigured (see the message).
    #[error("configuration error: {0}")]
    Config(String),
    /// A verified answer does not have the shape the caller asked for. The message gives the
    /// position, never the data.
    #[error("the answer does not have the expected shape: {0}")]
    Decode(String),
}

impl Error {
    /// The HTTP status of an [`Error::Api`] answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The stable error code of an [`Error::Api`] answer.
    pub fn code(&self) -> Option<&str> {
        match self {
            Error::Api { code, .. } => Some(code),
            _ => None,
        }
    }

    pub(crate) fn transport(error: reqwest::Error) -> Error {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_connect() || error.is_request() || error.is_body() {
            TransportKind::Connection
        } else {
            TransportKind::Other
        };
        Error::Transport {
            kind,
            source: Box::new(error.without_url()),
        }
    }

    /// A JSON error described by its category and position only: serde_json's own message can
    /// quote the value it choked on.
    pub(crate) fn decode(error: &serde_json::Error) -> Error {
        let category = match error.classify() {
            serde_json::error::Category::Io => "read error",
            serde_json::error::Category::Syntax => "not valid JSON",
            serde_json::error::Category::Data => "a value of the wrong type or a missing field",
            serde_json::error::Category::Eof => "truncated JSON",
        };
        Error::Decode(format!(
            "{category} at line {}, column {}",
            error.line(),
            error.column()
        ))
    }
}

/// The fields of an RFC 9457 problem body the SDK reads.
#[derive(serde::Deserialize)]
struct Problem {
    code: Option<String>,
    title: Option<String>,
    detail: Option<String>,
    reference: Option<String>,
}

/// Builds the [`Error::Api`] for a verified error answer.
pub(crate) fn api_error(status: u16, body: &[u8]) -> Error {
    let problem: Option<Problem> = serde_json::from_slice(body).ok();
    let reason = reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|status| status.canonical_reason())
        .unwrap_or("error");
    match problem {
        Some(problem) => Error::Api {
            status,
            code: problem.code.unwrap_or_else(|| "unknown".to_string()),
            title: problem.title.unwrap_or_else(|| reason.to_string()),
            detail: problem.detail,
            reference: problem.reference,
        },
        None => Error::Api {
            status,
            code: "unknown".to_string(),
            title: reason.to_string(),
            detail: None,
            reference: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn problem_bodies_become_api_errors_and_others_keep_the_status() {
        let body = br#"{"type":"urn:inspay:error:INSPAY-SIG-007","title":"The signature does not verify.","status":401,"code":"INSPAY-SIG-007","reference":"E0123456789ABCDEF"}"#;
        let error = api_error(401, body);
        assert_eq!(error.status(), Some(401));
        assert_eq!(error.code(), Some("INSPAY-SIG-007"));
        let text = error.to_string();
        assert!(text.contains("E0123456789ABCDEF"), "{text}");
        let error = api_error(502, b"<html>bad gateway</html>");
        assert_eq!(error.code(), Some("unknown"));
        assert!(!error.to_string().contains("html"));
    }

    #[test]
    fn decode_errors_never_quote_the_data() {
        let error = serde_json::from_str::<u32>(r#""13812345678""#).expect_err("a string");
        let text = Error::decode(&error).to_string();
        assert!(!text.contains("13812345678"), "{text}");
    }
}
