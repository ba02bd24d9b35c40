//! The error catalogue (clauses 5.3.5.1, 5.3.5.2, 5.4.2.2).
//!
//! Every error a client can see has a stable code, an HTTP status and a safe title. The body
//! is RFC 9457 `application/problem+json` with the code and a reference; the same reference is
//! on the log line, which also holds the time, the code location and the error type, so an
//! operator can go from a customer's screenshot to the cause. Internal details (database
//! messages, parser messages that may echo input) go to the log only, and even there never
//! a request's content.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::panic::Location;

/// Media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

macro_rules! catalogue {
    ($($variant:ident => ($code:literal, $status:ident, $title:literal),)*) => {
        /// Stable error codes. Codes are never reused or renumbered.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum ErrorCode {
            $(
                #[doc = $title]
                $variant,
            )*
        }

        impl ErrorCode {
            /// Every code, for the catalogue document and its test.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The stable code string.
            pub const fn code(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status.
            pub const fn status(self) -> StatusCode {
                match self { $(ErrorCode::$variant => StatusCode::$status,)* }
            }

            /// The safe, human title.
            pub const fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

catalogue! {
    MalformedRequest => ("INSPAY-REQ-001", BAD_REQUEST, "The request is malformed."),
    MalformedJson => ("INSPAY-REQ-002", BAD_REQUEST, "The request body is not valid JSON for this operation."),
    InvalidField => ("INSPAY-REQ-003", UNPROCESSABLE_ENTITY, "A field has an invalid value."),
    BodyTooLarge => ("INSPAY-REQ-004", PAYLOAD_TOO_LARGE, "The request body is too large."),
    UnsupportedMediaType => ("INSPAY-REQ-005", UNSUPPORTED_MEDIA_TYPE, "The request body must be application/json."),
    NotFound => ("INSPAY-REQ-006", NOT_FOUND, "No such resource."),
    MethodNotAllowed => ("INSPAY-REQ-007", METHOD_NOT_ALLOWED, "This method is not allowed on this resource."),
    HeadersTooLarge => ("INSPAY-REQ-008", REQUEST_HEADER_FIELDS_TOO_LARGE, "The request headers are too large."),
    Conflict => ("INSPAY-REQ-009", CONFLICT, "The request conflicts with the current state of the resource."),
    SignInFailed => ("INSPAY-AUTH-001", UNAUTHORIZED, "Sign-in failed. Check what you entered and try again, or reset your password."),
    AuthenticationRequired => ("INSPAY-AUTH-002", UNAUTHORIZED, "Sign in to continue."),
    StepUpRequired => ("INSPAY-AUTH-003", FORBIDDEN, "This operation needs a fresh verification: complete a step-up for it and retry with the proof."),
    PasswordChangeRequired => ("INSPAY-AUTH-004", FORBIDDEN, "Change your initial password before doing anything else."),
    PermissionDenied => ("INSPAY-AUTH-005", FORBIDDEN, "You do not have permission for this operation."),
    ReauthenticationRequired => ("INSPAY-AUTH-006", UNAUTHORIZED, "Confirm it is you to continue."),
    CaptchaRequired => ("INSPAY-AUTH-007", UNPROCESSABLE_ENTITY, "Solve a new CAPTCHA and send its answer with this request."),
    TooManyRequests => ("INSPAY-AUTH-008", TOO_MANY_REQUESTS, "Too many requests. Wait before trying again."),
    FlowEnded => ("INSPAY-AUTH-009", CONFLICT, "This sign-in or verification has ended. Start again."),
    WeakSecret => ("INSPAY-AUTH-010", UNPROCESSABLE_ENTITY, "Choose a stronger password or pattern."),
    ConsentRequired => ("INSPAY-AUTH-011", UNPROCESSABLE_ENTITY, "An answer is needed for every purpose of the privacy notice, and the required ones must be accepted."),
    VerificationFailed => ("INSPAY-AUTH-012", UNPROCESSABLE_ENTITY, "The verification failed. Check what you entered and try again."),
    AccountFrozen => ("INSPAY-AUTH-013", FORBIDDEN, "This account is frozen: no payment, payout or account change can be made for it. Contact customer service."),
    SignatureMissing => ("INSPAY-SIG-001", UNAUTHORIZED, "Sign the request: an Authorization header with the INSPAY-SM2-SM3 scheme is required."),
    SignatureHeaderMalformed => ("INSPAY-SIG-002", UNAUTHORIZED, "The Authorization header or the request it signs is malformed."),
    UnknownApplication => ("INSPAY-SIG-003", UNAUTHORIZED, "The application is not registered."),
    ApplicationNotActive => ("INSPAY-SIG-004", FORBIDDEN, "The application is suspended or revoked."),
    UnknownKeySerial => ("INSPAY-SIG-005", UNAUTHORIZED, "The application has no key with this serial."),
    KeyRevoked => ("INSPAY-SIG-006", UNAUTHORIZED, "The key with this serial is revoked. Sign with a live key."),
    SignatureInvalid => ("INSPAY-SIG-007", UNAUTHORIZED, "The signature does not verify: the request was changed after signing or signed with another key."),
    TimestampOutsideWindow => ("INSPAY-SIG-008", UNAUTHORIZED, "The request timestamp is too far from the server's time. Check the device clock and sign again."),
    NonceReplayed => ("INSPAY-SIG-009", UNAUTHORIZED, "This request was already received (its nonce was used). Sign a new request."),
    ClassNotAllowed => ("INSPAY-SIG-010", FORBIDDEN, "The application is not registered for this kind of operation."),
    ClientCertificateRequired => ("INSPAY-SIG-011", FORBIDDEN, "The application must call over mutual TLS with its registered client certificate."),
    UpdateRequired => ("INSPAY-SIG-012", UPGRADE_REQUIRED, "This version of the app is no longer supported. Update the app to continue."),
    FieldNonceInvalid => ("INSPAY-SIG-013", UNPROCESSABLE_ENTITY, "The encryption nonce is unknown, expired or already used. Get a new one and encrypt again."),
    FieldNotEncrypted => ("INSPAY-SIG-014", UNPROCESSABLE_ENTITY, "Sensitive fields must be encrypted with the server's key before they are sent."),
    FieldUndecryptable => ("INSPAY-SIG-015", UNPROCESSABLE_ENTITY, "An encrypted field could not be opened. Encrypt it again with the server's current key."),
    IdempotencyKeyRequired => ("INSPAY-REQ-010", PRECONDITION_REQUIRED, "This operation needs an Idempotency-Key header."),
    IdempotencyKeyMismatch => ("INSPAY-REQ-011", UNPROCESSABLE_ENTITY, "This Idempotency-Key was already used with a different request."),
    IdempotencyInProgress => ("INSPAY-REQ-012", CONFLICT, "A request with this Idempotency-Key is still being processed. Retry shortly."),
    PolicyStateConflict => ("INSPAY-PAY-001", CONFLICT, "The policy's state does not allow this operation."),
    PremiumNotDue => ("INSPAY-PAY-002", CONFLICT, "This premium is not due: it is already paid or no longer owed."),
    PaymentInProgress => ("INSPAY-PAY-003", CONFLICT, "A payment for this premium is still in progress. Wait for its outcome before paying again."),
    PaymentDeclined => ("INSPAY-PAY-004", PAYMENT_REQUIRED, "The bank declined the payment. Use another card or contact your bank."),
    LimitExceeded => ("INSPAY-PAY-005", UNPROCESSABLE_ENTITY, "The payment exceeds a limit for this kind of payment."),
    RefundExceedsPayment => ("INSPAY-PAY-006", UNPROCESSABLE_ENTITY, "The refund exceeds what can still be refunded of this payment."),
    ProductWithdrawn => ("INSPAY-PAY-007", CONFLICT, "This product is no longer sold."),
    OutsidePaymentHours => ("INSPAY-PAY-008", UNPROCESSABLE_ENTITY, "Payments of this kind are not accepted at this time of day. Try again later."),
    ClaimStateConflict => ("INSPAY-PAY-009", CONFLICT, "The claim's state does not allow this step."),
    ClaimAboveCover => ("INSPAY-PAY-010", UNPROCESSABLE_ENTITY, "The approved amount exceeds the amount claimed or the policy's remaining cover."),
    SecondApproverRequired => ("INSPAY-PAY-011", FORBIDDEN, "A large claim needs a second approver other than its adjuster."),
    ClaimRefused => ("INSPAY-PAY-012", UNPROCESSABLE_ENTITY, "The claim cannot be accepted as sent; the detail names the rule."),
    AccountNotVerified => ("INSPAY-PAY-013", UNPROCESSABLE_ENTITY, "The bank could not verify this account as yours. Check the number, or use an account in your own name."),
    DocumentSignatureInvalid => ("INSPAY-PAY-014", UNPROCESSABLE_ENTITY, "The signature over the claim document does not verify with the named key. Sign the exact document again."),
    RiskDenied => ("INSPAY-RISK-001", FORBIDDEN, "This operation cannot be completed. If you need help, contact customer service."),
    RiskHeld => ("INSPAY-RISK-002", ACCEPTED, "This operation is being checked and has not been carried out yet. You will be told the outcome; do not send it again."),
    RiskHoldDecided => ("INSPAY-RISK-003", CONFLICT, "This held operation was already released or rejected."),
    ChannelUnavailable => ("INSPAY-SYS-006", SERVICE_UNAVAILABLE, "Payments are temporarily unavailable. Retry later."),
    ChannelPaused => ("INSPAY-SYS-007", SERVICE_UNAVAILABLE, "Payments through this channel are paused for now. Retry later."),
    Internal => ("INSPAY-SYS-001", INTERNAL_SERVER_ERROR, "Something went wrong on our side. Quote the reference if you contact support."),
    DatabaseUnavailable => ("INSPAY-SYS-002", SERVICE_UNAVAILABLE, "The service is temporarily unavailable. Retry later."),
    Timeout => ("INSPAY-SYS-003", SERVICE_UNAVAILABLE, "The request took too long. Retry later."),
    KeysUnavailable => ("INSPAY-SYS-004", SERVICE_UNAVAILABLE, "A cryptographic key needed for this request is not available. Retry later."),
    SmsUnavailable => ("INSPAY-SYS-005", SERVICE_UNAVAILABLE, "The text message could not be sent. Retry later."),
}

/// An error on its way to the client.
#[derive(Debug)]
pub struct ApiError {
    code: ErrorCode,
    /// A safe detail for the client (never request content).
    detail: Option<String>,
    /// The cause, for the log only.
    cause: Option<String>,
    /// Seconds the client should wait, sent as `Retry-After`.
    retry_after_s: Option<i64>,
    location: &'static Location<'static>,
}

impl ApiError {
    /// An error with only a code.
    #[track_caller]
    pub fn new(code: ErrorCode) -> Self {
        Self {
            code,
            detail: None,
            cause: None,
            retry_after_s: None,
            location: Location::caller(),
        }
    }

    /// Adds a safe detail for the client. Callers pass only fixed text and field names.
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// Adds the cause, logged but not returned.
    pub fn cause(mut self, cause: impl std::fmt::Display) -> Self {
        self.cause = Some(cause.to_string());
        self
    }

    /// Tells the client when to retry (`Retry-After`).
    pub fn retry_after(mut self, seconds: i64) -> Self {
        self.retry_after_s = Some(seconds.max(1));
        self
    }

    /// The code.
    pub fn code(&self) -> ErrorCode {
        self.code
    }
}

impl From<inspay_store::StoreError> for ApiError {
    #[track_caller]
    fn from(error: inspay_store::StoreError) -> Self {
        let code = match &error {
            inspay_store::StoreError::Database(_) => ErrorCode::DatabaseUnavailable,
            inspay_store::StoreError::Kms(_) => ErrorCode::KeysUnavailable,
            inspay_store::StoreError::NotFound(_) => ErrorCode::NotFound,
            inspay_store::StoreError::Conflict(_) => ErrorCode::Conflict,
            inspay_store::StoreError::Erased => ErrorCode::NotFound,
            inspay_store::StoreError::Refused(reason) => {
                // Fixed text from the store that never repeats input.
                return ApiError::new(ErrorCode::InvalidField).detail(*reason);
            }
            _ => ErrorCode::Internal,
        };
        let detail = match &error {
            inspay_store::StoreError::Conflict(reason) => Some(*reason),
            _ => None,
        };
        let api = ApiError::new(code).cause(error);
        match detail {
            Some(detail) => api.detail(detail),
            None => api,
        }
    }
}

impl From<inspay_store::funds::FundsError> for ApiError {
    #[track_caller]
    fn from(error: inspay_store::funds::FundsError) -> Self {
        use inspay_store::funds::FundsError as F;
        let error = match error {
            F::Store(store) => return ApiError::from(store),
            other => other,
        };
        let code = match &error {
            F::Store(_) | F::Contradiction(_) => {
                return ApiError::new(ErrorCode::Internal).cause(&error);
            }
            F::NotFound(_) => ErrorCode::NotFound,
            F::Terms(_) => ErrorCode::InvalidField,
            F::ProductWithdrawn => ErrorCode::ProductWithdrawn,
            F::ProductCodeTaken => ErrorCode::Conflict,
            F::Policy(_) => ErrorCode::PolicyStateConflict,
            F::InstalmentNotDue => ErrorCode::PremiumNotDue,
            F::PaymentInProgress => ErrorCode::PaymentInProgress,
            F::Refund(inspay_core::funds::RefundError::ExceedsRefundable { .. }) => {
                ErrorCode::RefundExceedsPayment
            }
            F::Refund(_) => ErrorCode::PolicyStateConflict,
            F::Claim(inspay_core::funds::ClaimError::IllegalStep(_)) => {
                ErrorCode::ClaimStateConflict
            }
            F::Claim(inspay_core::funds::ClaimError::SameApprover) => {
                ErrorCode::SecondApproverRequired
            }
            F::Claim(_) => ErrorCode::ClaimAboveCover,
            F::ClaimRefused(_) => ErrorCode::ClaimRefused,
            F::ClaimOpen => ErrorCode::PolicyStateConflict,
            F::Limit(_) => ErrorCode::LimitExceeded,
        };
        // Every FundsError message is fixed text from the code that names a rule (and at most
        // an amount), never a stored personal value.
        ApiError::new(code).detail(error.to_string()).cause(&error)
    }
}

/// An RFC 9457 problem body.
#[derive(Debug, Serialize)]
pub struct Problem<'a> {
    /// A URN naming the code.
    #[serde(rename = "type")]
    pub kind: String,
    /// The safe title.
    pub title: &'a str,
    /// The HTTP status.
    pub status: u16,
    /// A safe detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    /// The stable code.
    pub code: &'a str,
    /// The reference that joins this response to the log line.
    pub reference: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let reference = new_reference();
        let location = format!("{}:{}", self.location.file(), self.location.line());
        let status = self.code.status();
        if status.is_server_error() {
            tracing::error!(
                reference = %reference,
                code = self.code.code(),
                error_type = ?self.code,
                location = %location,
                cause = self.cause.as_deref().unwrap_or(""),
                "request failed"
            );
        } else {
            tracing::warn!(
                reference = %reference,
                code = self.code.code(),
                error_type = ?self.code,
                location = %location,
                cause = self.cause.as_deref().unwrap_or(""),
                "request refused"
            );
        }
        let mut response = problem_response(self.code, self.detail.as_deref(), &reference);
        if let Some(seconds) = self.retry_after_s
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    }
}

/// Builds a problem response.
pub fn problem_response(code: ErrorCode, detail: Option<&str>, reference: &str) -> Response {
    let body = Problem {
        kind: format!("urn:inspay:error:{}", code.code()),
        title: code.title(),
        status: code.status().as_u16(),
        detail,
        code: code.code(),
        reference,
    };
    let json = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (code.status(), json).into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    response
}

/// A fresh error reference: `E` and 16 hex digits from the CSPRNG.
pub fn new_reference() -> String {
    let bytes = inspay_crypto::random::bytes::<8>().unwrap_or([0; 8]);
    format!("E{}", hex::encode_upper(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes are unique and well formed; request errors are 4xx and system errors 5xx, so a
    /// client's mistake never shows as a server fault and the reverse.
    /// req: 5.3.5.1
    #[test]
    fn catalogue_codes_are_unique_and_consistent() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let text = code.code();
            assert!(seen.insert(text), "{text} used twice");
            let (family, number) = text
                .strip_prefix("INSPAY-")
                .and_then(|rest| rest.split_once('-'))
                .expect("INSPAY-FAMILY-NNN");
            assert!(
                number.len() == 3 && number.bytes().all(|b| b.is_ascii_digit()),
                "{text}"
            );
            match family {
                "REQ" | "AUTH" | "SIG" | "PAY" => {
                    assert!(code.status().is_client_error(), "{text}")
                }
                "SYS" => assert!(code.status().is_server_error(), "{text}"),
                // Held for review is not an error: 202, with the problem shape for one parser.
                "RISK" => assert!(
                    code.status().is_client_error()
                        || code.status() == axum::http::StatusCode::ACCEPTED,
                    "{text}"
                ),
                other => panic!("unknown family {other}"),
            }
            assert!(code.title().ends_with('.'), "{text}: titles are sentences");
        }
    }
}
