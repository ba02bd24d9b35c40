//! Who may call what (clauses 4-a, 5.1-b, 5.3.1.2, 5.3.3.4-a).
//!
//! Every route declares a [`RouteSpec`]: its operation class and the authentication it needs.
//! One middleware, [`authorize`], enforces the declaration before the handler runs, and a
//! route without a declaration is refused (it fails closed, with an error in the log), so no
//! handler can forget its check. Handlers of signed-in routes receive the [`Caller`].
//!
//! Session levels, kept on the server with the session:
//! - `two-factor`: a full session;
//! - `initial-password`: signed in with an initial password; only the password change and
//!   sign-out are allowed (clause 5.2.4.2-a);
//! - `dormant`: the account was unused for the dormant period; only the identity check and
//!   sign-out are allowed until it passes (clause 5.3.3.3-c);
//! - any level prefixed `resume+`: the client was away longer than the background limit; only
//!   the resume re-authentication and sign-out are allowed (clause 5.2.1.2).

use crate::edge::RequestId;
use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::Response;
use inspay_identity::authorization::Permission;
use inspay_identity::session::SessionToken;
use inspay_store::sessions::RESUME_PREFIX;

/// Session level of a full session.
pub const LEVEL_FULL: &str = "two-factor";
/// Session level that allows only the initial-password change.
pub const LEVEL_INITIAL_PASSWORD: &str = "initial-password";
/// Session level that allows only the dormant-account identity check.
pub const LEVEL_DORMANT: &str = "dormant";
/// Header that carries a step-up proof.
pub const STEP_UP_HEADER: &str = "x-inspay-step-up";

/// Operations at the enhanced level (clause 5.1-b): each needs a fresh second factor at the
/// moment it is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// Changing the login password.
    PasswordChange,
    /// Setting or changing the transaction password.
    TransactionPassword,
    /// Enrolling or changing the gesture pattern.
    Gesture,
    /// Enrolling a device key.
    DeviceEnrol,
    /// Showing masked personal fields in full (clause 5.2.2.2-c2).
    FullDisplay,
    /// Closing the account.
    AccountClose,
    /// Changing the bound mobile number (the customer's login name).
    MobileChange,
    /// Paying a premium at the enhanced level: a first premium (a new policy) or a renewal above
    /// the small-renewal threshold (clauses 5.1-a/b, 5.3.3.4-a).
    PremiumPayment,
    /// Cancelling a policy (money comes back to the customer).
    PolicyCancel,
    /// Adding a bank account claim payouts go to.
    PayoutAccountAdd,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 10] = [
        Operation::PasswordChange,
        Operation::TransactionPassword,
        Operation::Gesture,
        Operation::DeviceEnrol,
        Operation::FullDisplay,
        Operation::AccountClose,
        Operation::MobileChange,
        Operation::PremiumPayment,
        Operation::PolicyCancel,
        Operation::PayoutAccountAdd,
    ];

    /// Stable name, as clients send it.
    pub const fn name(self) -> &'static str {
        match self {
            Operation::PasswordChange => "password-change",
            Operation::TransactionPassword => "transaction-password",
            Operation::Gesture => "gesture",
            Operation::DeviceEnrol => "device-enrol",
            Operation::FullDisplay => "full-display",
            Operation::AccountClose => "account-close",
            Operation::MobileChange => "mobile-change",
            Operation::PremiumPayment => "premium-payment",
            Operation::PolicyCancel => "policy-cancel",
            Operation::PayoutAccountAdd => "payout-account-add",
        }
    }

    /// Parses a name.
    pub fn parse(name: &str) -> Option<Operation> {
        Operation::ALL
            .into_iter()
            .find(|operation| operation.name() == name)
    }
}

/// The authentication a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone (health, CAPTCHA, registration, sign-in steps).
    Public,
    /// Any live session, whatever its level (sign-out, resume, identity check).
    AnySession,
    /// A full session.
    Full,
    /// A full session and a fresh step-up proof for the operation.
    Enhanced(Operation),
    /// The password change: a full session with a step-up proof, or an `initial-password`
    /// session (just signed in with two factors and the initial password).
    PasswordChange,
}

