//! Stripe's webhooks: `Stripe-Signature: t=…,v1=…` is the HMAC-SHA256 (computed by the host,
//! keyed with the webhook signing secret) of `"{t}.{raw body}"`; any matching `v1` counts, `v0`
//! never does, and `t` must be at most 300 s older than the request's arrival. Events read:
//! Checkout's session events, PaymentIntent events (authorized for manual capture, succeeded,
//! failed, canceled; a succeeded intent that saved the payer's method reports it), refund
//! totals (`charge.refunded`) and each refund's own state (`refund.created`, `refund.updated`,
//! `charge.refund.updated`, found by the `refund_id` we put in its metadata).

use crate::exports::integrations::provider::payment::{ParsedWebhook, PaymentUpdate};
use crate::integrations::provider::crypto;
use crate::integrations::provider::mapper;
use crate::integrations::provider::types::{ProviderError, TransactionState, Verification, WebhookRequest};
use crate::{amounts, error, header, is_set, payments, signature, unreadable, wire, ErrorKind};
use crate::{PAYMENT_INTENT_MODEL, SIGNATURE_HEADER, TOLERANCE_SECONDS, WEBHOOK_SECRET};

pub fn verify(request: WebhookRequest) -> Result<Verification, ProviderError> {
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
    let matched = signature
        .v1
        .iter()
        .fold(false, |matched, given| crypto::constant_time_equals(expected.as_bytes(), given.as_bytes()) | matched);
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

pub fn parse(request: WebhookRequest) -> Result<ParsedWebhook, ProviderError> {
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
            payments::remember_payment_intent(reference.as_deref(), payment_intent.as_deref());
            let error_message = (state == TransactionState::Failed)
                .then(|| "The payment method was declined or the payment did not complete.".to_string());
            vec![PaymentUpdate {
                reference,
                gateway_reference: Some(session.id),
                state: Some(state),
                gateway_status: Some(event.kind.clone()),
                error_message,
                provider_data: wire::ProviderData::with_payment_intent(payment_intent),
                ..payments::no_update()
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
            // A Checkout payment's intent is matched by the reference Checkout copied into
            // its metadata (manual capture, saved methods), or by the mapper.
            let reference = intent.reference().or_else(|| mapper::get_local(PAYMENT_INTENT_MODEL, &intent.id));
            let saved_payment_method =
                if state == TransactionState::Captured { payments::saved_method_of(&intent) } else { None };
            let captured_minor = (state == TransactionState::Captured)
                .then(|| intent.amount_received.map(|received| amounts::from_stripe(received, &intent.currency)))
                .flatten();
            // A Checkout payment's transaction is known by its session: the host then finds
            // it by the reference.
            vec![PaymentUpdate {
                reference,
                gateway_reference: Some(intent.id.clone()),
                state: Some(state),
                gateway_status: Some(event.kind.clone()),
                error_message,
                captured_minor,
                saved_payment_method,
                ..payments::no_update()
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
                    vec![PaymentUpdate {
                        reference,
                        gateway_reference: Some(payment_intent),
                        gateway_status: Some(event.kind.clone()),
                        refunded_minor: Some(amounts::from_stripe(charge.amount_refunded, &charge.currency)),
                        ..payments::no_update()
                    }]
                }
            }
        }
        "refund.created" | "refund.updated" | "charge.refund.updated" => {
            let refund: wire::Refund = serde_json::from_value(event.data.object).map_err(unreadable)?;
            match payments::refund_update(&refund) {
                Some(update) => vec![PaymentUpdate {
                    gateway_status: Some(event.kind.clone()),
                    refunds: vec![update],
                    ..payments::no_update()
                }],
                None => Vec::new(),
            }
        }
        // Stripe sends many other events; they change nothing here.
        _ => Vec::new(),
    };
    Ok(ParsedWebhook { event_type: event.kind, updates, response: None })
}
