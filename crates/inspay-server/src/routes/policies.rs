//! Products, policies and premiums for customers (issue 5 items 1 and 2): the product list,
//! applying for a policy (投保), reading one's policies with their schedules and payments,
//! paying a premium, and cancelling (退保).
//!
//! Paying a premium is a fund transaction. Its level grows with what it pays (clauses 5.1,
//! 5.3.3.4-a): the first premium of a policy and any renewal above the small-renewal threshold
//! need a fresh second factor (a step-up proof for `premium-payment`); a small renewal needs a
//! full session. Card fields arrive encrypted to the server's field-transport key.

use crate::auth::{Caller, Need, Operation, RouteSpec, require_risk_step_up, require_step_up};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::payments::premium::{self, Outcome, Source};
use crate::payments::risk::{self, FundOperation};
use crate::risk::assess::Operation as RiskOperation;
use crate::risk::gate::{self, FUND_CHANNEL, Gate, OnStepUp, Passage, RequestSource};
use crate::risk::holds::HeldOperation;
use crate::routes::OperationClass;
use crate::routes::support::field;
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_core::calendar::{date_at_ms, date_text, parse_date};
use inspay_core::funds::OrderStatus;
use inspay_core::ids::{PolicyId, ProductId};
use inspay_core::sensitive::{CardExpiry, CardNumber, Cvv};
use inspay_identity::authorization::Permission;
use inspay_risk::pack::OperationKind as RiskKind;
use inspay_store::funds::{Cancellation, Instalment, InstalmentStatus, Payment, Policy, Product};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Policies a customer may list at once.
const POLICIES_LISTED_MAX: i64 = 100;
/// How far ahead a policy may start, days.
const START_DAYS_AHEAD_MAX: i64 = 90;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/products",
        class: OperationClass::InformationQuery,
        need: Need::Public,
        permission: None,
        summary: "Lists the products on sale: cover, premium, frequency and term.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<ProductList>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/policies",
        class: OperationClass::InformationCollection,
        need: Need::Full,
        permission: Some(Permission::PolicyApplyOwn),
        summary: "Applies for a policy on a product; it becomes active when its first premium is paid.",
        body: Some(SchemaGenerator::subschema_for::<ApplyRequest>),
        response: Some(SchemaGenerator::subschema_for::<PolicyView>),
        success: &[201],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/policies",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PolicyReadOwn),
        summary: "Lists the caller's policies, newest first.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<PolicyList>),
        success: &[200],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/policies/{policy_id}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PolicyReadOwn),
        summary: "One of the caller's policies with its premium schedule and payments (cards masked).",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<PolicyView>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/policies/{policy_id}/premiums/{number}/pay",
        class: OperationClass::FundTransaction,
        need: Need::Full,
        permission: Some(Permission::PolicyPayOwn),
        summary: "Pays a premium by card (fields encrypted) or saved card; the first premium and large renewals need a step-up for premium-payment.",
        body: Some(SchemaGenerator::subschema_for::<PayRequest>),
        response: Some(SchemaGenerator::subschema_for::<PaymentView>),
        success: &[201, 202],
    },
    RouteSpec {
        method: "GET",
        path: "/v1/me/payment-methods",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::PolicyPayOwn),
        summary: "Lists the caller's saved cards (masked), to pay later premiums with.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<MethodList>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/policies/{policy_id}/cancel",
        class: OperationClass::FundTransaction,
        need: Need::Enhanced(Operation::PolicyCancel),
        permission: Some(Permission::PolicyCancelOwn),
        summary: "Cancels the policy from today; refunds the unearned premium by the documented rule.",
        body: Some(SchemaGenerator::subschema_for::<CancelRequest>),
        response: Some(SchemaGenerator::subschema_for::<Cancelled>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/products", get(products))
        .route("/v1/policies", post(apply).get(list))
        .route("/v1/policies/{policy_id}", get(one))
        .route("/v1/policies/{policy_id}/premiums/{number}/pay", post(pay))
        .route("/v1/policies/{policy_id}/cancel", post(cancel))
        .route("/v1/me/payment-methods", get(methods))
}

/// A product on sale.
#[derive(Serialize, JsonSchema)]
struct ProductView {
    id: String,
    code: String,
    name: String,
    cover_fen: i64,
    premium_fen: i64,
    frequency: &'static str,
    term_months: u32,
    grace_days: u32,
}

/// Products on sale.
#[derive(Serialize, JsonSchema)]
struct ProductList {
    products: Vec<ProductView>,
}

