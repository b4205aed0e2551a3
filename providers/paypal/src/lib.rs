//! PayPal Checkout (Orders v2) as a payment provider component.
//!
//! - OAuth: every API request carries the host-brokered `oauth-client-credentials` header
//!   (contract 1.1.0): the host posts `grant_type=client_credentials` with HTTP Basic client
//!   id + secret to `{api}/v1/oauth2/token`, keeps the access token until shortly before it
//!   expires, renews it once when PayPal answers 401, and never lets it (or the secret) into
//!   this sandbox. Enabling lists the app's webhooks (`GET /v1/notifications/webhooks`), which
//!   needs a token.
//! - Redirect: `POST {api}/v2/checkout/orders` (intent CAPTURE, our reference as `custom_id`,
//!   `invoice_id` and `PayPal-Request-Id`); the payer goes to the `payer-action` link.
//! - Return / sync / `CHECKOUT.ORDER.APPROVED`: `POST /v2/checkout/orders/{id}/capture` with
//!   the stable `PayPal-Request-Id` `capture-{order id}`; an order already captured is read
//!   back with `GET /v2/checkout/orders/{id}`. The capture id is kept as provider data. (A
//!   capture refused before the payer approved may be replayed by PayPal for that id: then
//!   one more attempt uses `capture-{order id}-approved`.)
//! - Refund: `POST /v2/payments/captures/{capture id}/refund`, `{}` for the whole capture,
//!   an `amount` for a part.
//! - Webhooks: verified by PayPal itself (`POST /v1/notifications/verify-webhook-signature`)
//!   with the `PAYPAL-*` headers and the configured webhook id; nothing a webhook names is
//!   ever fetched.
//!
//! Requests answered 5xx (or not answered at all) are retried once, with the same
//! `PayPal-Request-Id`, so PayPal never acts twice.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../wit/v1.1.0",
});

mod money;
mod wire;

use exports::integrations::provider::payment::{
    Guest, ParsedWebhook, PaymentAction, PaymentSession, PaymentUpdate, RefundResult, SessionOptions,
};
use integrations::provider::http::{self, Header, HeaderValue, Method, OauthClient, Request, Response};
use integrations::provider::log::{self, Level};
use integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, TransactionState, Verification, WebhookRequest,
};
use integrations::provider::{credentials, endpoints, mapper};
use serde_json::value::RawValue;

const CLIENT_ID: &str = "paypal_client_id";
const CLIENT_SECRET: &str = "paypal_client_secret";
const WEBHOOK_ID: &str = "paypal_webhook_id";

/// Mapper model: our reference ↔ the PayPal order created for it. Only orders found here
/// are captured on `CHECKOUT.ORDER.APPROVED` (the same PayPal app may serve other shops).
const ORDER_MODEL: &str = "paypal.order";

/// The `PAYPAL-*` headers a webhook must carry, in the verify API's field order.
const TRANSMISSION_HEADERS: [&str; 5] = [
    "paypal-auth-algo",
    "paypal-cert-url",
    "paypal-transmission-id",
    "paypal-transmission-sig",
    "paypal-transmission-time",
];

/// 422 issues that mean the payer's money did not come through (as opposed to a bad request).
const DECLINE_ISSUES: &[&str] = &[
    "INSTRUMENT_DECLINED",
    "TRANSACTION_REFUSED",
    "PAYER_CANNOT_PAY",
    "PAYEE_BLOCKED_TRANSACTION",
    "COMPLIANCE_VIOLATION",
    "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED",
    "REDIRECT_PAYER_FOR_ALTERNATE_FUNDING",
];

struct PayPal;

impl Guest for PayPal {
    fn validate_credentials() -> Result<(), ProviderError> {
        // Any authenticated call proves the client id and secret; listing the app's webhooks
        // changes nothing.
        let api = Api::open()?;
        let response = api.send(Method::Get, "/v1/notifications/webhooks", None, None)?;
        decode::<serde_json::Value>(&response).map(|_| ()).map_err(Into::into)
    }

