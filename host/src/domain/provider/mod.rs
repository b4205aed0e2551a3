//! What the host and a provider exchange, in the host's own types. Each contract version's
//! bindings (`runtime::bindings`) are converted to and from these at the runtime's boundary,
//! so services and the API never see a WIT type and a contract version is added in
//! `runtime/` alone. The WIT (`wit/`) documents each field; these mirror it.

pub mod messaging;
pub mod payment;

/// An amount in minor units and its ISO 4217 code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Money {
    pub amount_minor: i64,
    pub currency: String,
}

/// The payer, as the ERP described them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contact {
    pub id: Option<String>,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

/// How a provider call failed at the gateway (as opposed to the sandbox failing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    InvalidCredentials,
    InvalidRequest,
    Declined,
    GatewayUnavailable,
    GatewayError,
    Unsupported,
    NotFound,
    Internal,
}

impl ErrorKind {
    /// The WIT's name (`gateway-unavailable`), as counted in the metrics.
    pub fn label(self) -> &'static str {
        match self {
            Self::InvalidCredentials => "invalid-credentials",
            Self::InvalidRequest => "invalid-request",
            Self::Declined => "declined",
            Self::GatewayUnavailable => "gateway-unavailable",
            Self::GatewayError => "gateway-error",
            Self::Unsupported => "unsupported",
            Self::NotFound => "not-found",
            Self::Internal => "internal",
        }
    }

    /// The gateway refused the request itself (as opposed to being unreachable or failing).
    pub fn is_refusal(self) -> bool {
        matches!(
            self,
            Self::InvalidRequest | Self::Declined | Self::InvalidCredentials | Self::Unsupported | Self::NotFound
        )
    }
}

/// A provider's own error: its kind, a message for a person, and whether the same call may
/// succeed if made again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderError {
    pub kind: ErrorKind,
    pub message: String,
    pub retryable: bool,
}

/// One delivery to a public webhook URL, as the provider verifies and parses it.
#[derive(Debug, Clone)]
pub struct WebhookRequest {
    pub method: String,
    /// The full public URL it arrived at.
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// Arrival, in seconds since the Unix epoch.
    pub received_at: u64,
}

/// Whether a webhook's signature holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Accepted,
    /// The provider's reason, logged with the attempt.
    Rejected(String),
}

/// Which integration a call serves, as the provider may read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntegrationInfo {
    pub integration_id: i64,
    pub company_id: i64,
    pub test_mode: bool,
    pub webhook_url: String,
}

/// What the gateway is answered, when the provider chooses (TwiML, Adyen's `[accepted]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookResponse {
    pub content_type: String,
    pub body: String,
}
