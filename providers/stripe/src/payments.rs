//! A payment after it started: sync and the return (Stripe's own record decides), refunds
//! (tracked by the `refund_id` we put in their metadata), and contract 1.1's capture, void,
//! off-session charges with a saved method and its removal.
//!
//! - Capture is `POST /v1/payment_intents/{id}/capture` (`amount_to_capture` when less than
//!   the amount: Stripe releases the rest), under the host's capture id as `Idempotency-Key`.
//! - Void is `POST /v1/payment_intents/{id}/cancel`.
//! - A saved method's token is `{customer}/{payment_method}`; a charge with it is a
//!   PaymentIntent confirmed at once with `off_session=true`; deleting it detaches the
//!   PaymentMethod from the customer.

use crate::api::{call_api, object_path, send_api, status_error};
use crate::exports::integrations::provider::payment::{
    PaymentUpdate, RefundResult, RefundState, RefundUpdate, SavedPaymentMethod,
};
use crate::form::Form;
use crate::integrations::provider::http::Method;
use crate::integrations::provider::mapper;
use crate::integrations::provider::types::{
    ErrorKind, IntegrationType, Money, ProviderError, Transaction, TransactionState,
};
use crate::{amounts, error, wire, PAYMENT_INTENT_MODEL};

/// An update that says nothing yet.
pub fn no_update() -> PaymentUpdate {
    PaymentUpdate {
        reference: None,
        gateway_reference: None,
        state: None,
        gateway_status: None,
        error_message: None,
        refunded_minor: None,
        captured_minor: None,
        provider_data: None,
        refunds: Vec::new(),
        saved_payment_method: None,
    }
}