    /// Its manifest declares no manual capture and no saved methods, so the host sends only
    /// the default options.
    fn create_session(
        transaction: Transaction,
        integration_type: IntegrationType,
        _options: SessionOptions,
    ) -> Result<PaymentSession, ProviderError> {
        if integration_type != IntegrationType::Redirect {
            return Err(error(ErrorKind::Unsupported, "PayPal payments use the Redirect integration type."));
        }
        let amount = &transaction.amount;
        let value = money::to_paypal(amount.amount_minor, &amount.currency).map_err(amount_error)?;
        let reference = transaction.reference.as_str();
        let order = wire::CreateOrder {
            intent: "CAPTURE",
            purchase_units: [wire::NewPurchaseUnit {
                custom_id: reference,
                invoice_id: reference,
                amount: wire::Amount { currency_code: &amount.currency, value },
            }],
            payment_source: wire::PaymentSource {
                paypal: wire::PayPalSource {
                    experience_context: wire::ExperienceContext {
                        return_url: &transaction.return_url,
                        cancel_url: &transaction.cancel_url,
                        user_action: "PAY_NOW",
                        shipping_preference: "NO_SHIPPING",
                    },
                },
            },
        };
        let api = Api::open()?;
        let response = api.send(Method::Post, "/v2/checkout/orders", Some(json_body(&order)?), Some(reference))?;
        let order: wire::Order = decode(&response)?;
        let link = wire::approval_link(&order).ok_or_else(|| {
            error(ErrorKind::GatewayError, "PayPal created the order but sent no approval link for the payer.")
        })?;
        mapper::put(ORDER_MODEL, reference, &order.id);
        log::log(Level::Info, &format!("PayPal order {} created for {reference}", order.id));
        Ok(PaymentSession {
            gateway_reference: Some(order.id.clone()),
            action: PaymentAction::Redirect(link.to_string()),
            provider_data: None,
        })
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let mut values = Vec::with_capacity(TRANSMISSION_HEADERS.len());
        for name in TRANSMISSION_HEADERS {
            match header(&request, name) {
                Some(value) if !value.trim().is_empty() => values.push(value.trim()),
                _ => return Ok(Verification::Rejected(format!("missing {name} header"))),
            }
        }
        let webhook_id = match credentials::get(WEBHOOK_ID) {
            Ok(Some(id)) if !id.trim().is_empty() => id.trim().to_string(),
            _ => return Ok(Verification::Rejected("no PayPal webhook ID is configured".into())),
        };
        let event = match serde_json::from_slice::<&RawValue>(&request.body) {
            Ok(event) if event.get().starts_with('{') => event,
            _ => return Ok(Verification::Rejected("the body is not a JSON object".into())),
        };
        let body = wire::VerifySignature {
            auth_algo: values[0],
            cert_url: values[1],
            transmission_id: values[2],
            transmission_sig: values[3],
            transmission_time: values[4],
            webhook_id: &webhook_id,
            webhook_event: event,
        };
        let api = Api::open()?;
        let response =
            api.send(Method::Post, "/v1/notifications/verify-webhook-signature", Some(json_body(&body)?), None)?;
        match response.status {
            200..=299 => {
                let answer: wire::VerifyAnswer = decode(&response)?;
                if answer.verification_status == "SUCCESS" {
                    Ok(Verification::Accepted)
                } else {
                    Ok(Verification::Rejected(format!("PayPal's verification answered {}", answer.verification_status)))
                }
            }
            // PayPal refused to check this transmission (malformed fields, unknown webhook
            // id): it is not verified. Credentials, rate limits and outages stay errors, so
            // the host answers 5xx and PayPal delivers again later.
            400 | 404 | 422 => Ok(Verification::Rejected(format!(
                "PayPal refused to verify: {}",
                status_error(response.status, &response.body).message
            ))),
            status => Err(status_error(status, &response.body)),
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let event: wire::WebhookEvent = serde_json::from_slice(&request.body)
            .map_err(|e| error(ErrorKind::InvalidRequest, &format!("unreadable PayPal event: {e}")))?;
        let kind = event.event_type.clone();
        let unreadable =
            |e: serde_json::Error| error(ErrorKind::InvalidRequest, &format!("unreadable {kind} resource: {e}"));
        let updates = match kind.as_str() {
            "PAYMENT.CAPTURE.COMPLETED"
            | "PAYMENT.CAPTURE.PENDING"
            | "PAYMENT.CAPTURE.DECLINED"
            | "PAYMENT.CAPTURE.DENIED" => {
                let capture: wire::Capture = serde_json::from_value(event.resource).map_err(unreadable)?;
                let mut update = wire::capture_update(&capture, None, Some(kind.clone()));
                if kind == "PAYMENT.CAPTURE.DENIED" {
                    update.state = Some(TransactionState::Failed);
                    update.error_message = Some("PayPal denied the payment.".into());
                }
                vec![update]
            }
            "PAYMENT.CAPTURE.REFUNDED" => {
                let refund: wire::Refund = serde_json::from_value(event.resource).map_err(unreadable)?;
                vec![wire::refund_update(&refund, &kind)]
            }
            "CHECKOUT.ORDER.APPROVED" => {
                let order: wire::Order = serde_json::from_value(event.resource).map_err(unreadable)?;
                approved_order(&order, &kind)?.into_iter().collect()
            }
            "CHECKOUT.PAYMENT-APPROVAL.REVERSED" => {
                let reversed: wire::ApprovalReversed = serde_json::from_value(event.resource).map_err(unreadable)?;
                let unit = reversed.purchase_units.first();
                vec![PaymentUpdate {
                    reference: unit.and_then(|u| u.custom_id.clone().or_else(|| u.invoice_id.clone())),
                    gateway_reference: reversed.order_id,
                    state: Some(TransactionState::Cancelled),
                    gateway_status: Some(kind.clone()),
                    error_message: Some("PayPal reversed the payer's approval.".into()),
                    refunded_minor: None,
                    provider_data: None,
                    captured_minor: None,
                    refunds: Vec::new(),
                    saved_payment_method: None,
                }]
            }
            // Other events change no state.
            _ => Vec::new(),
        };
        Ok(ParsedWebhook { event_type: kind, updates, response: None })
    }

    fn process_return(transaction: Transaction, params: Vec<(String, String)>) -> Result<PaymentUpdate, ProviderError> {
        let order_id = order_of(&transaction)?;
        // The return URL is unsigned: the order we created decides, never the query.
        if let Some((_, token)) = params.iter().find(|(name, _)| name == "token") {
            if token != &order_id {
                log::log(
                    Level::Warn,
                    &format!(
                        "return for {} names order {token:?}, not its order {order_id}; capturing {order_id}",
                        transaction.reference
                    ),
                );
            }
        }
        let api = Api::open()?;
        api.capture(&order_id)
    }

    fn refund(transaction: Transaction, amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
        if amount.currency != transaction.amount.currency {
            return Err(error(ErrorKind::InvalidRequest, "A refund must be in the payment's currency."));
        }
        let api = Api::open()?;
        let capture_id = match wire::capture_id_of(transaction.provider_data.as_deref()) {
            Some(id) => id,
            None => {
                let order = api.order(&order_of(&transaction)?)?;
                let capture =
                    order.purchase_units.first().and_then(|u| u.payments.captures.first()).ok_or_else(|| {
                        error(ErrorKind::InvalidRequest, "This PayPal order has no capture to refund.")
                    })?;
                capture.id.clone()
            }
        };
        let whole = transaction.refunded_minor == 0 && amount.amount_minor == transaction.amount.amount_minor;
        let body = if whole {
            b"{}".to_vec()
        } else {
            let value = money::to_paypal(amount.amount_minor, &amount.currency).map_err(amount_error)?;
            json_body(&wire::PartialRefund { amount: wire::Amount { currency_code: &amount.currency, value } })?
        };
        // The host's refund id: the same for a retry of this refund, new for the next one.
        let request_id = refund_id;
        let path = format!("/v2/payments/captures/{}/refund", wire::path_segment(&capture_id));
        let response = api.send(Method::Post, &path, Some(body), Some(&request_id))?;
        let refund: wire::Refund = decode(&response)?;
        match refund.status.as_str() {
            "COMPLETED" => Ok(RefundResult { refund_reference: refund.id, pending: false }),
            "PENDING" => Ok(RefundResult { refund_reference: refund.id, pending: true }),
            _ => Err(error(
                ErrorKind::Declined,
                &format!("PayPal did not refund: {}.", wire::refund_status_text(&refund)),
            )),
        }
    }

    fn sync(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        let api = Api::open()?;
        let order = api.order(&order_of(&transaction)?)?;
        if order.status == "APPROVED" && wire::order_update(&order).provider_data.is_none() {
            // The payer approved but the return (and the webhook) never reached us.
            return api.capture(&order.id);
        }
        Ok(wire::order_update(&order))
    }

    fn client_config() -> Result<String, ProviderError> {
        Err(error(ErrorKind::Unsupported, "PayPal payments use the Redirect integration type."))
    }

    fn capture(_transaction: Transaction, _amount: Money, _capture_id: String) -> Result<PaymentUpdate, ProviderError> {
        Err(error(ErrorKind::Unsupported, "This PayPal provider captures every order at once (intent CAPTURE)."))
    }

    fn void(_transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        Err(error(ErrorKind::Unsupported, "This PayPal provider captures every order at once: nothing to void."))
    }

    fn charge_saved(_transaction: Transaction, _payment_method: String) -> Result<PaymentUpdate, ProviderError> {
        Err(error(ErrorKind::Unsupported, "This PayPal provider does not save payment methods."))
    }

    fn delete_payment_method(_payment_method: String) -> Result<(), ProviderError> {
        Err(error(ErrorKind::Unsupported, "This PayPal provider does not save payment methods."))
    }
}

export!(PayPal);

/// `CHECKOUT.ORDER.APPROVED`: capture an order we created (if it is not captured yet).
fn approved_order(order: &wire::Order, kind: &str) -> Result<Option<PaymentUpdate>, ProviderError> {
    if mapper::get_local(ORDER_MODEL, &order.id).is_none() {
        log::log(Level::Info, &format!("{kind} for order {} not created by this integration; ignored", order.id));
        return Ok(None);
    }
    let update = wire::order_update(order);
    if update.provider_data.is_some() || order.status != "APPROVED" {
        return Ok(Some(update));
    }
    Api::open()?.capture(&order.id).map(Some)
}

/// The PayPal order of a transaction.
fn order_of(transaction: &Transaction) -> Result<String, ProviderError> {
    transaction
        .gateway_reference
        .clone()
        .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no PayPal order yet."))
}

/// A provider error carrying PayPal's status and issue, so callers can act on specific
/// answers (an order already captured, not yet approved, …).
struct ApiError {
    error: ProviderError,
    issue: Option<String>,
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
struct Api {
    base: String,
}

impl Api {
    /// Checks the credentials are present and finds the endpoint (Live or Sandbox by the
    /// integration's mode, or the operator's override).
    fn open() -> Result<Self, ProviderError> {
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
    fn send(
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

    fn order(&self, order_id: &str) -> Result<wire::Order, ApiError> {
        let path = format!("/v2/checkout/orders/{}", wire::path_segment(order_id));
        decode(&self.send(Method::Get, &path, None, None)?)
    }

    /// Captures an approved order and says what became of it. An order captured before (by
    /// an earlier return, webhook or sync) is read back instead.
    fn capture(&self, order_id: &str) -> Result<PaymentUpdate, ProviderError> {
        let request_id = format!("capture-{}", wire::path_segment(order_id));
        self.capture_with(order_id, &request_id, true)
    }

    fn capture_with(&self, order_id: &str, request_id: &str, may_retry: bool) -> Result<PaymentUpdate, ProviderError> {
        let path = format!("/v2/checkout/orders/{}/capture", wire::path_segment(order_id));
        let response = self.send(Method::Post, &path, Some(b"{}".to_vec()), Some(request_id))?;
        let failure = match decode::<wire::Order>(&response) {
            Ok(order) => return Ok(wire::order_update(&order)),
            Err(failure) => failure,
        };
        match failure.issue.as_deref() {
            Some("ORDER_ALREADY_CAPTURED") => Ok(wire::order_update(&self.order(order_id)?)),
            Some("ORDER_NOT_APPROVED") => {
                let order = self.order(order_id)?;
                if order.status == "APPROVED" && may_retry {
                    // PayPal answers a reused PayPal-Request-Id with the earlier outcome: this
                    // refusal dates from an attempt before the payer approved.
                    let retry_id = format!("{request_id}-approved");
                    return self.capture_with(order_id, &retry_id, false);
                }
                Ok(wire::order_update(&order))
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
fn send_retrying(request: &Request) -> Result<Response, ApiError> {
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
fn decode<T: serde::de::DeserializeOwned>(response: &Response) -> Result<T, ApiError> {
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

fn api_error(status: u16, body: &[u8]) -> ApiError {
    let parsed = wire::ErrorBody::parse(body);
    ApiError { error: status_error(status, body), issue: parsed.issue().map(str::to_string) }
}

fn status_error(status: u16, body: &[u8]) -> ProviderError {
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

fn transport_error(e: http::HttpError) -> ProviderError {
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

fn amount_error(e: money::AmountError) -> ProviderError {
    let kind = match e {
        money::AmountError::NotPositive => ErrorKind::InvalidRequest,
        _ => ErrorKind::Unsupported,
    };
    error(kind, &e.to_string())
}

fn json_body(value: &impl serde::Serialize) -> Result<Vec<u8>, ProviderError> {
    serde_json::to_vec(value).map_err(|e| error(ErrorKind::Internal, &e.to_string()))
}

fn text_header(name: &str, value: &str) -> Header {
    Header { name: name.into(), value: HeaderValue::Text(value.into()) }
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn error(kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError { kind, message: message.to_string(), retryable: false }
}
