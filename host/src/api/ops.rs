//! Operations routes, and the answers for requests no route takes.

use axum::http::{Method, StatusCode};
use axum::Json;

use super::ApiError;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

pub async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "No such route.")
}

/// A route that exists, asked with a method it does not take (axum adds `Allow`).
pub async fn method_not_allowed(method: Method) -> ApiError {
    super::json_errors::method_not_allowed(&method)
}
