//! Every error leaves as `{"error": {"code", "message"}}` with a fitting status. Server-side
//! failures are logged with their detail and answered without it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::runtime::FailureKind;
use crate::services::ServiceError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    pub fn body(&self) -> serde_json::Value {
        serde_json::json!({ "error": { "code": self.code, "message": self.message } })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(message) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            ServiceError::Forbidden { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            ServiceError::Invalid { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            ServiceError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            ServiceError::Gateway(error) if ServiceError::is_gateway_refusal(&error) => {
                Self::new(StatusCode::UNPROCESSABLE_ENTITY, "gateway_refused", error.message)
            }
            ServiceError::Gateway(error) => Self::new(StatusCode::BAD_GATEWAY, "gateway_error", error.message),
            ServiceError::ProviderFailed(failure) if failure.kind == FailureKind::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Every provider sandbox is busy; try again shortly.",
            ),
            ServiceError::ProviderFailed(failure) => Self::new(
                StatusCode::BAD_GATEWAY,
                "provider_failed",
                format!(
                    "The provider {} {} failed: {}. The call was stopped; nothing changed.",
                    failure.module, failure.version, failure.kind
                ),
            ),
            ServiceError::Unavailable(message) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "module_not_installed", message)
            }
            ServiceError::Database(error) => {
                tracing::error!(%error, "database error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "The host could not complete the request; it has been logged.",
                )
            }
        }
    }
}
