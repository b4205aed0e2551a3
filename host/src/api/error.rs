//! Every error leaves as `{"error": {"code", "message"}}` with a fitting status. Server-side
//! failures are logged with their detail and answered without it.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::provider::ProviderError;
use crate::runtime::FailureKind;
use crate::secrets::SecretsError;
use crate::services::ServiceError;

#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// Extra fields of the `error` object: the transaction or message a failure left behind.
    pub context: Vec<(&'static str, serde_json::Value)>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into(), context: Vec::new() }
    }

    /// A webhook whose signature the provider rejected.
    pub fn invalid_signature() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_signature",
            "The webhook signature is missing or does not match; nothing was changed.",
        )
    }

    /// The database cannot take the request now (disk full, read-only, failing device).
    pub fn storage_unavailable() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "The host's database cannot store this request right now (full, read-only or failing); nothing was changed, try again shortly.",
        )
    }

    pub fn body(&self) -> serde_json::Value {
        let mut body = serde_json::json!({ "error": { "code": self.code, "message": self.message } });
        for (name, value) in &self.context {
            body["error"][*name] = value.clone();
        }
        body
    }
}

/// Seconds a refused caller is asked to wait before trying again.
const RETRY_AFTER_SECONDS: &str = "1";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = matches!(self.status, StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE);
        let mut response = (self.status, Json(self.body())).into_response();
        if retry {
            response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_SECONDS));
        }
        response
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::NotFound(message) => Self::new(StatusCode::NOT_FOUND, "not_found", message),
            ServiceError::Forbidden { code, message } => Self::new(StatusCode::FORBIDDEN, code, message),
            ServiceError::Invalid { code, message } => Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message),
            ServiceError::Conflict { code, message } => Self::new(StatusCode::CONFLICT, code, message),
            ServiceError::Gateway(error) => gateway_error(error),
            ServiceError::PaymentFailed { transaction_id, reference, error } => {
                let mut answer = gateway_error(error);
                answer.context = vec![("transaction_id", transaction_id.into()), ("reference", reference.into())];
                answer
            }
            ServiceError::MessageFailed { message_id, error } => {
                let mut answer = gateway_error(error);
                answer.context = vec![("message_id", message_id.into())];
                answer
            }
            ServiceError::RefundInDoubt { transaction_id, message } => {
                let mut answer = Self::new(
                    StatusCode::BAD_GATEWAY,
                    "refund_in_doubt",
                    format!(
                        "{} The refund may have been made: it stays reserved and the host asks the gateway again. Retry \
                         with the same Idempotency-Key to learn its outcome; do not send it as a new refund.",
                        message.trim_end()
                    ),
                );
                answer.context = vec![("transaction_id", transaction_id.into())];
                answer
            }
            ServiceError::OperationInDoubt { transaction_id, kind, message } => {
                let mut answer = Self::new(
                    StatusCode::BAD_GATEWAY,
                    if kind == "void" { "void_in_doubt" } else { "capture_in_doubt" },
                    format!(
                        "{} The {kind} may have been made: retry with the same Idempotency-Key to learn its outcome; \
                         the scheduled sync settles it otherwise.",
                        message.trim_end()
                    ),
                );
                answer.context = vec![("transaction_id", transaction_id.into())];
                answer
            }
            ServiceError::ProviderFailed(failure) if failure.kind == FailureKind::Overloaded => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                "Every provider sandbox is busy; try again shortly.",
            ),
            ServiceError::ProviderFailed(failure) if failure.kind == FailureKind::ModuleShare => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                format!(
                    "The module {} is using its whole share of the provider sandboxes; try again shortly.",
                    failure.module
                ),
            ),
            ServiceError::ProviderFailed(failure) if failure.kind == FailureKind::CompanyShare => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "Company {} is using its whole share of the provider sandboxes; try again shortly.",
                    failure.company_id
                ),
            ),
            ServiceError::ProviderFailed(failure)
                if matches!(failure.kind, FailureKind::OverCeiling | FailureKind::UnusableAnswer) =>
            {
                Self::new(
                    StatusCode::BAD_GATEWAY,
                    "provider_failed",
                    format!(
                        "The provider {} {} failed: {} ({}). The call was stopped; nothing it returned was kept.",
                        failure.module, failure.version, failure.kind, failure.detail
                    ),
                )
            }
            ServiceError::ProviderFailed(failure) => Self::new(
                StatusCode::BAD_GATEWAY,
                "provider_failed",
                format!(
                    "The provider {} {} failed: {}. The call was stopped; nothing changed.",
                    failure.module, failure.version, failure.kind
                ),
            ),
            ServiceError::Throttled(message) => Self::new(StatusCode::TOO_MANY_REQUESTS, "too_many_requests", message),
            ServiceError::TooLarge(message) => Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too_large", message),
            ServiceError::Unavailable(message) => {
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "module_not_installed", message)
            }
            ServiceError::Database(error) | ServiceError::Secrets(SecretsError::Database(error))
                if crate::services::is_storage_fault(&error) =>
            {
                tracing::error!(%error, "storage unavailable");
                Self::storage_unavailable()
            }
            ServiceError::Database(error) | ServiceError::Secrets(SecretsError::Database(error)) => {
                tracing::error!(%error, "database error");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "The host could not complete the request; it has been logged.",
                )
            }
            ServiceError::Secrets(error) => secrets_error(error),
        }
    }
}

/// A sealed value that does not open names the value (never its contents); a master key
/// rotated under a running host is 503 until it restarts with the new key file.
fn secrets_error(error: SecretsError) -> ApiError {
    tracing::error!(%error, "stored secret unusable");
    match error {
        SecretsError::Undecryptable(_) | SecretsError::NotSealed(_) => {
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "credential_unreadable", error.to_string())
        }
        SecretsError::MasterKeyRotated { .. } => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "master_key_rotated",
            "The master key was rotated while this host was running; restart it with the new key file. \
             Values stored before still work; nothing was changed.",
        ),
        _ => ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "data_key_unreadable",
            "A data key in the database cannot be unwrapped; it has been logged.",
        ),
    }
}

/// A gateway's refusal is 422 `gateway_refused`; a gateway that is down or answers nonsense is
/// 502 `gateway_error`. The message is the provider's, meant for people.
fn gateway_error(error: ProviderError) -> ApiError {
    if ServiceError::is_gateway_refusal(&error) {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "gateway_refused", error.message)
    } else {
        ApiError::new(StatusCode::BAD_GATEWAY, "gateway_error", error.message)
    }
}
