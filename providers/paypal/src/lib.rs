//! PayPal Checkout (Orders v2) as a payment provider component.
//!
//! - OAuth: every API request carries the host-brokered `oauth-client-credentials` header
//!   (contract 1.1.0): the host posts `grant_type=client_credentials` with HTTP Basic client
//!   id + secret to `{api}/v1/oauth2/token`, keeps the access token until shortly before it
//!   expires, renews it once when PayPal answers 401, and never lets it (or the secret) into
//!   this sandbox. Enabling lists the app's webhooks (`GET /v1/notifications/webhooks`), which
//!   needs a token.
//! - Redirect: `POST {api}/v2/checkout/orders` (intent CAPTURE, or AUTHORIZE when the ERP
//!   captures later; our reference as `custom_id`, `invoice_id` and `PayPal-Request-Id`); the
//!   payer goes to the `payer-action` link.
//! - Manual capture (contract 1.1): the approved order is authorized, then its authorization
//!   captured (in part too) or voided (see [`authorizations`]).
//! - Saved methods (contract 1.1): the payer's account vaulted on success, then charged with
//!   its vault token (see [`vault`]).
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

mod api;
mod authorizations;
mod events;
mod money;
mod updates;
mod vault;
mod wire;

use api::{decode, Api};

use exports::integrations::provider::payment::{
    CaptureMode, Guest, ParsedWebhook, PaymentAction, PaymentSession, PaymentUpdate, RefundResult, SessionOptions,
};
use integrations::provider::http::{Header, HeaderValue, Method};
use integrations::provider::log::{self, Level};
use integrations::provider::mapper;
use integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, Verification, WebhookRequest,
};

const CLIENT_ID: &str = "paypal_client_id";
const CLIENT_SECRET: &str = "paypal_client_secret";
const WEBHOOK_ID: &str = "paypal_webhook_id";

/// Mapper model: our reference ↔ the PayPal order created for it. Only orders found here
/// are captured on `CHECKOUT.ORDER.APPROVED` (the same PayPal app may serve other shops).
const ORDER_MODEL: &str = "paypal.order";

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

    /// Manual capture is an order of intent AUTHORIZE; saving the method asks PayPal to
    /// vault the payer's account once the order completes.
    fn create_session(
        transaction: Transaction,
        integration_type: IntegrationType,
        options: SessionOptions,
    ) -> Result<PaymentSession, ProviderError> {
        if integration_type != IntegrationType::Redirect {
            return Err(error(ErrorKind::Unsupported, "PayPal payments use the Redirect integration type."));
        }
        let amount = &transaction.amount;
        let value = money::to_paypal(amount.amount_minor, &amount.currency).map_err(amount_error)?;
        let reference = transaction.reference.as_str();
        let order = wire::CreateOrder {
            intent: if options.capture == CaptureMode::Manual { "AUTHORIZE" } else { "CAPTURE" },
            purchase_units: [wire::NewPurchaseUnit {
                custom_id: reference,
                invoice_id: reference,
                amount: wire::Amount { currency_code: &amount.currency, value },
            }],
            payment_source: wire::PaymentSource {
                paypal: wire::PayPalSource::Payer {
                    experience_context: wire::ExperienceContext {
                        return_url: &transaction.return_url,
                        cancel_url: &transaction.cancel_url,
                        user_action: "PAY_NOW",
                        shipping_preference: "NO_SHIPPING",
                    },
                    attributes: options.save_payment_method.then(wire::Attributes::vault_on_success),
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
        events::verify(request)
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        events::parse(request)
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
        let capture_id = match updates::capture_id_of(transaction.provider_data.as_deref()) {
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
                &format!("PayPal did not refund: {}.", updates::refund_status_text(&refund)),
            )),
        }
    }

    fn sync(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        let api = Api::open()?;
        let order = api.order(&order_of(&transaction)?)?;
        if order.status == "APPROVED" && updates::order_update(&order).provider_data.is_none() {
            // The payer approved but the return (and the webhook) never reached us.
            return match order.intent.as_deref() {
                Some("AUTHORIZE") => authorizations::authorize(&api, &order.id),
                _ => api.capture(&order.id),
            };
        }
        Ok(updates::order_update(&order))
    }

    fn client_config() -> Result<String, ProviderError> {
        Err(error(ErrorKind::Unsupported, "PayPal payments use the Redirect integration type."))
    }

    fn capture(transaction: Transaction, amount: Money, capture_id: String) -> Result<PaymentUpdate, ProviderError> {
        authorizations::capture(&transaction, &amount, &capture_id)
    }

    fn void(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        authorizations::void(&transaction)
    }

    fn charge_saved(transaction: Transaction, payment_method: String) -> Result<PaymentUpdate, ProviderError> {
        vault::charge(&transaction, &payment_method)
    }

    fn delete_payment_method(payment_method: String) -> Result<(), ProviderError> {
        vault::delete(&payment_method)
    }
}

export!(PayPal);

/// `CHECKOUT.ORDER.APPROVED`: capture an order we created (if it is not captured yet).
fn approved_order(order: &wire::Order, kind: &str) -> Result<Option<PaymentUpdate>, ProviderError> {
    if mapper::get_local(ORDER_MODEL, &order.id).is_none() {
        log::log(Level::Info, &format!("{kind} for order {} not created by this integration; ignored", order.id));
        return Ok(None);
    }
    let update = updates::order_update(order);
    if update.provider_data.is_some() || order.status != "APPROVED" {
        return Ok(Some(update));
    }
    let api = Api::open()?;
    match order.intent.as_deref() {
        Some("AUTHORIZE") => authorizations::authorize(&api, &order.id).map(Some),
        _ => api.capture(&order.id).map(Some),
    }
}

/// The PayPal order of a transaction.
fn order_of(transaction: &Transaction) -> Result<String, ProviderError> {
    transaction
        .gateway_reference
        .clone()
        .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no PayPal order yet."))
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
