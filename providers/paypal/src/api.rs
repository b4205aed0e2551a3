//! PayPal's REST API for the integration being served: the host-brokered OAuth header on
//! every request, `PayPal-Request-Id` for idempotency, one retry of a 5xx or a connection that
//! failed, order capture (intent CAPTURE), and PayPal's error bodies as provider errors.

use crate::exports::integrations::provider::payment::PaymentUpdate;
use crate::integrations::provider::http::{self, Header, HeaderValue, Method, OauthClient, Request, Response};
use crate::integrations::provider::types::{ErrorKind, ProviderError, TransactionState};
use crate::integrations::provider::{credentials, endpoints};
use crate::{error, text_header, updates, wire, CLIENT_ID, CLIENT_SECRET, DECLINE_ISSUES};

/// A provider error carrying PayPal's status and issue, so callers can act on specific
/// answers (an order already captured, not yet approved, …).
pub(crate) struct ApiError {
    pub(crate) error: ProviderError,
    pub(crate) issue: Option<String>,
}

impl From<ApiError> for ProviderError {
    fn from(e: ApiError) -> Self {
        e.error
    }
}

impl From<ProviderError> for ApiError {
    fn from(error: ProviderError) -> Self {
        Self { error, issue: None }
    }
}

/// PayPal's REST API for the integration being served.
pub(crate) struct Api {
    base: String,
}

impl Api {
    /// Checks the credentials are present and finds the endpoint (Live or Sandbox by the
    /// integration's mode, or the operator's override).
    pub(crate) fn open() -> Result<Self, ProviderError> {
        match credentials::get(CLIENT_ID) {
            Ok(Some(id)) if !id.trim().is_empty() => {}
            _ => return Err(error(ErrorKind::InvalidCredentials, "Please enter your PayPal Client ID.")),
        };
        if !credentials::is_set(CLIENT_SECRET).unwrap_or(false) {
            return Err(error(ErrorKind::InvalidCredentials, "Please enter your PayPal Client Secret."));
        }
        let base = endpoints::base_url("api")
            .ok_or_else(|| error(ErrorKind::Internal, "The manifest names no `api` endpoint."))?;
        Ok(Self { base })
    }

    /// `Authorization: Bearer <token>`, the token obtained by the host from PayPal's OAuth
    /// endpoint with the app's client id and secret.
    fn authorization(&self) -> Header {
        Header {
            name: "authorization".into(),
            value: HeaderValue::OauthClientCredentials(OauthClient {
                token_url: format!("{}/v1/oauth2/token", self.base),
                client_id: CLIENT_ID.into(),
                client_secret: CLIENT_SECRET.into(),
                scope: None,
            }),
        }
    }

    /// Sends an authenticated request (the host renews a token PayPal no longer accepts and
    /// repeats the request, with the same `PayPal-Request-Id`).
    pub(crate) fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        request_id: Option<&str>,
    ) -> Result<Response, ApiError> {
        let mut headers = vec![self.authorization(), text_header("accept", "application/json")];
        if path.starts_with("/v2/") {
            // The whole order, capture or refund, not just its id and links.
            headers.push(text_header("prefer", "return=representation"));
        }
        if body.is_some() {
            headers.push(text_header("content-type", "application/json"));
        }
        if let Some(id) = request_id {
            headers.push(text_header("paypal-request-id", id));
        }
        let request = Request { method, url: format!("{}{path}", self.base), headers, body };
        send_retrying(&request)
    }

    pub(crate) fn order(&self, order_id: &str) -> Result<wire::Order, ApiError> {
        let path = format!("/v2/checkout/orders/{}", wire::path_segment(order_id));
        decode(&self.send(Method::Get, &path, None, None)?)
    }

    /// Captures an approved order and says what became of it. An order captured before (by
    /// an earlier return, webhook or sync) is read back instead.
    pub(crate) fn capture(&self, order_id: &str) -> Result<PaymentUpdate, ProviderError> {
        let request_id = format!("capture-{}", wire::path_segment(order_id));
        self.capture_with(order_id, &request_id, true)
    }

    fn capture_with(&self, order_id: &str, request_id: &str, may_retry: bool) -> Result<PaymentUpdate, ProviderError> {
        let path = format!("/v2/checkout/orders/{}/capture", wire::path_segment(order_id));
        let response = self.send(Method::Post, &path, Some(b"{}".to_vec()), Some(request_id))?;
        let failure = match decode::<wire::Order>(&response) {
            Ok(order) => return Ok(updates::order_update(&order)),
            Err(failure) => failure,
        };
        match failure.issue.as_deref() {
            // An order of intent AUTHORIZE (manual capture) is authorized instead.
            Some("ACTION_DOES_NOT_MATCH_INTENT") => crate::authorizations::authorize(self, order_id),
            Some("ORDER_ALREADY_CAPTURED") => Ok(updates::order_update(&self.order(order_id)?)),
            Some("ORDER_NOT_APPROVED") => {
                let order = self.order(order_id)?;
                if order.status == "APPROVED" && may_retry {
                    // PayPal answers a reused PayPal-Request-Id with the earlier outcome: this
                    // refusal dates from an attempt before the payer approved.
                    let retry_id = format!("{request_id}-approved");
                    return self.capture_with(order_id, &retry_id, false);
                }
                Ok(updates::order_update(&order))
            }
            Some(issue) if DECLINE_ISSUES.contains(&issue) => Ok(PaymentUpdate {
                reference: None,
                gateway_reference: Some(order_id.to_string()),
                state: Some(TransactionState::Failed),
                gateway_status: Some(issue.to_string()),
                error_message: Some(failure.error.message),
                refunded_minor: None,
                provider_data: None,
                captured_minor: None,
                refunds: Vec::new(),
                saved_payment_method: None,
            }),
            _ => Err(failure.error),
        }
    }
}

