//! Stripe as a payment provider component.
//!
//! - **Redirect** is Stripe Checkout: `POST {api}/v1/checkout/sessions` (`mode=payment`, one
//!   line item with inline `price_data`, `client_reference_id` and `metadata[reference]` set to
//!   our reference); the payer goes to the session's `url`; the gateway reference is the
//!   session id (`cs_…`).
//! - **Embedded JS** is a PaymentIntent: `POST {api}/v1/payment_intents` (`amount`,
//!   `currency`, `metadata[reference]`); the payment page gets `{publishable_key,
//!   client_secret, js_url}` for Stripe.js; the gateway reference is the intent id (`pi_…`).
//! - Requests are form-encoded, authenticated with `Authorization: Bearer <secret key>`
//!   (injected by the host: the key never enters this sandbox), pinned to one API version,
//!   and every POST carries an `Idempotency-Key` derived from our reference, so a retry can
//!   never create a second session, intent or refund.
//! - Webhooks carry `Stripe-Signature: t=…,v1=…`: the HMAC-SHA256 (computed by the host,
//!   keyed with the webhook signing secret) of `"{t}.{raw body}"`; any matching `v1` counts,
//!   `v0` never does, and `t` must be at most 300 s older than the request's arrival.
//! - The return and `sync` read the session (or the intent); webhooks stay the source of
//!   truth.
//! - Contract 1.1: manual capture (`capture_method=manual`, then capture, partial too, or
//!   cancel), saved payment methods for off-session charges (`setup_future_usage`), and
//!   refunds Stripe completes later, tracked through `refund.updated` (see [`payments`]).
//! - A transaction whose ERP contact has an id is paid by that contact's Stripe customer
//!   (`customer` on the session or intent), created once and kept in the mapper (see
//!   [`customers`]).
//! - Amounts are converted between ISO 4217 minor units and Stripe's units (see
//!   [`amounts`]).
//!
//! **Limitation of the enable check.** The secret key and the webhook secret are secret
//! credentials: this provider can use them but never read them. `validate-credentials`
//! therefore checks the publishable key's shape (`pk_test_…`/`pk_live_…`) and that it matches
//! the integration's Test/Live mode, and only that the secret key is set. A secret key of the
//! wrong mode (or a publishable key pasted into the secret field) shows up at the first call:
//! Stripe refuses it with 401, and that message reaches the merchant as the failed payment's
//! error.

wit_bindgen::generate!({
    world: "payment-provider",
    path: "../../wit/v1.1.0",
});

mod amounts;
mod api;
mod checkout;
mod customers;
mod events;
mod form;
mod payments;
mod signature;
mod wire;

use exports::integrations::provider::payment::{
    Guest, ParsedWebhook, PaymentSession, PaymentUpdate, RefundResult, SessionOptions,
};
use integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, Verification, WebhookRequest,
};
use integrations::provider::{context, credentials};

pub(crate) use api::call_api;

const PUBLISHABLE_KEY: &str = "stripe_publishable_key";
const SECRET_KEY: &str = "stripe_secret_key";
const WEBHOOK_SECRET: &str = "stripe_webhook_secret";
const SIGNATURE_HEADER: &str = "stripe-signature";
/// Stripe's own default tolerance for webhook timestamps.
const TOLERANCE_SECONDS: u64 = 300;
/// The API version every request is pinned to, so the shapes read here never change under us.
const API_VERSION: &str = "2024-06-20";
/// Mapper model: our reference ↔ the PaymentIntent that paid it (for `charge.refunded`).
const PAYMENT_INTENT_MODEL: &str = "stripe_payment_intent";

struct Stripe;

impl Guest for Stripe {
    fn validate_credentials() -> Result<(), ProviderError> {
        checkout::publishable_key(context::integration().test_mode)?;
        if !is_set(SECRET_KEY) {
            return Err(credentials_error("Please enter your Stripe Secret Key."));
        }
        Ok(())
    }

    fn create_session(
        transaction: Transaction,
        integration_type: IntegrationType,
        options: SessionOptions,
    ) -> Result<PaymentSession, ProviderError> {
        checkout::create_session(transaction, integration_type, options)
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        events::verify(request)
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        events::parse(request)
    }

    fn process_return(
        transaction: Transaction,
        _params: Vec<(String, String)>,
    ) -> Result<PaymentUpdate, ProviderError> {
        // The return URL's query is the payer's browser talking (anyone can type
        // `redirect_status=succeeded`): only Stripe's own record decides.
        payments::sync(transaction)
    }

    fn refund(transaction: Transaction, amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
        payments::refund(transaction, amount, refund_id)
    }

    fn sync(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        payments::sync(transaction)
    }

    fn client_config() -> Result<String, ProviderError> {
        let publishable = checkout::publishable_key(context::integration().test_mode)?;
        Ok(wire::client_config(&publishable, None))
    }

    fn capture(transaction: Transaction, amount: Money, capture_id: String) -> Result<PaymentUpdate, ProviderError> {
        payments::capture(transaction, amount, capture_id)
    }

    fn void(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
        payments::void(transaction)
    }

    fn charge_saved(transaction: Transaction, payment_method: String) -> Result<PaymentUpdate, ProviderError> {
        payments::charge_saved(transaction, payment_method)
    }

    fn delete_payment_method(payment_method: String) -> Result<(), ProviderError> {
        payments::delete_payment_method(payment_method)
    }
}

export!(Stripe);

fn unreadable(e: serde_json::Error) -> ProviderError {
    error(ErrorKind::InvalidRequest, &format!("unreadable Stripe event: {e}"))
}

fn is_set(name: &str) -> bool {
    credentials::is_set(name).unwrap_or(false)
}

fn header<'a>(request: &'a WebhookRequest, name: &str) -> Option<&'a str> {
    request.headers.iter().find(|(key, _)| key == name).map(|(_, value)| value.as_str())
}

fn credentials_error(message: &str) -> ProviderError {
    error(ErrorKind::InvalidCredentials, message)
}

fn error(kind: ErrorKind, message: &str) -> ProviderError {
    ProviderError { kind, message: message.to_string(), retryable: false }
}
