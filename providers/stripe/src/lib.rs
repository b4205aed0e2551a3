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
    path: "../../wit",
});

mod amounts;
mod customers;
mod form;
mod signature;
mod wire;

use exports::integrations::provider::payment::{Guest, ParsedWebhook, RefundResult};
use form::Form;
use integrations::provider::http::{self, Header, HeaderValue, Method, Request, Response};
use integrations::provider::types::{
    ErrorKind, GatewayUpdate, IntegrationType, Money, ProviderError, Session, SessionAction, Transaction,
    TransactionState, Verification, WebhookRequest,
};
use integrations::provider::{context, credentials, crypto, endpoints, mapper};

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
        publishable_key(context::integration().test_mode)?;
        if !is_set(SECRET_KEY) {
            return Err(credentials_error("Please enter your Stripe Secret Key."));
        }
        Ok(())
    }

    fn create_session(transaction: Transaction, integration_type: IntegrationType) -> Result<Session, ProviderError> {
        let publishable = publishable_key(transaction.test_mode)?;
        let amount = amounts::to_stripe(transaction.amount.amount_minor, &transaction.amount.currency)
            .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
        let currency = transaction.amount.currency.to_ascii_lowercase();
        let reference = &transaction.reference;
        let contact = customers::ErpContact::of(&transaction);
        match integration_type {
            IntegrationType::Redirect => {
                // With `customer` set Checkout takes the payer's email from the customer;
                // `customer_email` is never sent beside it (Stripe refuses both at once).
                let form = |customer: Option<&str>| {
                    let form = Form::new()
                        .set("mode", "payment")
                        .set("line_items[0][price_data][currency]", &currency)
                        .set("line_items[0][price_data][unit_amount]", amount)
                        .set("line_items[0][price_data][product_data][name]", product_name(&transaction))
                        .set("line_items[0][quantity]", 1)
                        .set("success_url", &transaction.return_url)
                        .set("cancel_url", &transaction.cancel_url)
                        .set("client_reference_id", reference)
                        .set("metadata[reference]", reference);
                    match customer {
                        Some(customer) => form.set("customer", customer),
                        None => form,
                    }
                };
                let session: wire::CheckoutSession =
                    create_for_contact("/v1/checkout/sessions", form, reference, contact.as_ref())?;
                let url = session.url.clone().ok_or_else(|| {
                    error(ErrorKind::GatewayError, "Stripe created a Checkout Session without a URL.")
                })?;
                Ok(Session {
                    gateway_reference: Some(session.id),
                    action: SessionAction::Redirect(url),
                    provider_data: None,
                })
            }
            IntegrationType::EmbeddedJs => {
                let form = |customer: Option<&str>| {
                    let form = Form::new()
                        .set("amount", amount)
                        .set("currency", &currency)
                        .set("metadata[reference]", reference);
                    match customer {
                        Some(customer) => form.set("customer", customer),
                        None => form,
                    }
                };
                let intent: wire::PaymentIntent =
                    create_for_contact("/v1/payment_intents", form, reference, contact.as_ref())?;
                let client_secret = intent.client_secret.as_deref().ok_or_else(|| {
                    error(ErrorKind::GatewayError, "Stripe created a PaymentIntent without a client secret.")
                })?;
                mapper::put(PAYMENT_INTENT_MODEL, reference, &intent.id);
                Ok(Session {
                    gateway_reference: Some(intent.id.clone()),
                    action: SessionAction::EmbeddedJs(wire::client_config(&publishable, Some(client_secret))),
                    provider_data: None,
                })
            }
            IntegrationType::QrCode => Err(error(
                ErrorKind::Unsupported,
                "Stripe is offered as Redirect (Checkout) or Embedded JS, not as a QR code.",
            )),
        }
    }

    fn verify_webhook(request: WebhookRequest) -> Result<Verification, ProviderError> {
        let Some(header) = header(&request, SIGNATURE_HEADER) else {
            return Ok(Verification::Rejected("missing Stripe-Signature header".into()));
        };
        let signature = match signature::parse(header) {
            Ok(signature) => signature,
            Err(why) => return Ok(Verification::Rejected(format!("malformed Stripe-Signature header: {why}"))),
        };
        if !is_set(WEBHOOK_SECRET) {
            return Ok(Verification::Rejected("no webhook signing secret is configured".into()));
        }
        let mut payload = format!("{}.", signature.timestamp_text).into_bytes();
        payload.extend_from_slice(&request.body);
        let expected = crypto::hmac(crypto::HmacAlgorithm::Sha256, WEBHOOK_SECRET, &payload, crypto::Encoding::Hex)
            .map_err(|e| error(ErrorKind::Internal, &format!("cannot compute the signature: {e:?}")))?;
        // Compare with every v1 value (no early exit), accept if any matches.
        let matched = signature.v1.iter().fold(false, |matched, given| {
            crypto::constant_time_equals(expected.as_bytes(), given.as_bytes()) | matched
        });
        if !matched {
            return Ok(Verification::Rejected("no v1 signature in Stripe-Signature matches the body".into()));
        }
        if request.received_at.saturating_sub(signature.timestamp) > TOLERANCE_SECONDS {
            return Ok(Verification::Rejected(format!(
                "the Stripe-Signature timestamp is more than {TOLERANCE_SECONDS} s older than the request"
            )));
        }
        Ok(Verification::Accepted)
    }

    fn parse_webhook(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
        let event: wire::Event = serde_json::from_slice(&request.body).map_err(unreadable)?;
        let updates = match event.kind.as_str() {
            "checkout.session.completed"
            | "checkout.session.async_payment_succeeded"
            | "checkout.session.async_payment_failed"
            | "checkout.session.expired" => {
                let session: wire::CheckoutSession = serde_json::from_value(event.data.object).map_err(unreadable)?;
                let state = match event.kind.as_str() {
                    "checkout.session.completed" if session.is_paid() => TransactionState::Captured,
                    "checkout.session.completed" => TransactionState::Pending,
                    "checkout.session.async_payment_succeeded" => TransactionState::Captured,
                    "checkout.session.async_payment_failed" => TransactionState::Failed,
                    _ => TransactionState::Cancelled,
                };
                let reference = session.reference();
                let payment_intent = session.payment_intent();
                remember_payment_intent(reference.as_deref(), payment_intent.as_deref());
                let error_message = (state == TransactionState::Failed)
                    .then(|| "The payment method was declined or the payment did not complete.".to_string());
                vec![GatewayUpdate {
                    reference,
                    gateway_reference: Some(session.id),
                    state: Some(state),
                    gateway_status: Some(event.kind.clone()),
                    error_message,
                    refunded_minor: None,
                    provider_data: wire::ProviderData::with_payment_intent(payment_intent),
                }]
            }
            "payment_intent.succeeded"
            | "payment_intent.payment_failed"
            | "payment_intent.canceled"
            | "payment_intent.amount_capturable_updated" => {
                let intent: wire::PaymentIntent = serde_json::from_value(event.data.object).map_err(unreadable)?;
                let state = match event.kind.as_str() {
                    "payment_intent.succeeded" => TransactionState::Captured,
                    // The attempt failed, not the payment: the intent is back at
                    // `requires_payment_method` and the payer may try another card.
                    "payment_intent.payment_failed" => TransactionState::Pending,
                    "payment_intent.canceled" => TransactionState::Cancelled,
                    _ => TransactionState::Authorized,
                };
                let error_message = match event.kind.as_str() {
                    "payment_intent.payment_failed" => intent.error_message(),
                    _ => None,
                };
                vec![GatewayUpdate {
                    reference: intent.reference(),
                    gateway_reference: Some(intent.id),
                    state: Some(state),
                    gateway_status: Some(event.kind.clone()),
                    error_message,
                    refunded_minor: None,
                    provider_data: None,
                }]
            }
            "charge.refunded" => {
                let charge: wire::Charge = serde_json::from_value(event.data.object).map_err(unreadable)?;
                match charge.payment_intent() {
                    // A charge made without a PaymentIntent is none of ours.
                    None => Vec::new(),
                    Some(payment_intent) => {
                        let reference = charge
                            .metadata
                            .as_ref()
                            .and_then(|m| m.reference.clone())
                            .or_else(|| mapper::get_local(PAYMENT_INTENT_MODEL, &payment_intent));
                        vec![GatewayUpdate {
                            reference,
                            gateway_reference: Some(payment_intent),
                            state: None,
                            gateway_status: Some(event.kind.clone()),
                            error_message: None,
                            refunded_minor: Some(amounts::from_stripe(charge.amount_refunded, &charge.currency)),
                            provider_data: None,
                        }]
                    }
                }
            }
            // Stripe sends many other events; they change nothing here.
            _ => Vec::new(),
        };
        Ok(ParsedWebhook { event_type: event.kind, updates })
    }

    fn process_return(
        transaction: Transaction,
        _params: Vec<(String, String)>,
    ) -> Result<GatewayUpdate, ProviderError> {
        // The return URL's query is the payer's browser talking (anyone can type
        // `redirect_status=succeeded`): only Stripe's own record decides.
        Self::sync(transaction)
    }

    fn refund(transaction: Transaction, amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
        let payment_intent = payment_intent_of(&transaction)?;
        let stripe_amount = amounts::to_stripe(amount.amount_minor, &amount.currency)
            .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
        // Stable for a retry of this very refund, different for the next one: what was already
        // refunded changes once this one succeeds.
        // The host's refund id: the same for a retry of this refund, new for the next one.
        let key = refund_id;
        let form = Form::new().set("payment_intent", &payment_intent).set("amount", stripe_amount);
        let refund: wire::Refund = call_api(Method::Post, "/v1/refunds", Some(form), Some(&key))?;
        match refund.status.as_deref() {
            Some("failed" | "canceled") => Err(error(
                ErrorKind::Declined,
                &format!(
                    "Stripe could not refund the payment ({}).",
                    refund.failure_reason.as_deref().unwrap_or("no reason given")
                ),
            )),
            status => Ok(RefundResult {
                refund_reference: refund.id,
                pending: matches!(status, Some("pending" | "requires_action")),
            }),
        }
    }

    fn sync(transaction: Transaction) -> Result<GatewayUpdate, ProviderError> {
        let id = transaction
            .gateway_reference
            .clone()
            .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no Stripe object yet."))?;
        if transaction.integration_type == IntegrationType::EmbeddedJs {
            let intent: wire::PaymentIntent = call_api(Method::Get, &object_path("payment_intents", &id)?, None, None)?;
            return Ok(GatewayUpdate {
                reference: None,
                state: Some(intent.state()),
                gateway_status: Some(intent.status.clone()),
                error_message: intent.error_message(),
                gateway_reference: Some(intent.id),
                refunded_minor: None,
                provider_data: None,
            });
        }
        let session = read_session(&id)?;
        let payment_intent = session.payment_intent();
        remember_payment_intent(Some(&transaction.reference), payment_intent.as_deref());
        Ok(GatewayUpdate {
            reference: None,
            state: Some(session.state()),
            gateway_status: Some(session.gateway_status()),
            error_message: None,
            gateway_reference: Some(session.id),
            refunded_minor: None,
            provider_data: wire::ProviderData::with_payment_intent(payment_intent),
        })
    }

    fn client_config() -> Result<String, ProviderError> {
        let publishable = publishable_key(context::integration().test_mode)?;
        Ok(wire::client_config(&publishable, None))
    }
}

