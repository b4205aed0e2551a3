//! What a provider asks the `http` capability to send and what it gets back, in the host's
//! own types: every contract version's `http` import is converted to these at the boundary
//! (`runtime::http_imports`), so the capability serves all versions with one implementation.

/// The methods the contract offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Self::Get => reqwest::Method::GET,
            Self::Post => reqwest::Method::POST,
            Self::Put => reqwest::Method::PUT,
            Self::Patch => reqwest::Method::PATCH,
            Self::Delete => reqwest::Method::DELETE,
        }
    }
}

/// One outbound request, as the provider described it (credentials by name).
#[derive(Debug, Clone)]
pub struct OutboundRequest {
    pub method: Method,
    pub url: String,
    pub headers: Vec<OutboundHeader>,
    pub body: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct OutboundHeader {
    pub name: String,
    pub value: HeaderSource,
}

/// Where a header's value comes from: the provider's text, or something only the host holds.
#[derive(Debug, Clone)]
pub enum HeaderSource {
    Text(String),
    /// `Bearer <credential>`.
    Bearer(String),
    /// `Basic base64(<user credential>:<password credential>)`.
    Basic(String, String),
    /// The credential's raw value.
    Secret(String),
    /// `Bearer <access token>` the host obtains for the client (contract 1.1.0).
    OAuthClientCredentials(OAuthClient),
}

/// An OAuth 2.0 client-credentials client: the token endpoint and credential names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OAuthClient {
    pub token_url: String,
    /// Credential names, never values.
    pub client_id: String,
    pub client_secret: String,
    pub scope: Option<String>,
}

/// What the gateway answered; names are lower case.
#[derive(Debug, Clone)]
pub struct OutboundResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a request was not answered. Messages are shown to the provider and logged: they name
/// hosts, headers and credentials, never values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OutboundError {
    /// The URL is not on the module's allowlist.
    Denied(String),
    /// The name is allowed but resolves only to addresses that are not public (answered to
    /// the provider as `denied`).
    NonPublicAddress(String),
    InvalidRequest(String),
    UnknownCredential(String),
    TooManyRequests,
    ResponseTooLarge,
    Timeout,
    ConnectionFailed(String),
    /// The token endpoint refused the client or answered no usable token (1.1.0 only: no
    /// 1.0.0 request can ask for a token).
    AuthorizationFailed(String),
}

impl OutboundError {
    /// Why a request was refused before it was sent, as a metric label; None when it was
    /// sent (or meant to be) and failed on the way.
    pub fn denial_reason(&self) -> Option<&'static str> {
        match self {
            Self::Denied(_) => Some("not_allowed"),
            Self::NonPublicAddress(_) => Some("non_public_address"),
            Self::InvalidRequest(_) => Some("invalid_request"),
            Self::UnknownCredential(_) => Some("unknown_credential"),
            Self::TooManyRequests => Some("budget_exhausted"),
            Self::ResponseTooLarge | Self::Timeout | Self::ConnectionFailed(_) | Self::AuthorizationFailed(_) => None,
        }
    }

    /// A failed sent request's status-class label.
    pub fn failure_class(&self) -> &'static str {
        match self {
            Self::Timeout => "timeout",
            Self::ResponseTooLarge => "too_large",
            _ => "failed",
        }
    }
}