/// Sends a request, once more when PayPal answered 5xx or could not be reached (never after
/// a timeout: the call's time is spent).
pub(crate) fn send_retrying(request: &Request) -> Result<Response, ApiError> {
    let mut retried = false;
    loop {
        match http::send(request) {
            Ok(response) if response.status >= 500 && !retried => {}
            Err(http::HttpError::ConnectionFailed(_)) if !retried => {}
            Ok(response) => return Ok(response),
            Err(e) => return Err(transport_error(e).into()),
        }
        retried = true;
    }
}

/// Decodes a 2xx JSON answer; anything else becomes an error with PayPal's own words.
pub(crate) fn decode<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, ApiError> {
    if !(200..300).contains(&response.status) {
        return Err(api_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|e| {
        ProviderError {
            kind: ErrorKind::GatewayError,
            message: format!("PayPal answered with an unexpected body: {e}"),
            retryable: false,
        }
        .into()
    })
}

pub(crate) fn api_error(status: u16, body: &[u8]) -> ApiError {
    let parsed = wire::ErrorBody::parse(body);
    ApiError { error: status_error(status, body), issue: parsed.issue().map(str::to_string) }
}

pub(crate) fn status_error(status: u16, body: &[u8]) -> ProviderError {
    let parsed = wire::ErrorBody::parse(body);
    let declined = parsed.issue().is_some_and(|issue| DECLINE_ISSUES.contains(&issue));
    let (kind, retryable, fallback) = match status {
        401 | 403 => (ErrorKind::InvalidCredentials, false, "PayPal refused the integration's credentials."),
        404 => (ErrorKind::NotFound, false, "PayPal does not know this payment."),
        422 if declined => (ErrorKind::Declined, false, "PayPal declined the payment."),
        429 => (ErrorKind::GatewayUnavailable, true, "PayPal is rate limiting; try again later."),
        400..=499 => (ErrorKind::InvalidRequest, false, "PayPal refused the request."),
        _ => (ErrorKind::GatewayUnavailable, true, "PayPal is unavailable; try again later."),
    };
    let message = match parsed.text() {
        Some(text) => format!("PayPal: {text}"),
        None => format!("{fallback} (HTTP {status})"),
    };
    ProviderError { kind, message, retryable }
}

pub(crate) fn transport_error(e: http::HttpError) -> ProviderError {
    use http::HttpError::*;
    match e {
        Timeout => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: "PayPal did not answer in time.".into(),
            retryable: true,
        },
        ConnectionFailed(why) => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach PayPal: {why}"),
            retryable: true,
        },
        UnknownCredential(_) => {
            error(ErrorKind::InvalidCredentials, "Please enter your PayPal Client ID and Client Secret.")
        }
        // "401 invalid_client: Client Authentication failed": PayPal's words after the code.
        AuthorizationFailed(why) => {
            let words = why.split_once(": ").map_or(why.as_str(), |(_, words)| words);
            error(ErrorKind::InvalidCredentials, &format!("PayPal refused the Client ID and Secret: {words}"))
        }
        ResponseTooLarge => error(ErrorKind::GatewayError, "PayPal's answer was too large."),
        other => error(ErrorKind::Internal, &format!("The host refused the request to PayPal: {other:?}")),
    }
}
