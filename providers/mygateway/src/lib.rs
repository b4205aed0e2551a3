//! MyGateway, the seed's example gateway, as a payment provider component.
//!
//! Wire format (API.md §4): sessions at `POST {api}/v1/sessions`, status at
//! `GET {api}/v1/sessions/{id}`, refunds at `POST {api}/v1/refunds` and listed by
//! `GET {api}/v1/refunds?payment_id=`, all with `Authorization: Bearer <secret key>`
//! (injected by the host: the key never enters this sandbox). Both POSTs carry an
//! `Idempotency-Key` (our reference for a session, the host's refund id for a refund), so a
//! repeat within MyGateway's 24 h answers the first answer and creates nothing twice. `sync`
//! of a completed session also reports the refunds MyGateway holds for it, which is how the
//! host learns that a refund whose answer was lost never arrived. Webhooks carry `X-MyGateway-Signature`, the lower-case hex HMAC-SHA256 of the raw
//! body keyed with the webhook secret, computed by the host's `crypto` import.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../wit",
});

mod wire;

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use integrations::provider::http::{self, Header, HeaderValue, Method, Request};
use integrations::provider::types::{
    ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction,
    TransactionState, Verification, WebhookRequest,
};
use integrations::provider::{credentials, crypto, endpoints};

const API_KEY: &str = "mygateway_api_key";
const SECRET_KEY: &str = "mygateway_secret_key";
const WEBHOOK_SECRET: &str = "mygateway_webhook_secret";
const SIGNATURE_HEADER: &str = "x-mygateway-signature";

struct MyGateway;

impl Guest for MyGateway {
    fn validate_credentials() -> Result<(), ProviderError> {
        if !is_set(API_KEY) {
            return Err(error(ErrorKind::InvalidCredentials, "Please enter your MyGateway API Key."));
        }
        if !is_set(SECRET_KEY) {
            return Err(error(ErrorKind::InvalidCredentials, "Please enter your MyGateway Secret Key."));
        }
        Ok(())
    }

    fn create_session(transaction: Transaction, integration_type: IntegrationType) -> Result<Session, ProviderError> {
        if integration_type == IntegrationType::QrCode {
            return Err(error(ErrorKind::Unsupported, "MyGateway does not offer QR code payments."));
        }
        let request = wire::CreateSession {
            amount: transaction.amount.amount_minor,
            currency: &transaction.amount.currency,
            reference: &transaction.reference,
            success_url: &transaction.return_url,
            cancel_url: &transaction.cancel_url,
        };
        let created: wire::SessionCreated =
            call_api(Method::Post, "/v1/sessions", Some(&request), Some(&transaction.reference))?;
        let action = match integration_type {
            IntegrationType::EmbeddedJs => {
                let api_key = plain_credential(API_KEY)?;
                SessionAction::EmbeddedJs(wire::client_config(&api_key, Some(&created.id)))
            }
            _ => SessionAction::Redirect(created.checkout_url),
        };
        Ok(Session { gateway_reference: Some(created.id), action, provider_data: None })
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let Some(signature) = header(&request, SIGNATURE_HEADER) else {
            return Ok(Verification::Rejected("missing X-MyGateway-Signature header".into()));
        };
        // One host call: the HMAC says when the secret is missing.
        let expected =
            match crypto::hmac(crypto::HmacAlgorithm::Sha256, WEBHOOK_SECRET, &request.body, crypto::Encoding::Hex) {
                Ok(expected) => expected,
                Err(crypto::CryptoError::NotSet(_)) => {
                    return Ok(Verification::Rejected("no webhook secret is configured".into()))
                }
                Err(e) => return Err(error(ErrorKind::Internal, &format!("cannot compute the signature: {e:?}"))),
            };
        let given = signature.trim().to_ascii_lowercase();
        if crypto::constant_time_equals(expected.as_bytes(), given.as_bytes()) {
            Ok(Verification::Accepted)
        } else {
            Ok(Verification::Rejected("X-MyGateway-Signature does not match the body".into()))
        }
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let event = wire::WebhookEvent::parse(&request.body)
            .map_err(|e| error(ErrorKind::InvalidRequest, &format!("unreadable MyGateway event: {e}")))?;
        let update = GatewayUpdate {
            reference: None,
            gateway_reference: Some(event.data.payment_id.clone()),
            state: event.state(),
            gateway_status: Some(event.kind.clone()),
            error_message: event.data.error_message.clone(),
            refunded_minor: None,
            provider_data: None,
        };
        Ok(ParsedWebhook { event_type: event.kind, updates: vec![update] })
    }

    fn process_return(
        transaction: Transaction,
        _params: Vec<(String, String)>,
    ) -> Result<GatewayUpdate, ProviderError> {
        // The return URL carries nothing signed: the session's status at MyGateway decides.
        Self::sync(transaction)
    }