export!(Stripe);

/// The publishable key, checked for shape and for the integration's mode.
fn publishable_key(test_mode: bool) -> Result<String, ProviderError> {
    let key = match credentials::get(PUBLISHABLE_KEY) {
        Ok(Some(key)) if !key.trim().is_empty() => key.trim().to_string(),
        _ => return Err(credentials_error("Please enter your Stripe Publishable Key.")),
    };
    if ["sk_", "rk_", "whsec_"].iter().any(|prefix| key.starts_with(prefix)) {
        return Err(credentials_error(
            "The Stripe Publishable Key field holds a secret key. Paste the key that starts with pk_test_ or pk_live_, \
             and roll the exposed secret key in your Stripe Dashboard.",
        ));
    }
    let shaped = |prefix: &str| {
        key.strip_prefix(prefix)
            .is_some_and(|rest| !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_'))
    };
    let live = if shaped("pk_live_") {
        true
    } else if shaped("pk_test_") {
        false
    } else {
        return Err(credentials_error(
            "The Stripe Publishable Key must start with pk_test_ or pk_live_ (Stripe Dashboard → Developers → API keys).",
        ));
    };
    match (test_mode, live) {
        (true, true) => Err(credentials_error(
            "This integration is in Test mode but the Stripe Publishable Key is a live key (pk_live_…). \
             Enter your test keys (pk_test_…, sk_test_…) or switch the integration to Live.",
        )),
        (false, false) => Err(credentials_error(
            "This integration is in Live mode but the Stripe Publishable Key is a test key (pk_test_…). \
             Enter your live keys (pk_live_…, sk_live_…) or switch the integration to Test.",
        )),
        _ => Ok(key),
    }
}

/// What the payer sees on Checkout's line item.
fn product_name(transaction: &Transaction) -> String {
    match (&transaction.document_model, transaction.document_id) {
        (Some(model), Some(id)) if !model.trim().is_empty() => format!("{} {id}", model.trim()),
        _ => format!("Payment {}", transaction.reference),
    }
}

/// The PaymentIntent that paid a transaction: the gateway reference itself for Embedded JS;
/// for Checkout the one remembered from the completed session, else read from the session.
fn payment_intent_of(transaction: &Transaction) -> Result<String, ProviderError> {
    let no_payment = || error(ErrorKind::InvalidRequest, "This payment has no Stripe PaymentIntent to refund.");
    let gateway_reference = transaction.gateway_reference.clone().ok_or_else(no_payment)?;
    if transaction.integration_type == IntegrationType::EmbeddedJs {
        return Ok(gateway_reference);
    }
    if let Some(id) = wire::ProviderData::parse(transaction.provider_data.as_deref()).payment_intent {
        return Ok(id);
    }
    if let Some(id) = mapper::get_remote(PAYMENT_INTENT_MODEL, &transaction.reference) {
        return Ok(id);
    }
    let session = read_session(&gateway_reference)?;
    let id = session.payment_intent().ok_or_else(no_payment)?;
    remember_payment_intent(Some(&transaction.reference), Some(&id));
    Ok(id)
}

fn read_session(id: &str) -> Result<wire::CheckoutSession, ProviderError> {
    call_api(Method::Get, &object_path("checkout/sessions", id)?, None, None)
}

fn remember_payment_intent(reference: Option<&str>, payment_intent: Option<&str>) {
    if let (Some(reference), Some(payment_intent)) = (reference, payment_intent) {
        mapper::put(PAYMENT_INTENT_MODEL, reference, payment_intent);
    }
}

/// `/v1/{collection}/{id}`, refusing ids that are not Stripe ids (nothing may steer the path).
fn object_path(collection: &str, id: &str) -> Result<String, ProviderError> {
    if !wire::is_id(id) {
        return Err(error(ErrorKind::InvalidRequest, "The stored Stripe reference is not a Stripe id."));
    }
    Ok(format!("/v1/{collection}/{id}"))
}

/// Creates a Checkout Session or PaymentIntent (`form` given the customer to name) under
/// the idempotency key `reference`. With an ERP contact, the contact's customer is found or
/// created first and named; if Stripe no longer knows a mapped customer, it is replaced once
/// and the create is sent again under a key naming the new customer.
fn create_for_contact<T: serde::de::DeserializeOwned>(
    path: &str,
    form: impl Fn(Option<&str>) -> Form,
    reference: &str,
    contact: Option<&customers::ErpContact>,
) -> Result<T, ProviderError> {
    let Some(contact) = contact else {
        return call_api(Method::Post, path, Some(form(None)), Some(reference));
    };
    let customer = customers::customer_for(contact)?;
    let response = send_api(Method::Post, path, Some(form(Some(&customer))), Some(reference))?;
    if !customers::is_missing_customer(response.status, &response.body) {
        return decode(response);
    }
    let customer = customers::replace(contact, &customer)?;
    call_api(Method::Post, path, Some(form(Some(&customer))), Some(&format!("{reference}-{customer}")))
}

/// Calls Stripe and decodes a 2xx answer; anything else becomes a provider error carrying
/// Stripe's own message.
fn call_api<T: serde::de::DeserializeOwned>(
    method: Method,
    path: &str,
    form: Option<Form>,
    idempotency_key: Option<&str>,
) -> Result<T, ProviderError> {
    decode(send_api(method, path, form, idempotency_key)?)
}

/// Stripe's answer, whatever its status; only a request that got no answer is an error. A
/// POST carries `idempotency_key`. A request that never reached Stripe, or that Stripe marks
/// `Stripe-Should-Retry: true`, is sent once more with the same key (and so cannot act
/// twice).
fn send_api(
    method: Method,
    path: &str,
    form: Option<Form>,
    idempotency_key: Option<&str>,
) -> Result<Response, ProviderError> {
    let base = endpoints::base_url("api")
        .ok_or_else(|| error(ErrorKind::Internal, "The manifest names no `api` endpoint."))?;
    let mut headers = vec![
        Header { name: "authorization".into(), value: HeaderValue::Bearer(SECRET_KEY.into()) },
        Header { name: "stripe-version".into(), value: HeaderValue::Text(API_VERSION.into()) },
    ];
    if let Some(key) = idempotency_key {
        headers.push(Header { name: "idempotency-key".into(), value: HeaderValue::Text(key.into()) });
    }
    let body = form.map(|form| {
        headers.push(Header {
            name: "content-type".into(),
            value: HeaderValue::Text("application/x-www-form-urlencoded".into()),
        });
        form.encode().into_bytes()
    });
    let request = Request { method, url: format!("{base}{path}"), headers, body };
    let mut response = http::send(&request);
    let retry = match &response {
        Err(http::HttpError::ConnectionFailed(_)) => true,
        Ok(answer) => should_retry(answer),
        Err(_) => false,
    };
    if retry {
        response = http::send(&request);
    }
    response.map_err(transport_error)
}

/// A 2xx answer's object, or the provider error for any other answer.
fn decode<T: serde::de::DeserializeOwned>(response: Response) -> Result<T, ProviderError> {
    if !(200..300).contains(&response.status) {
        return Err(status_error(response.status, &response.body));
    }
    serde_json::from_slice(&response.body).map_err(|e| ProviderError {
        kind: ErrorKind::GatewayError,
        message: format!("Stripe answered with an unexpected body: {e}"),
        retryable: false,
    })
}

fn should_retry(response: &Response) -> bool {
    response.headers.iter().any(|(name, value)| name == "stripe-should-retry" && value.trim() == "true")
}

fn status_error(status: u16, body: &[u8]) -> ProviderError {
    let stripe = wire::StripeError::parse(body);
    let card_error = stripe.as_ref().and_then(|e| e.kind.as_deref()) == Some("card_error");
    let (kind, retryable, fallback) = match status {
        401 | 403 => (ErrorKind::InvalidCredentials, false, "Stripe refused the API key."),
        402 => (ErrorKind::Declined, false, "Stripe declined the request."),
        404 => (ErrorKind::NotFound, false, "Stripe does not know this object."),
        409 => (ErrorKind::InvalidRequest, true, "Stripe is still processing the same request; try again shortly."),
        429 => (ErrorKind::GatewayUnavailable, true, "Stripe is rate-limiting requests; try again shortly."),
        400..=499 if card_error => (ErrorKind::Declined, false, "Stripe declined the payment method."),
        400..=499 => (ErrorKind::InvalidRequest, false, "Stripe refused the request."),
        500..=599 => (ErrorKind::GatewayUnavailable, true, "Stripe is unavailable; try again later."),
        _ => (ErrorKind::GatewayError, false, "Stripe answered unexpectedly."),
    };
    let message = match stripe.as_ref().and_then(|e| e.message.as_deref()) {
        Some(text) if !text.trim().is_empty() => format!("Stripe: {}", wire::redact_secrets(text.trim())),
        _ => match stripe.and_then(|e| e.code) {
            Some(code) => format!("{fallback} ({code}, HTTP {status})"),
            None => format!("{fallback} (HTTP {status})"),
        },
    };
    ProviderError { kind, message, retryable }
}

fn transport_error(e: http::HttpError) -> ProviderError {
    use http::HttpError::*;
    match e {
        Timeout => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: "Stripe did not answer in time.".into(),
            retryable: true,
        },
        ConnectionFailed(why) => ProviderError {
            kind: ErrorKind::GatewayUnavailable,
            message: format!("Cannot reach Stripe: {why}"),
            retryable: true,
        },
        ResponseTooLarge => error(ErrorKind::GatewayError, "Stripe's answer was larger than the host allows."),
        UnknownCredential(why) => {
            error(ErrorKind::InvalidCredentials, &format!("A Stripe credential is missing: {why}"))
        }
        other => error(ErrorKind::Internal, &format!("The host refused the request to Stripe: {other:?}")),
    }
}

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
