//! Request parsing that answers in the API's error format: JSON bodies (unknown fields are
//! 400 naming the field), query strings and path parameters.

use axum::extract::{FromRequestParts, Path, Query};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Parses a JSON body, classifying the failure: not JSON (400 `malformed_json`), an unknown
/// field (400 `unknown_field`), or a missing or mistyped field (422).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        let message = e.to_string();
        match e.classify() {
            Category::Syntax | Category::Eof | Category::Io => ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("The body is not valid JSON: {message}"),
            ),
            Category::Data if message.starts_with("unknown field") => {
                ApiError::new(StatusCode::BAD_REQUEST, "unknown_field", message)
            }
            Category::Data if message.starts_with("missing field") => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_field", message)
            }
            Category::Data => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_field", message),
        }
    })
}

/// A query string, refused with 400 `invalid_query` naming what is wrong.
pub struct ApiQuery<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(value)| Self(value))
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", e.body_text()))
    }
}

/// A numeric id from the path, refused with 400 `invalid_id`.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<String>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|Path(text)| text.parse().ok())
            .map(Self)
            .ok_or_else(|| {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_id", "The id in the path must be an integer.")
            })
    }
}