/// One route's declaration.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    /// HTTP method.
    pub method: &'static str,
    /// The route path as registered.
    pub path: &'static str,
    /// Operation class (clause 4-a).
    pub class: OperationClass,
    /// Authentication needed.
    pub need: Need,
    /// The permission the caller's roles must grant (clause 5.3.2.1); `None` for routes any
    /// signed-in account may use on itself (sign-out, its own password). Data scope (whose
    /// data) is checked by the handler, which knows the target.
    pub permission: Option<Permission>,
    /// One line: what the route does (the summary in the OpenAPI description, clause
    /// 5.4.2.2).
    pub summary: &'static str,
    /// The schema of the JSON request body, from the type the handler parses it into; `None`
    /// for routes that take no body.
    pub body: Option<fn(&mut schemars::SchemaGenerator) -> schemars::Schema>,
    /// The schema of the JSON body of a success answer, from the type the handler answers
    /// with; `None` when a success answer has no body.
    pub response: Option<fn(&mut schemars::SchemaGenerator) -> schemars::Schema>,
    /// The status codes of a success answer.
    pub success: &'static [u16],
}

/// The signed-in caller, for handlers.
#[derive(Debug, Clone)]
pub struct Caller {
    /// The account.
    pub account_id: String,
    /// The session token presented.
    pub session: SessionToken,
    /// The session level.
    pub level: String,
    /// The request id.
    pub request_id: String,
}

/// The account a response was made for, set on the response for the evidence layer.
#[derive(Debug, Clone)]
pub struct CallerAccount(pub String);

/// The declaration of a route, if any.
pub fn spec_for(method: &Method, path: &str) -> Option<&'static RouteSpec> {
    crate::routes::SPECS
        .iter()
        .flat_map(|specs| specs.iter())
        .find(|spec| spec.path == path && spec.method == method.as_str())
}

/// The session token of a request, if well formed: in `X-Inspay-Session` (signed requests,
/// whose `Authorization` header holds the signature) or as `Authorization: Bearer`.
pub fn bearer(headers: &HeaderMap) -> Option<SessionToken> {
    if let Some(value) = headers.get(inspay_protocol::SESSION_HEADER) {
        return SessionToken::parse(value.to_str().ok()?.trim()).ok();
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let token = value.strip_prefix("Bearer ")?;
    SessionToken::parse(token.trim()).ok()
}

/// Enforces the route's declaration.
pub async fn authorize(
    State(state): State<AppState>,
    matched: Option<MatchedPath>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let path = matched.as_ref().map_or("", MatchedPath::as_str);
    let Some(spec) = spec_for(request.method(), path) else {
        return Err(ApiError::new(ErrorCode::Internal).cause(format!(
            "route {} {path} has no declaration",
            request.method()
        )));
    };
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|id| id.0.clone())
        .unwrap_or_default();
    if spec.need == Need::Public {
        return Ok(next.run(request).await);
    }
    let Some(token) = bearer(request.headers()) else {
        return Err(ApiError::new(ErrorCode::AuthenticationRequired));
    };
    let now = state.now_ms();
    let policy = state.session_policy();
    let Some(session) = state
        .store
        .session_check(&token, &policy, &request_id, now)
        .await?
    else {
        return Err(ApiError::new(ErrorCode::AuthenticationRequired));
    };
    if let Err(refusal) = crate::defence::limit(
        &state,
        "account",
        &session.account_id,
        state.settings.protection.account_per_minute,
    )
    .await
    {
        let client = request
            .extensions()
            .get::<crate::defence::ClientAddr>()
            .map(|addr| addr.0);
        crate::defence::record(
            &state,
            crate::defence::Seen {
                kind: "rate-limited",
                app_id: None,
                account_id: Some(&session.account_id),
                client,
                route: Some(path),
                detail: "the per-account request limit was reached",
            },
        )
        .await;
        return Err(refusal);
    }
    let level = session.auth_level.as_str();
    let full_or_refusal = || -> Result<(), ApiError> {
        if level.starts_with(RESUME_PREFIX) {
            return Err(ApiError::new(ErrorCode::ReauthenticationRequired).detail(
                "the app was away too long: re-authenticate with POST /v1/session/resume",
            ));
        }
        match level {
            LEVEL_FULL => Ok(()),
            LEVEL_INITIAL_PASSWORD => Err(ApiError::new(ErrorCode::PasswordChangeRequired)),
            LEVEL_DORMANT => Err(ApiError::new(ErrorCode::ReauthenticationRequired).detail(
                "the account was unused for a long time: confirm your identity with POST /v1/session/verify-identity",
            )),
            _ => Err(ApiError::new(ErrorCode::AuthenticationRequired)),
        }
    };
    // The permission first, so a refused caller does not spend a step-up proof on it.
    if let Some(permission) = spec.permission
        && level == LEVEL_FULL
        && !state
            .store
            .grants(&session.account_id)
            .await?
            .allows(permission)
    {
        return Err(ApiError::new(ErrorCode::PermissionDenied)
            .cause(format!("missing permission {}", permission.name())));
    }
    match spec.need {
        Need::Public | Need::AnySession => {}
        Need::Full => full_or_refusal()?,
        Need::Enhanced(operation) => {
            full_or_refusal()?;
            consume_step_up(&state, request.headers(), &token, operation, now).await?;
        }
        Need::PasswordChange => {
            if level != LEVEL_INITIAL_PASSWORD {
                full_or_refusal()?;
                consume_step_up(
                    &state,
                    request.headers(),
                    &token,
                    Operation::PasswordChange,
                    now,
                )
                .await?;
            }
        }
    }
    let account = CallerAccount(session.account_id.clone());
    request.extensions_mut().insert(Caller {
        account_id: session.account_id,
        session: token,
        level: session.auth_level,
        request_id,
    });
    let mut response = next.run(request).await;
    response.extensions_mut().insert(account);
    Ok(response)
}