    fn refund(transaction: Transaction, amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
        let payment_id = transaction
            .gateway_reference
            .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no MyGateway session to refund."))?;
        let request = wire::CreateRefund { payment_id: &payment_id, amount: amount.amount_minor };
        // The host's refund id: the same for every attempt of this refund, new for the next.
        let refund: wire::RefundCreated = call_api(Method::Post, "/v1/refunds", Some(&request), Some(&refund_id))?;
        Ok(RefundResult { refund_reference: refund.id, pending: false })
    }

    fn sync(transaction: Transaction) -> Result<GatewayUpdate, ProviderError> {
        let session_id = transaction
            .gateway_reference
            .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no MyGateway session yet."))?;
        let path = format!("/v1/sessions/{}", wire::path_segment(&session_id));
        let session: wire::SessionStatus = call_api(Method::Get, &path, None::<&()>, None)?;
        // Only a paid session can have refunds; a lookup that fails leaves the total unsaid.
        let refunded_minor = match session.state() {
            TransactionState::Captured => refunded_total(&session.id).ok(),
            _ => None,
        };
        Ok(GatewayUpdate {
            reference: None,
            state: Some(session.state()),
            gateway_reference: Some(session.id),
            gateway_status: Some(session.status),
            error_message: None,
            refunded_minor,
            provider_data: None,
        })
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok(wire::client_config(&plain_credential(API_KEY)?, None))
    }
}

export!(MyGateway);

/// Minor units MyGateway holds as refunded (or being refunded) for a session.
fn refunded_total(session_id: &str) -> Result<i64, ProviderError> {
    let path = format!("/v1/refunds?payment_id={}", wire::path_segment(session_id));
    let list: wire::RefundList = call_api(Method::Get, &path, None::<&()>, None)?;
    Ok(list.total_minor())
}

/// Calls MyGateway's API and decodes a 2xx JSON answer; anything else becomes a provider
/// error carrying MyGateway's own message.
fn call_api<T: serde::de::DeserializeOwned>(
    method: Method,
    path: &str,
    body: Option<&impl serde::Serialize>,
    idempotency_key: Option<&str>,
) -> Result<T, ProviderError> {
    let base = endpoints::base_url("api")
        .ok_or_else(|| error(ErrorKind::Internal, "The manifest names no `api` endpoint."))?;
    let mut headers = vec![Header { name: "authorization".into(), value: HeaderValue::Bearer(SECRET_KEY.into()) }];
    if let Some(key) = idempotency_key {
        headers.push(Header { name: "idempotency-key".into(), value: HeaderValue::Text(key.into()) });
    }
    let body = match body {
        Some(body) => {
            headers.push(Header { name: "content-type".into(), value: HeaderValue::Text("application/json".into()) });
            Some(serde_json::to_vec(body).map_err(|e| error(ErrorKind::Internal, &e.to_string()))?)
        }
        None => None,
    };
    let response =
        http::send(&Request { method, url: format!("{base}{path}"), headers, body }).map_err(transport_error)?;
    if !(200..300).contains(&response.status) {
        return Err(status_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|e| ProviderError {
        kind: ErrorKind::GatewayError,
        message: format!("MyGateway answered with an unexpected body: {e}"),
        retryable: false,
    })
}

fn status_error(status: u16, body: &[u8]) -> ProviderError {
    let message = wire::error_message(body);
    let (kind, retryable, fallback) = match status {
        401 | 403 => (ErrorKind::InvalidCredentials, false, "MyGateway refused the API credentials."),
        404 => (ErrorKind::NotFound, false, "MyGateway does not know this payment."),
        // The same Idempotency-Key is still being processed: no answer yet, not a refusal.
        409 => (ErrorKind::GatewayUnavailable, true, "MyGateway is still processing this request; try again shortly."),
        429 => (ErrorKind::GatewayUnavailable, true, "MyGateway is rate limiting; try again shortly."),
        402 => (ErrorKind::Declined, false, "MyGateway declined the request."),
        400..=499 => (ErrorKind::InvalidRequest, false, "MyGateway refused the request."),
        _ => (ErrorKind::GatewayUnavailable, true, "MyGateway is unavailable; try again later."),
    };
    let message = match message {
        Some(text) => format!("MyGateway: {text}"),
        None => format!("{fallback} (HTTP {status})"),
    };
    ProviderError { kind, message, retryable }
}

fn transport_error(e: http::HttpError) -> ProviderError {
    use http::HttpError::*;
    match e {
        Timeout => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: "MyGateway did not answer in time.".into(),
            retryable: true,
        },
        ConnectionFailed(why) => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach MyGateway: {why}"),
            retryable: true,
        },
        other => error(ErrorKind::Internal, &format!("The host refused the request to MyGateway: {other:?}")),
    }
}

fn is_set(name: &str) -> bool {
    credentials::is_set(name).unwrap_or(false)
}

fn plain_credential(name: &str) -> Result<String, ProviderError> {
    match credentials::get(name) {
        Ok(Some(value)) => Ok(value),
        _ => Err(error(ErrorKind::InvalidCredentials, "Please enter your MyGateway API Key.")),
    }
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn error(kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError { kind, message: message.to_string(), retryable: false }
}