fn product_view(product: &Product) -> ProductView {
    let terms = &product.terms;
    ProductView {
        id: product.id.to_string(),
        code: product.code.clone(),
        name: product.name.clone(),
        cover_fen: terms.cover().fen(),
        premium_fen: terms.premium().fen(),
        frequency: terms.frequency().as_str(),
        term_months: terms.term_months(),
        grace_days: terms.grace_days(),
    }
}

async fn products(State(state): State<AppState>) -> Result<Json<ProductList>, ApiError> {
    let products = state.store.products(&state.keyring()).await?;
    Ok(Json(ProductList {
        products: products
            .iter()
            .filter(|product| product.on_sale)
            .map(product_view)
            .collect(),
    }))
}

/// What to apply for.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ApplyRequest {
    /// The product.
    product_id: String,
    /// First day of cover, `YYYY-MM-DD` (China time); today or up to 90 days ahead.
    start_on: String,
}

/// One premium of the schedule.
#[derive(Serialize, JsonSchema)]
struct InstalmentView {
    number: u32,
    due_on: String,
    amount_fen: i64,
    status: &'static str,
}

/// A payment, card masked.
#[derive(Serialize, JsonSchema)]
struct PaymentView {
    id: String,
    policy_id: String,
    premium_number: u32,
    amount_fen: i64,
    /// `pending` (the outcome is being confirmed with the bank), `succeeded` or `failed`.
    status: &'static str,
    card: Option<String>,
    failure_code: Option<String>,
}

/// A policy with its schedule and payments.
#[derive(Serialize, JsonSchema)]
struct PolicyView {
    id: String,
    product_id: String,
    status: &'static str,
    start_on: String,
    end_on: String,
    cover_fen: i64,
    premium_fen: i64,
    frequency: &'static str,
    premiums: Vec<InstalmentView>,
    payments: Vec<PaymentView>,
}

/// The caller's policies.
#[derive(Serialize, JsonSchema)]
struct PolicyList {
    policies: Vec<PolicyView>,
}

fn payment_view(payment: &Payment) -> PaymentView {
    PaymentView {
        id: payment.id.to_string(),
        policy_id: payment.policy_id.to_string(),
        premium_number: payment.number,
        amount_fen: payment.amount.fen(),
        status: payment.status.as_str(),
        card: payment.card_masked.clone(),
        failure_code: payment.failure_code.clone(),
    }
}

fn policy_view(policy: &Policy, premiums: &[Instalment], payments: &[Payment]) -> PolicyView {
    PolicyView {
        id: policy.id.to_string(),
        product_id: policy.product_id.to_string(),
        status: policy.status.as_str(),
        start_on: date_text(policy.start_on),
        end_on: date_text(policy.end_on),
        cover_fen: policy.terms.cover().fen(),
        premium_fen: policy.terms.premium().fen(),
        frequency: policy.terms.frequency().as_str(),
        premiums: premiums
            .iter()
            .map(|instalment| InstalmentView {
                number: instalment.number,
                due_on: date_text(instalment.due_on),
                amount_fen: instalment.amount.fen(),
                status: instalment.status.as_str(),
            })
            .collect(),
        payments: payments.iter().map(payment_view).collect(),
    }
}

fn policy_id(raw: &str) -> Result<PolicyId, ApiError> {
    PolicyId::parse(raw).map_err(|_| ApiError::new(ErrorCode::NotFound))
}

async fn full_view(state: &AppState, policy: &Policy) -> Result<PolicyView, ApiError> {
    let premiums = state.store.instalments(&policy.id).await?;
    let payments = state
        .store
        .payments_of_policy(&state.keyring(), &policy.id)
        .await?;
    Ok(policy_view(policy, &premiums, &payments))
}

async fn apply(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    ApiJson(request): ApiJson<ApplyRequest>,
) -> Result<(StatusCode, Json<PolicyView>), ApiError> {
    let invalid = |detail: &str| ApiError::new(ErrorCode::InvalidField).detail(detail.to_string());
    let product_id = ProductId::parse(&request.product_id)
        .map_err(|_| invalid("product_id: not a product id"))?;
    let start_on =
        parse_date(&request.start_on).ok_or_else(|| invalid("start_on: a date as YYYY-MM-DD"))?;
    let now = state.now_ms();
    let today = date_at_ms(now);
    if start_on < today || (start_on - today).whole_days() > START_DAYS_AHEAD_MAX {
        return Err(invalid("start_on: today or up to 90 days ahead"));
    }
    let (policy, premiums) = state
        .store
        .policy_apply(
            &state.keyring(),
            &caller.account_id,
            &product_id,
            start_on,
            &caller.request_id,
            now,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(policy_view(&policy, &premiums, &[])),
    ))
}