/// Consumes a step-up proof for `operation` from the request headers, for handlers whose level
/// depends on what the request asks (a premium's amount): the route declares `Need::Full`, and
/// the handler calls this when the amount makes the operation enhanced.
pub async fn require_step_up(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    operation: Operation,
) -> Result<(), ApiError> {
    consume_step_up(state, headers, &caller.session, operation, state.now_ms()).await
}

/// Requires a fresh step-up made with `factor` or a stronger one, because the risk engine
/// asked for it (issue 6; clause 5.3.3.4-a). The customer is told which factor, never why.
pub async fn require_risk_step_up(
    state: &AppState,
    headers: &HeaderMap,
    caller: &Caller,
    operation: Operation,
    factor: inspay_risk::decision::StepUpFactor,
) -> Result<(), ApiError> {
    use inspay_risk::decision::StepUpFactor;
    // From the weakest accepted to the strongest: a gesture proves less than a code sent to
    // the bound phone, which proves less than the device's SM2 key or a staff certificate.
    let accepted: &[&str] = match factor {
        StepUpFactor::Gesture => &["gesture", "sms-code", "device-key", "certificate"],
        StepUpFactor::SmsCode => &["sms-code", "device-key", "certificate"],
        StepUpFactor::DeviceKey => &["device-key", "certificate"],
    };
    let proof = headers
        .get(STEP_UP_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| SessionToken::parse(value.trim()).ok());
    let consumed = match proof {
        Some(proof) => {
            state
                .store
                .step_up_consume_with(
                    &proof,
                    &caller.session,
                    operation.name(),
                    accepted,
                    state.now_ms(),
                )
                .await?
        }
        None => false,
    };
    if consumed {
        Ok(())
    } else {
        Err(ApiError::new(ErrorCode::StepUpRequired).detail(format!(
            "operation '{}' needs a step-up with {} (or a stronger factor): get a proof from \
             POST /v1/step-up/verify and send it in the X-Inspay-Step-Up header",
            operation.name(),
            factor.name()
        )))
    }
}

async fn consume_step_up(
    state: &AppState,
    headers: &HeaderMap,
    session: &SessionToken,
    operation: Operation,
    now: i64,
) -> Result<(), ApiError> {
    let proof = headers
        .get(STEP_UP_HEADER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| SessionToken::parse(value.trim()).ok());
    let required = || {
        ApiError::new(ErrorCode::StepUpRequired).detail(format!(
            "operation '{}': get a proof from POST /v1/step-up/verify and send it in the X-Inspay-Step-Up header",
            operation.name()
        ))
    };
    let Some(proof) = proof else {
        return Err(required());
    };
    if state
        .store
        .step_up_consume(&proof, session, operation.name(), now)
        .await?
    {
        Ok(())
    } else {
        Err(required())
    }
}
