//! Request parsing that answers in the API's error format: bodies (raw, JSON, the module
//! upload's multipart), JSON fields (unknown fields are 400 naming the field), query strings
//! and path parameters. Handlers take these instead of axum's extractors, whose rejections
//! are plain text.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Path, Query, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, StatusCode};
use serde::de::DeserializeOwned;

use super::body_limit::BodyLimit;
use super::ApiError;

/// The raw request body, whatever its content type (webhooks, the payment page's form).
/// Over the route's limit: 413 `too_large`; unreadable (the client went away): 400.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = BodyLimit::of(&request);
        Bytes::from_request(request, state).await.map(Self).map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                limit.exceeded()
            } else {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "unreadable_body",
                    "The request body could not be read; send it again.",
                )
            }
        })
    }
}

/// The raw bytes of a JSON body, parsed later with [`parse_json`] (idempotency hashes the
/// bytes first). A body whose `Content-Type` says something other than JSON is 415
/// `unsupported_media_type`; no `Content-Type` at all is read as JSON.
pub struct JsonBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let declared = media_type(request.headers());
        let RawBody(body) = RawBody::from_request(request, state).await?;
        match declared {
            Some(media) if !body.is_empty() && !is_json(&media) => Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The body must be JSON, sent with `Content-Type: application/json`.",
            )),
            _ => Ok(Self(body)),
        }
    }
}

/// The `Content-Type`'s media type, lower case, without parameters.
fn media_type(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::CONTENT_TYPE)?.to_str().unwrap_or("?");
    Some(value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
}

fn is_json(media: &str) -> bool {
    media == "application/json" || (media.starts_with("application/") && media.ends_with("+json"))
}

/// The module upload: `multipart/form-data` with a boundary. Another content type is 415
/// `unsupported_media_type`; a multipart type without a boundary is 400 `invalid_upload`.
pub struct Upload(pub Multipart);

impl<S: Send + Sync> FromRequest<S> for Upload {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let multipart = media_type(request.headers()).is_some_and(|media| media == "multipart/form-data");
        Multipart::from_request(request, state).await.map(Self).map_err(|_| {
            if multipart {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "invalid_upload",
                    "The multipart/form-data upload has no valid boundary in its Content-Type.",
                )
            } else {
                ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "Send the module as multipart/form-data with a `manifest` part and a `component` part.",
                )
            }
        })
    }
}

/// As [`parse_json`], for a route whose body is optional: no body, or JSON `null` (the
/// document's nullable body), reads as `{}`.
pub fn parse_optional_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let body = body.trim_ascii();
    parse_json(if body.is_empty() || body == b"null" { b"{}" } else { body })
}

/// Parses a JSON body, classifying the failure: not JSON (400 `malformed_json`), an unknown
/// field (400 `unknown_field`), a missing or mistyped field (422), or JSON that is not an
/// object (422 `invalid_field`: every body of the API is one, and serde would read an array
/// as a struct's fields in order).
pub fn parse_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    let parsed = parse_any(body)?;
    match body.iter().find(|byte| !byte.is_ascii_whitespace()) {
        Some(b'{') => Ok(parsed),
        _ => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_field",
            "The body must be a JSON object with the route's fields.",
        )),
    }
}

fn parse_any<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        // serde's text ("unknown field `x`, expected …") made a sentence.
        let message = format!("{e}.");
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
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "invalid_query", format!("{}.", e.body_text())))
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

/// A path parameter that is text (a module identifier), refused with 400 `invalid_path`.
pub struct ApiPath<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Path::<T>::from_request_parts(parts, state).await.map(|Path(value)| Self(value)).map_err(|_| {
            ApiError::new(StatusCode::BAD_REQUEST, "invalid_path", "The path is not valid: it must be UTF-8 text.")
        })
    }
}
