//! ExamplePay: a template payment provider. Copy this crate to start your own.
//!
//! ExamplePay is made up; its API is the smallest a real gateway has:
//! - `POST {api}/payments` with `Authorization: Bearer <api key>` and JSON
//!   `{"amount": <minor units>, "currency", "reference", "return_url", "cancel_url"}` answers
//!   `{"id", "pay_url"}`;
//! - webhooks are JSON `{"payment_id", "status": "paid" | "failed" | "cancelled"}` with
//!   `X-Example-Signature: <hex HMAC-SHA256 of the body, keyed with the webhook secret>`.
//!
//! Replace the calls with your gateway's. The host gives you: outbound HTTP to the hosts your
//! manifest allows (`http::send`), secrets used by name and never seen (`HeaderValue::Bearer`,
//! `crypto::hmac`), your endpoints by name in Test or Live mode (`endpoints::base_url`), and
//! the transaction to work on. Everything your code returns is checked by the host; a panic
//! fails only the call it happened in.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../wit",
});

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use integrations::provider::http::{self, Header, HeaderValue, Method, Request};
use integrations::provider::types::{
    ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction,
    TransactionState, Verification, WebhookRequest,
};
use integrations::provider::{credentials, crypto, endpoints};
use serde::Deserialize;

const API_KEY: &str = "examplepay_api_key";
const WEBHOOK_SECRET: &str = "examplepay_webhook_secret";

struct ExamplePay;

impl Guest for ExamplePay {
    /// Runs when the merchant enables the integration: say what is missing, in their words.
    fn validate_credentials() -> Result<(), ProviderError> {
        if !credentials::is_set(API_KEY).unwrap_or(false) {
            return Err(refusal(ErrorKind::InvalidCredentials, "Please enter your ExamplePay API Key."));
        }
        Ok(())
    }

    fn create_session(transaction: Transaction, kind: IntegrationType) -> Result<Session, ProviderError> {
        if kind != IntegrationType::Redirect {
            return Err(refusal(ErrorKind::Unsupported, "ExamplePay only supports redirect payments."));
        }
        let base = endpoints::base_url("api").ok_or_else(|| refusal(ErrorKind::Internal, "No `api` endpoint."))?;
        let body = serde_json::json!({
            "amount": transaction.amount.amount_minor,
            "currency": transaction.amount.currency,
            "reference": transaction.reference,
            "return_url": transaction.return_url,
            "cancel_url": transaction.cancel_url,
        });
        let request = Request {
            method: Method::Post,
            url: format!("{base}/payments"),
            headers: vec![
                // The host puts the key in; this code never sees it.
                Header { name: "authorization".into(), value: HeaderValue::Bearer(API_KEY.into()) },
                Header { name: "content-type".into(), value: HeaderValue::Text("application/json".into()) },
                // Lets the gateway recognise a retry of the same payment.
                Header { name: "idempotency-key".into(), value: HeaderValue::Text(transaction.reference.clone()) },
            ],
            body: Some(body.to_string().into_bytes()),
        };
        let response = http::send(&request).map_err(|e| ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach ExamplePay: {e:?}"),
            retryable: true,
        })?;
        if response.status >= 400 {
            let kind = if response.status >= 500 { ErrorKind::GatewayUnavailable } else { ErrorKind::InvalidRequest };
            return Err(ProviderError {
                kind,
                message: format!("ExamplePay refused the payment (HTTP {}).", response.status),
                retryable: response.status >= 500,
            });
        }
        #[derive(Deserialize)]
        struct Created {
            id: String,
            pay_url: String,
        }
        let created: Created = serde_json::from_slice(&response.body)
            .map_err(|e| refusal(ErrorKind::GatewayError, &format!("ExamplePay answered something unexpected: {e}")))?;
        Ok(Session {
            gateway_reference: Some(created.id),
            action: SessionAction::Redirect(created.pay_url),
            provider_data: None,
        })
    }

    /// Never trust a webhook you have not verified: the host answers 401 when this rejects.
    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let Some((_, given)) = request.headers.iter().find(|(name, _)| name == "x-example-signature") else {
            return Ok(Verification::Rejected("no X-Example-Signature header".into()));
        };
        let Ok(expected) =
            crypto::hmac(crypto::HmacAlgorithm::Sha256, WEBHOOK_SECRET, &request.body, crypto::Encoding::Hex)
        else {
            return Ok(Verification::Rejected("no webhook secret is configured".into()));
        };
        if crypto::constant_time_equals(expected.as_bytes(), given.as_bytes()) {
            Ok(Verification::Accepted)
        } else {
            Ok(Verification::Rejected("signature mismatch".into()))
        }
    }

    /// Only called after `verify_webhook` accepted the request.
    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        #[derive(Deserialize)]
        struct Event {
            payment_id: String,
            status: String,
        }
        let event: Event = serde_json::from_slice(&request.body)
            .map_err(|e| refusal(ErrorKind::InvalidRequest, &format!("unreadable ExamplePay event: {e}")))?;
        let state = match event.status.as_str() {
            "paid" => Some(TransactionState::Captured),
            "failed" => Some(TransactionState::Failed),
            "cancelled" => Some(TransactionState::Cancelled),
            _ => None, // unknown events change nothing
        };
        let update = GatewayUpdate {
            reference: None,
            gateway_reference: Some(event.payment_id),
            state,
            gateway_status: Some(event.status.clone()),
            error_message: None,
            refunded_minor: None,
            provider_data: None,
        };
        Ok(ParsedWebhook { event_type: format!("payment.{}", event.status), updates: vec![update] })
    }

    /// The payer came back. The webhook is the source of truth; here we say "still pending"
    /// and let it arrive. A real provider asks the gateway (see `sync`).
    fn process_return(
        transaction: Transaction,
        _params: Vec<(String, String)>,
    ) -> Result<GatewayUpdate, ProviderError> {
        Ok(GatewayUpdate {
            reference: Some(transaction.reference),
            gateway_reference: transaction.gateway_reference,
            state: None,
            gateway_status: None,
            error_message: None,
            refunded_minor: None,
            provider_data: None,
        })
    }

    fn refund(_transaction: Transaction, _amount: Money, _refund_id: String) -> Result<RefundResult, ProviderError> {
        Err(refusal(ErrorKind::Unsupported, "Refunds are not implemented in the template yet."))
    }

    fn sync(_transaction: Transaction) -> Result<GatewayUpdate, ProviderError> {
        Err(refusal(ErrorKind::Unsupported, "Sync is not implemented in the template yet."))
    }

    fn client_config() -> Result<String, ProviderError> {
        Ok("{}".into())
    }
}

export!(ExamplePay);

fn refusal(kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError { kind, message: message.into(), retryable: false }
}