pub fn refund(transaction: Transaction, amount: Money, refund_id: String) -> Result<RefundResult, ProviderError> {
    let payment_intent = payment_intent_of(&transaction)?;
    let stripe_amount = amounts::to_stripe(amount.amount_minor, &amount.currency)
        .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
    // The host's refund id: the same for a retry of this refund, new for the next one. It is
    // also kept in the refund's metadata, so refund events name it.
    let form = Form::new()
        .set("payment_intent", &payment_intent)
        .set("amount", stripe_amount)
        .set("metadata[refund_id]", &refund_id);
    let refund: wire::Refund = call_api(Method::Post, "/v1/refunds", Some(form), Some(&refund_id))?;
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

/// A refund's state as Stripe reports it; None for a refund we did not make (no refund id).
pub fn refund_update(refund: &wire::Refund) -> Option<RefundUpdate> {
    let refund_id = refund.metadata.as_ref().and_then(|m| m.refund_id.clone());
    let state = match refund.status.as_deref() {
        Some("succeeded") => RefundState::Succeeded,
        Some("failed" | "canceled") => RefundState::Failed,
        _ => RefundState::Pending,
    };
    let error_message = (state == RefundState::Failed).then(|| {
        format!(
            "Stripe could not complete the refund ({}).",
            refund.failure_reason.as_deref().unwrap_or("no reason given")
        )
    });
    Some(RefundUpdate { refund_id: Some(refund_id?), refund_reference: Some(refund.id.clone()), state, error_message })
}

pub fn sync(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
    let id = transaction
        .gateway_reference
        .clone()
        .ok_or_else(|| error(ErrorKind::InvalidRequest, "This payment has no Stripe object yet."))?;
    let mut update = if transaction.integration_type == IntegrationType::EmbeddedJs {
        let intent = read_intent(&id)?;
        intent_update(&intent)
    } else {
        let session = read_session(&id)?;
        let payment_intent = session.payment_intent();
        remember_payment_intent(Some(&transaction.reference), payment_intent.as_deref());
        let mut update = PaymentUpdate {
            state: Some(session.state()),
            gateway_status: Some(session.gateway_status()),
            gateway_reference: Some(session.id.clone()),
            provider_data: wire::ProviderData::with_payment_intent(payment_intent.clone()),
            ..no_update()
        };
        // A completed session not yet paid may hold an authorization (manual capture): the
        // intent tells.
        if let (Some(TransactionState::Pending), Some(intent_id)) = (update.state, &payment_intent) {
            let intent = read_intent(intent_id)?;
            update.state = Some(intent.state());
            update.gateway_status = Some(format!("{} / {}", session.gateway_status(), intent.status));
        }
        update
    };
    // Refunds Stripe has not completed yet are asked after too.
    // (A payment without a usable PaymentIntent has no refunds to ask about.)
    let captured = transaction.state == TransactionState::Captured;
    let payment_intent = captured.then(|| payment_intent_of(&transaction).ok()).flatten().filter(|id| wire::is_id(id));
    if let Some(payment_intent) = payment_intent {
        let path = format!("/v1/refunds?payment_intent={payment_intent}&limit=100");
        let refunds: wire::List<wire::Refund> = call_api(Method::Get, &path, None, None)?;
        update.refunds = refunds.data.iter().filter_map(refund_update).take(8).collect();
    }
    Ok(update)
}

fn intent_update(intent: &wire::PaymentIntent) -> PaymentUpdate {
    let state = intent.state();
    PaymentUpdate {
        state: Some(state),
        gateway_status: Some(intent.status.clone()),
        error_message: intent.error_message(),
        gateway_reference: Some(intent.id.clone()),
        captured_minor: (state == TransactionState::Captured)
            .then(|| intent.amount_received.map(|received| amounts::from_stripe(received, &intent.currency)))
            .flatten(),
        ..no_update()
    }
}

pub fn capture(transaction: Transaction, amount: Money, capture_id: String) -> Result<PaymentUpdate, ProviderError> {
    let payment_intent = payment_intent_of(&transaction)?;
    let mut form = Form::new();
    if amount.amount_minor < transaction.amount.amount_minor {
        let stripe_amount = amounts::to_stripe(amount.amount_minor, &amount.currency)
            .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
        form = form.set("amount_to_capture", stripe_amount);
    }
    let path = format!("{}/capture", object_path("payment_intents", &payment_intent)?);
    let intent: wire::PaymentIntent = call_api(Method::Post, &path, Some(form), Some(&capture_id))?;
    Ok(intent_update(&intent))
}

pub fn void(transaction: Transaction) -> Result<PaymentUpdate, ProviderError> {
    let payment_intent = payment_intent_of(&transaction)?;
    let path = format!("{}/cancel", object_path("payment_intents", &payment_intent)?);
    let key = format!("{}-void", transaction.reference);
    let intent: wire::PaymentIntent = call_api(Method::Post, &path, Some(Form::new()), Some(&key))?;
    Ok(intent_update(&intent))
}

/// `{customer}/{payment_method}`, checked.
fn parse_token(token: &str) -> Result<(&str, &str), ProviderError> {
    match token.split_once('/') {
        Some((customer, method)) if wire::is_id(customer) && wire::is_id(method) => Ok((customer, method)),
        _ => Err(error(ErrorKind::InvalidRequest, "The saved payment method is not a Stripe customer and method.")),
    }
}

pub fn charge_saved(transaction: Transaction, token: String) -> Result<PaymentUpdate, ProviderError> {
    let (customer, method) = parse_token(&token)?;
    let amount = amounts::to_stripe(transaction.amount.amount_minor, &transaction.amount.currency)
        .map_err(|message| error(ErrorKind::InvalidRequest, &message))?;
    let form = Form::new()
        .set("amount", amount)
        .set("currency", transaction.amount.currency.to_ascii_lowercase())
        .set("customer", customer)
        .set("payment_method", method)
        .set("off_session", "true")
        .set("confirm", "true")
        .set("metadata[reference]", &transaction.reference);
    let intent: wire::PaymentIntent =
        call_api(Method::Post, "/v1/payment_intents", Some(form), Some(&transaction.reference))?;
    mapper::put(PAYMENT_INTENT_MODEL, &transaction.reference, &intent.id);
    if intent.status == "requires_action" {
        return Err(error(
            ErrorKind::Declined,
            "The payer's bank asks them to authenticate this payment, which a charge without the payer cannot do.",
        ));
    }
    Ok(intent_update(&intent))
}

pub fn delete_payment_method(token: String) -> Result<(), ProviderError> {
    let (_, method) = parse_token(&token)?;
    let path = format!("{}/detach", object_path("payment_methods", method)?);
    let response = send_api(Method::Post, &path, Some(Form::new()), Some(&format!("detach-{method}")))?;
    match response.status {
        200..=299 | 404 => Ok(()),
        // Already detached: nothing to delete.
        400 if wire::StripeError::parse(&response.body)
            .and_then(|e| e.code)
            .is_some_and(|code| code == "payment_method_unexpected_state") =>
        {
            Ok(())
        }
        status => Err(status_error(status, &response.body)),
    }
}

/// The method a succeeded intent saved for off-session use, with its card's label.
pub fn saved_method_of(intent: &wire::PaymentIntent) -> Option<SavedPaymentMethod> {
    if intent.setup_future_usage.as_deref() != Some("off_session") {
        return None;
    }
    let (customer, method) = (intent.customer()?, intent.payment_method()?);
    let details: Option<wire::PaymentMethod> =
        object_path("payment_methods", &method).ok().and_then(|path| call_api(Method::Get, &path, None, None).ok());
    Some(SavedPaymentMethod {
        token: format!("{customer}/{method}"),
        label: details.as_ref().map(wire::PaymentMethod::label).unwrap_or_else(|| "Card".into()),
        expires: details.as_ref().and_then(wire::PaymentMethod::expires),
    })
}

/// The PaymentIntent that paid a transaction: the gateway reference itself for Embedded JS;
/// for Checkout the one remembered from the completed session, else read from the session.
pub fn payment_intent_of(transaction: &Transaction) -> Result<String, ProviderError> {
    let no_payment = || error(ErrorKind::InvalidRequest, "This payment has no Stripe PaymentIntent.");
    let gateway_reference = transaction.gateway_reference.clone().ok_or_else(no_payment)?;
    if transaction.integration_type == IntegrationType::EmbeddedJs || gateway_reference.starts_with("pi_") {
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

fn read_intent(id: &str) -> Result<wire::PaymentIntent, ProviderError> {
    call_api(Method::Get, &object_path("payment_intents", id)?, None, None)
}

pub fn remember_payment_intent(reference: Option<&str>, payment_intent: Option<&str>) {
    if let (Some(reference), Some(payment_intent)) = (reference, payment_intent) {
        mapper::put(PAYMENT_INTENT_MODEL, reference, payment_intent);
    }
}
