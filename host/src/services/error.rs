//! What a flow can fail with; the API layer turns each into a status and a JSON error.

use crate::domain::provider::ProviderError;
use crate::runtime::ProviderFailure;
use crate::secrets::SecretsError;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// 404: the thing does not exist or the caller may not see it.
    #[error("{0}")]
    NotFound(String),
    /// 403
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// 422: the request is well-formed but breaks a rule.
    #[error("{message}")]
    Invalid { code: &'static str, message: String },
    /// 409: the request conflicts with the current state.
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    /// The provider answered with an error (the gateway refused or is down).
    #[error("{}", .0.message)]
    Gateway(ProviderError),
    /// The gateway refused or failed to start a payment; the transaction is kept as Failed
    /// with the gateway's message.
    #[error("{}", .error.message)]
    PaymentFailed { transaction_id: i64, reference: String, error: ProviderError },
    /// The gateway refused a message; it is kept as Failed with the gateway's message.
    #[error("{}", .error.message)]
    MessageFailed { message_id: i64, error: ProviderError },
    /// 502: the refund's outcome is unknown (no usable answer after it may have reached the
    /// gateway). It stays reserved and is repeated with the same refund id.
    #[error("{message}")]
    RefundInDoubt { transaction_id: i64, message: String },
    /// 502: a capture's or void's outcome is unknown; it stays open and a retry with the same
    /// Idempotency-Key (or the scheduled sync) settles it.
    #[error("{message}")]
    OperationInDoubt { transaction_id: i64, kind: &'static str, message: String },
    /// The provider itself failed: trap, timeout, out of memory, no slot.
    #[error(transparent)]
    ProviderFailed(#[from] ProviderFailure),
    /// 429: the caller is over a bound on calls in progress; try again shortly.
    #[error("{0}")]
    Throttled(String),
    /// 413: an upload over the host's limit.
    #[error("{0}")]
    TooLarge(String),
    /// 503: the integration's module is not loaded.
    #[error("{0}")]
    Unavailable(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A sealed value or data key could not be used (`secrets/`).
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

impl ServiceError {
    pub fn invalid(code: &'static str, message: impl Into<String>) -> Self {
        Self::Invalid { code, message: message.into() }
    }

    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        Self::Conflict { code, message: message.into() }
    }

    pub fn forbidden_company(company_id: i64) -> Self {
        Self::Forbidden {
            code: "forbidden_company",
            message: format!("This API key cannot act for company {company_id}."),
        }
    }

    /// True when the gateway refused the request itself (as opposed to being unreachable).
    pub fn is_gateway_refusal(error: &ProviderError) -> bool {
        error.kind.is_refusal()
    }

    pub fn is_overload(&self) -> bool {
        matches!(self, Self::ProviderFailed(f) if f.kind.is_refusal())
    }
}
