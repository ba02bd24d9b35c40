//! `GET /v1/captcha`: a server-drawn CAPTCHA image (clause 5.2.1.1-e). The answer is kept
//! only as a keyed MAC in the store; the response holds the id and the PNG, never the answer.
//! A CAPTCHA is asked for after a failed sign-in and before every SMS send; it is never an
//! authentication factor by itself (clause 5.2.1.1-f).

use crate::auth::{Need, RouteSpec};
use crate::error::{ApiError, ErrorCode};
use crate::routes::OperationClass;
use crate::routes::support::base64;
use crate::state::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use schemars::{JsonSchema, SchemaGenerator};
use serde::Serialize;

/// Route declarations.
pub const SPECS: &[RouteSpec] = &[RouteSpec {
    method: "GET",
    path: "/v1/captcha",
    class: OperationClass::InformationQuery,
    need: Need::Public,
    permission: None,
    summary: "Draws a CAPTCHA image; the answer is kept only as a keyed MAC.",
    body: None,
    response: Some(SchemaGenerator::subschema_for::<CaptchaResponse>),
    success: &[200],
}];

/// The route.
pub fn router() -> Router<AppState> {
    Router::new().route("/v1/captcha", get(issue))
}

/// A CAPTCHA to solve.
#[derive(Serialize, JsonSchema)]
#[schemars(rename = "Captcha")]
struct CaptchaResponse {
    /// The id to send back with the answer.
    id: String,
    /// The PNG image, base64.
    image_png_base64: String,
    /// Image width, pixels.
    width: u32,
    /// Image height, pixels.
    height: u32,
    /// Validity, seconds.
    expires_in_s: i64,
}

async fn issue(State(state): State<AppState>) -> Result<Json<CaptchaResponse>, ApiError> {
    let captcha = inspay_identity::captcha::generate()
        .map_err(|error| ApiError::new(ErrorCode::Internal).cause(error))?;
    let id = state
        .store
        .captcha_issue(&state.keyring(), &captcha.answer, state.now_ms())
        .await?;
    Ok(Json(CaptchaResponse {
        id,
        image_png_base64: base64(&captcha.png),
        width: inspay_identity::captcha::IMAGE_WIDTH_PX,
        height: inspay_identity::captcha::IMAGE_HEIGHT_PX,
        expires_in_s: inspay_identity::captcha::CAPTCHA_TTL_S,
    }))
}
