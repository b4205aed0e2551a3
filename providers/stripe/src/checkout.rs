//! Starting a payment: a Checkout Session (Redirect) or a PaymentIntent for Stripe.js
//! (Embedded JS). Contract 1.1's options: manual capture (`capture_method=manual`) and saving
//! the payer's method for off-session charges (`setup_future_usage=off_session`, which Stripe
//! attaches to the contact's customer). Either option also copies our reference into the
//! PaymentIntent's metadata, so its events (authorized, succeeded) name the transaction.

use crate::api::create_for_contact;
use crate::exports::integrations::provider::payment::{CaptureMode, PaymentAction, PaymentSession, SessionOptions};
use crate::form::Form;
use crate::integrations::provider::credentials;
use crate::integrations::provider::mapper;
use crate::integrations::provider::types::{ErrorKind, IntegrationType, ProviderError, Transaction};
use crate::{amounts, credentials_error, customers, error, wire, PAYMENT_INTENT_MODEL, PUBLISHABLE_KEY};

pub fn create_session(
    transaction: Transaction,
    integration_type: IntegrationType,
    options: SessionOptions,
) -> Result<PaymentSession, ProviderError> {
    let publishable = publishable_key(transaction.test_mode)?;
    let amount = amounts::to_stripe(transaction.amount.amount_minor, &transaction.amount.currency)
        .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
    let currency = transaction.amount.currency.to_ascii_lowercase();
    let reference = &transaction.reference;
    let contact = customers::ErpContact::of(&transaction);
    let manual = options.capture == CaptureMode::Manual;
    if options.save_payment_method && contact.is_none() {
        return Err(error(
            ErrorKind::InvalidRequest,
            "Saving the payment method needs the contact's id: Stripe keeps it on the contact's customer.",
        ));
    }
    let provider_data = None;
    match integration_type {
        IntegrationType::Redirect => {
            // With `customer` set Checkout takes the payer's email from the customer;
            // `customer_email` is never sent beside it (Stripe refuses both at once).
            let form = |customer: Option<&str>| {
                let mut form = Form::new()
                    .set("mode", "payment")
                    .set("line_items[0][price_data][currency]", &currency)
                    .set("line_items[0][price_data][unit_amount]", amount)
                    .set("line_items[0][price_data][product_data][name]", product_name(&transaction))
                    .set("line_items[0][quantity]", 1)
                    .set("success_url", &transaction.return_url)
                    .set("cancel_url", &transaction.cancel_url)
                    .set("client_reference_id", reference)
                    .set("metadata[reference]", reference);
                if manual || options.save_payment_method {
                    form = form.set("payment_intent_data[metadata][reference]", reference);
                }
                if manual {
                    form = form.set("payment_intent_data[capture_method]", "manual");
                }
                if options.save_payment_method {
                    form = form.set("payment_intent_data[setup_future_usage]", "off_session");
                }
                match customer {
                    Some(customer) => form.set("customer", customer),
                    None => form,
                }
            };
            let session: wire::CheckoutSession =
                create_for_contact("/v1/checkout/sessions", form, reference, contact.as_ref())?;
            let url = session
                .url
                .clone()
                .ok_or_else(|| error(ErrorKind::GatewayError, "Stripe created a Checkout Session without a URL."))?;
            Ok(PaymentSession {
                gateway_reference: Some(session.id),
                action: PaymentAction::Redirect(url),
                provider_data,
            })
        }
        IntegrationType::EmbeddedJs => {
            let form = |customer: Option<&str>| {
                let mut form =
                    Form::new().set("amount", amount).set("currency", &currency).set("metadata[reference]", reference);
                if manual {
                    form = form.set("capture_method", "manual");
                }
                if options.save_payment_method {
                    form = form.set("setup_future_usage", "off_session");
                }
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
            Ok(PaymentSession {
                gateway_reference: Some(intent.id.clone()),
                action: PaymentAction::EmbeddedJs(wire::client_config(&publishable, Some(client_secret))),
                provider_data,
            })
        }
        IntegrationType::QrCode => Err(error(
            ErrorKind::Unsupported,
            "Stripe is offered as Redirect (Checkout) or Embedded JS, not as a QR code.",
        )),
    }
}

/// The publishable key, checked for shape and for the integration's mode.
pub fn publishable_key(test_mode: bool) -> Result<String, ProviderError> {
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