async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<PolicyList>, ApiError> {
    let policies = state
        .store
        .policies_of(&state.keyring(), &caller.account_id, POLICIES_LISTED_MAX)
        .await?;
    let mut views = Vec::with_capacity(policies.len());
    for policy in &policies {
        views.push(full_view(&state, policy).await?);
    }
    Ok(Json(PolicyList { policies: views }))
}

async fn one(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(raw_id): Path<String>,
) -> Result<Json<PolicyView>, ApiError> {
    let policy = state
        .store
        .policy(
            &state.keyring(),
            &policy_id(&raw_id)?,
            Some(&caller.account_id),
        )
        .await?;
    Ok(Json(full_view(&state, &policy).await?))
}

/// A card (its three fields encrypted) or a saved card's id.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PayRequest {
    #[schemars(with = "Option<String>")]
    card_number: Option<Zeroizing<String>>,
    /// `MM/YY`.
    #[schemars(with = "Option<String>")]
    expiry: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    cvv: Option<Zeroizing<String>>,
    /// A saved card, from an earlier payment.
    payment_method_id: Option<String>,
}

fn source(request: &PayRequest) -> Result<Source, ApiError> {
    match (&request.card_number, &request.payment_method_id) {
        (Some(number), None) => {
            let expiry = request.expiry.as_ref().ok_or_else(|| {
                ApiError::new(ErrorCode::InvalidField).detail("expiry: required with card_number")
            })?;
            let expiry = CardExpiry::parse(expiry).map_err(|error| {
                ApiError::new(ErrorCode::InvalidField).detail(format!("expiry: {error}"))
            })?;
            let cvv = request
                .cvv
                .as_ref()
                .map(|cvv| {
                    Cvv::parse(cvv).map_err(|error| {
                        ApiError::new(ErrorCode::InvalidField).detail(format!("cvv: {error}"))
                    })
                })
                .transpose()?;
            Ok(Source::Card {
                number: field::<CardNumber>("card_number", number)?,
                expiry,
                cvv,
            })
        }
        (None, Some(method_id)) if request.expiry.is_none() && request.cvv.is_none() => {
            Ok(Source::Saved {
                method_id: method_id.clone(),
            })
        }
        _ => Err(ApiError::new(ErrorCode::InvalidField)
            .detail("send either card_number with expiry (and cvv), or payment_method_id")),
    }
}

async fn pay(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    source_of: RequestSource,
    Path((raw_id, raw_number)): Path<(String, String)>,
    headers: HeaderMap,
    ApiJson(request): ApiJson<PayRequest>,
) -> Result<(StatusCode, Json<PaymentView>), ApiError> {
    let policy_id = policy_id(&raw_id)?;
    let number: u32 = raw_number
        .parse()
        .ok()
        .filter(|number| (1..=inspay_core::policy::TERM_MONTHS_MAX).contains(number))
        .ok_or_else(|| ApiError::new(ErrorCode::NotFound))?;
    let source = source(&request)?;
    drop(request);
    let keyring = state.keyring();
    // Ownership first: a stranger's policy is "not found" and spends no step-up proof.
    let policy = state
        .store
        .policy(&keyring, &policy_id, Some(&caller.account_id))
        .await?;
    let due = state
        .store
        .instalment(&policy.id, number)
        .await?
        .ok_or_else(|| {
            ApiError::new(ErrorCode::NotFound).detail("the policy has no such premium")
        })?;
    if due.status != InstalmentStatus::Due {
        return Err(ApiError::new(ErrorCode::PremiumNotDue));
    }
    let premium = due.amount;
    risk::check(
        &state,
        FundOperation::PremiumPayment {
            account_id: &caller.account_id,
            amount: premium,
        },
        state.now_ms(),
    )
    .await?;
    let product = policy.product_id.to_string();
    let gate = Gate {
        operation: RiskOperation {
            amount_fen: premium.fen(),
            product: &product,
            reference: Some(policy_id.as_str()),
            client_ip: Some(source_of.ip),
            app_id: source_of.app_id.as_deref(),
            ..RiskOperation::new(RiskKind::PremiumPayment, &caller.account_id, FUND_CHANNEL)
        },
        requested_by: &caller.account_id,
        held: HeldOperation::PremiumPayment {
            policy_id: policy_id.to_string(),
            number,
        },
        on_step_up: OnStepUp::Ask,
    };
    let passed = gate::pass(&state, &gate, state.now_ms()).await?;
    if let Passage::StepUp(factor) = passed.passage {
        require_risk_step_up(&state, &headers, &caller, Operation::PremiumPayment, factor).await?;
    } else if number == 1 || premium.fen() > state.settings.payments.small_renewal_fen {
        require_step_up(&state, &headers, &caller, Operation::PremiumPayment).await?;
    }
    let outcome = premium::pay(
        &state,
        &caller.account_id,
        &policy_id,
        number,
        source,
        &caller.request_id,
    )
    .await?;
    if matches!(outcome, Outcome::Succeeded(_) | Outcome::Pending(_)) {
        passed.went_ahead(&state).await;
    }
    match outcome {
        Outcome::Succeeded(payment) => Ok((StatusCode::CREATED, Json(payment_view(&payment)))),
        Outcome::Pending(payment) => Ok((StatusCode::ACCEPTED, Json(payment_view(&payment)))),
        Outcome::Declined(payment) => {
            debug_assert_eq!(payment.status, OrderStatus::Failed);
            Err(ApiError::new(ErrorCode::PaymentDeclined).detail(format!(
                "payment {} failed: {}",
                payment.id,
                payment.failure_code.as_deref().unwrap_or("CHANNEL_FAILED")
            )))
        }
    }
}

