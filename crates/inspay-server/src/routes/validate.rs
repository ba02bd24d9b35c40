//! `POST /v1/validate`: checks the format of personal fields before a client submits a form,
//! and answers with each field's verdict and masked form. Nothing is stored. The answer
//! never holds more than the masked form (clause 5.6.4.1), and a refusal names the field and
//! what is wrong with it, never its value (clause 5.6.1-c).

use crate::error::{ApiError, ErrorCode};
use crate::extract::ApiJson;
use crate::routes::OperationClass;
use crate::state::AppState;
use axum::Json;
use axum::Router;
use axum::routing::post;
use inspay_core::sensitive::{
    CardNumber, IdNumber, LegalName, Masked, MobileNumber, PersonalField,
};
use schemars::{JsonSchema, SchemaGenerator};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Class: information collection (it receives personal data, though it keeps none).
pub const CLASS: OperationClass = OperationClass::InformationCollection;

/// Route declaration.
pub const SPECS: &[crate::auth::RouteSpec] = &[crate::auth::RouteSpec {
    method: "POST",
    path: "/v1/validate",
    class: CLASS,
    need: crate::auth::Need::Public,
    permission: None,
    summary: "Checks the format of personal fields and answers with each one's masked form; stores nothing.",
    body: Some(SchemaGenerator::subschema_for::<ValidateRequest>),
    response: Some(SchemaGenerator::subschema_for::<ValidateResponse>),
    success: &[200],
}];

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/validate", post(validate))
}

/// Raw input as it arrives: zeroised strings, parsed into domain types below and dropped.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(description = "Personal fields to check, any of them.")]
struct ValidateRequest {
    #[schemars(with = "Option<String>")]
    card_number: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    mobile: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    id_number: Option<Zeroizing<String>>,
    #[schemars(with = "Option<String>")]
    legal_name: Option<Zeroizing<String>>,
}

/// The masked form of each field sent.
#[derive(Serialize, Default, JsonSchema)]
struct ValidateResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    card_number: Option<Masked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    mobile: Option<Masked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    id_number: Option<Masked>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<String>")]
    legal_name: Option<Masked>,
}

fn check<F: PersonalField>(
    name: &str,
    raw: Option<&Zeroizing<String>>,
) -> Result<Option<Masked>, ApiError> {
    raw.map(|raw| {
        F::parse(raw).map(|field| field.masked()).map_err(|error| {
            ApiError::new(ErrorCode::InvalidField).detail(format!("{name}: {error}"))
        })
    })
    .transpose()
}

async fn validate(
    ApiJson(request): ApiJson<ValidateRequest>,
) -> Result<Json<ValidateResponse>, ApiError> {
    Ok(Json(ValidateResponse {
        card_number: check::<CardNumber>("card_number", request.card_number.as_ref())?,
        mobile: check::<MobileNumber>("mobile", request.mobile.as_ref())?,
        id_number: check::<IdNumber>("id_number", request.id_number.as_ref())?,
        legal_name: check::<LegalName>("legal_name", request.legal_name.as_ref())?,
    }))
}
