//! Request extractors whose rejections are catalogue errors. Parser messages are not passed
//! on, since serde's messages can quote the input (a card number in the wrong field would be
//! echoed back); the client gets the code and, where it is safe, the field path.

use crate::error::{ApiError, ErrorCode};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;

/// JSON body extractor with catalogue errors.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .is_some_and(|media| {
                let media = media.trim();
                media.eq_ignore_ascii_case("application/json")
                    || (media.starts_with("application/") && media.ends_with("+json"))
            });
        if !json {
            return Err(ApiError::new(ErrorCode::UnsupportedMediaType));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::new(ErrorCode::BodyTooLarge))?;
        // A NUL character has no place in any field and is refused by PostgreSQL's text type:
        // refuse it here, for every operation, as bad input.
        if bytes.windows(6).any(|window| window == b"\\u0000") {
            return Err(ApiError::new(ErrorCode::MalformedJson)
                .detail("NUL characters (\\u0000) are not accepted in any field"));
        }
        match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_rejection(&rejection)),
        }
    }
}

#[track_caller]
fn json_rejection(rejection: &JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::new(ErrorCode::UnsupportedMediaType),
        JsonRejection::BytesRejection(_) => ApiError::new(ErrorCode::BodyTooLarge),
        JsonRejection::JsonSyntaxError(_) => {
            ApiError::new(ErrorCode::MalformedJson).detail("the body is not well-formed JSON")
        }
        JsonRejection::JsonDataError(_) => ApiError::new(ErrorCode::MalformedJson)
            .detail("the body does not have the fields and types this operation takes"),
        _ => ApiError::new(ErrorCode::MalformedRequest),
    }
}