/// Why the customer cancels (optional, for the insurer's statistics); cancellation takes effect
/// today (China time).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CancelRequest {
    reason: Option<CancelReason>,
}

/// Reasons a customer may give.
#[derive(Deserialize, JsonSchema, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum CancelReason {
    NoLongerNeeded,
    TooExpensive,
    CoveredElsewhere,
    Other,
}

impl CancelReason {
    fn name(self) -> &'static str {
        match self {
            CancelReason::NoLongerNeeded => "no_longer_needed",
            CancelReason::TooExpensive => "too_expensive",
            CancelReason::CoveredElsewhere => "covered_elsewhere",
            CancelReason::Other => "other",
        }
    }
}

/// The refunds the cancellation started.
#[derive(Serialize, JsonSchema)]
struct Cancelled {
    policy_id: String,
    status: &'static str,
    cancelled_on: String,
    refund_fen: i64,
    refunds: Vec<String>,
}

async fn cancel(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    source_of: RequestSource,
    Path(raw_id): Path<String>,
    ApiJson(request): ApiJson<CancelRequest>,
) -> Result<Json<Cancelled>, ApiError> {
    let policy_id = policy_id(&raw_id)?;
    tracing::info!(
        policy = %policy_id,
        reason = request.reason.map_or("not_given", CancelReason::name),
        "policy cancellation requested"
    );
    let now = state.now_ms();
    let operation = FundOperation::PolicyCancellation {
        account_id: &caller.account_id,
    };
    risk::check(&state, operation, now).await?;
    let gate = Gate {
        operation: RiskOperation {
            reference: Some(policy_id.as_str()),
            client_ip: Some(source_of.ip),
            app_id: source_of.app_id.as_deref(),
            ..RiskOperation::new(RiskKind::Cancellation, &caller.account_id, FUND_CHANNEL)
        },
        requested_by: &caller.account_id,
        held: HeldOperation::Cancellation {
            policy_id: policy_id.to_string(),
        },
        on_step_up: OnStepUp::Met,
    };
    // A cancellation is at the enhanced level: the route already took a fresh step-up.
    let passed = gate::pass(&state, &gate, now).await?;
    let cancelled_on = date_at_ms(now);
    let actor = format!("account:{}", caller.account_id);
    let refunds = state
        .store
        .policy_cancel(
            &state.keyring(),
            Cancellation {
                policy_id: &policy_id,
                holder: Some(&caller.account_id),
                cancelled_on,
                actor: &actor,
            },
            &caller.request_id,
            now,
        )
        .await?;
    passed.went_ahead(&state).await;
    Ok(Json(Cancelled {
        policy_id: policy_id.to_string(),
        status: "cancelled",
        cancelled_on: date_text(cancelled_on),
        refund_fen: refunds.iter().map(|refund| refund.amount.fen()).sum(),
        refunds: refunds.iter().map(|refund| refund.id.to_string()).collect(),
    }))
}

/// A saved card.
#[derive(Serialize, JsonSchema)]
struct MethodView {
    id: String,
    card: String,
}

/// The caller's saved cards.
#[derive(Serialize, JsonSchema)]
struct MethodList {
    payment_methods: Vec<MethodView>,
}

async fn methods(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> Result<Json<MethodList>, ApiError> {
    let methods = state.store.payment_methods(&caller.account_id).await?;
    Ok(Json(MethodList {
        payment_methods: methods
            .into_iter()
            .map(|(id, card)| MethodView { id, card })
            .collect(),
    }))
}
