//! Staff access to customers (clauses 5.3.2.1, 5.6.1-d, 5.6.4.2, 5.2.2.2-c2): the route needs
//! the permission, and the data scope decides whose data — an agent reaches only the customers
//! assigned to them. Fields are masked; full display needs a fresh step-up and the
//! `customer.read-full` permission in scope, and every request for it is audited, refused or
//! not.

use crate::auth::{Caller, Need, Operation, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::routes::support::{FullDisplayRequest, FullValues};
use crate::state::AppState;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use inspay_core::sensitive::{Masked, PersonalField};
use inspay_identity::authorization::{FieldView, Permission};
use inspay_store::authorization::Target;
use inspay_store::persons::Person;
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[
    RouteSpec {
        method: "GET",
        path: "/v1/customers/{account_id}",
        class: OperationClass::InformationQuery,
        need: Need::Full,
        permission: Some(Permission::CustomerRead),
        summary: "A customer in the caller's data scope, personal fields masked.",
        body: None,
        response: Some(SchemaGenerator::subschema_for::<Customer>),
        success: &[200],
    },
    RouteSpec {
        method: "POST",
        path: "/v1/customers/{account_id}/full-display",
        class: OperationClass::InformationQuery,
        need: Need::Enhanced(Operation::FullDisplay),
        permission: Some(Permission::CustomerRead),
        summary: "Shows a customer's fields in full after a fresh step-up, with the customer.read-full permission; audited.",
        body: Some(SchemaGenerator::subschema_for::<FullDisplayRequest>),
        response: Some(SchemaGenerator::subschema_for::<FullValues>),
        success: &[200],
    },
];

/// The routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/customers/{account_id}", get(customer))
        .route(
            "/v1/customers/{account_id}/full-display",
            post(full_display),
        )
}

/// A customer; personal fields are masked.
#[derive(Serialize, JsonSchema)]
struct Customer {
    account_id: String,
    status: String,
    #[schemars(with = "String")]
    legal_name: Masked,
    #[schemars(with = "String")]
    mobile: Masked,
    #[schemars(with = "String")]
    id_number: Masked,
}

/// The customer's person, if the caller may read it. Out of scope and unknown are the same
/// refusal, so a stranger learns nothing about which accounts exist.
async fn in_scope(
    state: &AppState,
    caller: &Caller,
    customer: &str,
) -> Result<(String, Person), ApiError> {
    let refused = || ApiError::new(ErrorCode::PermissionDenied);
    if uuid::Uuid::parse_str(customer).is_err()
        || !state
            .store
            .may_access(
                &caller.account_id,
                Permission::CustomerRead,
                &Target::Customer(customer),
            )
            .await?
    {
        return Err(refused());
    }
    let account = state
        .store
        .account_summary(customer)
        .await
        .map_err(|_| refused())?;
    let person_id = account.person_id.ok_or_else(refused)?;
    let person = state.store.person_get(&state.keyring(), &person_id).await?;
    Ok((account.status, person))
}

async fn customer(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
) -> Result<Json<Customer>, ApiError> {
    let (status, person) = in_scope(&state, &caller, &account_id).await?;
    Ok(Json(Customer {
        account_id,
        status,
        legal_name: person.legal_name.masked(),
        mobile: person.mobile.masked(),
        id_number: person.id_number.masked(),
    }))
}

async fn full_display(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(account_id): Path<String>,
    ApiJson(request): ApiJson<FullDisplayRequest>,
) -> Result<Json<FullValues>, ApiError> {
    let (_, person) = in_scope(&state, &caller, &account_id).await?;
    let now = state.now_ms();
    let mut shown = FullValues::default();
    for kind in request.kinds()? {
        // The step-up proof was consumed for this request: the re-authentication is now.
        let view = state
            .store
            .full_display(
                &caller.account_id,
                &account_id,
                kind,
                Some(now),
                &caller.request_id,
                now,
            )
            .await?;
        if view != FieldView::Full {
            return Err(ApiError::new(ErrorCode::PermissionDenied).detail(format!(
                "{}: your roles do not allow showing it in full",
                kind.name()
            )));
        }
        shown.show(kind, &person);
    }
    Ok(Json(shown))
}
