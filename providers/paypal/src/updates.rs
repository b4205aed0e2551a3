//! What PayPal's objects say about a transaction: the state of an order, a capture, an
//! authorization (intent AUTHORIZE) and a refund, and what the host keeps for it (the capture
//! to refund, the authorization to capture or void). Pure code, no host imports.

use serde::{Deserialize, Serialize};

use crate::exports::integrations::provider::payment::{PaymentUpdate, RefundState, RefundUpdate, SavedPaymentMethod};
use crate::integrations::provider::types::TransactionState;
use crate::wire::{Authorization, Capture, Money, Order, Refund, StatusDetails};

/// What the host keeps for a transaction (`provider-data`): the capture to refund, or the
/// authorization to capture or void.
#[derive(Serialize, Deserialize, Default)]
pub struct Kept {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capture_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_id: Option<String>,
}

pub fn kept(capture_id: &str) -> String {
    serde_json::json!({ "capture_id": capture_id }).to_string()
}

fn kept_authorization(authorization_id: &str) -> String {
    serde_json::json!({ "authorization_id": authorization_id }).to_string()
}

fn parse_kept(provider_data: Option<&str>) -> Kept {
    provider_data.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
}

pub fn capture_id_of(provider_data: Option<&str>) -> Option<String> {
    parse_kept(provider_data).capture_id
}

pub fn authorization_id_of(provider_data: Option<&str>) -> Option<String> {
    parse_kept(provider_data).authorization_id
}

/// What an authorization says about its transaction (its captures speak for themselves).
pub fn authorization_update(
    authorization: &Authorization,
    order_id: Option<String>,
    gateway_status: Option<String>,
) -> PaymentUpdate {
    let state = match authorization.status.as_str() {
        "CREATED" | "PARTIALLY_CAPTURED" => Some(TransactionState::Authorized),
        "VOIDED" | "EXPIRED" => Some(TransactionState::Cancelled),
        "DENIED" => Some(TransactionState::Failed),
        "PENDING" => Some(TransactionState::Pending),
        _ => None,
    };
    let error_message =
        (state == Some(TransactionState::Failed)).then(|| "PayPal denied the authorization.".to_string());
    PaymentUpdate {
        reference: our_reference(&authorization.custom_id, &authorization.invoice_id),
        gateway_reference: order_id.or_else(|| authorization.supplementary_data.related_ids.order_id.clone()),
        state,
        gateway_status: Some(gateway_status.unwrap_or_else(|| authorization.status.clone())),
        error_message,
        refunded_minor: None,
        captured_minor: None,
        provider_data: Some(kept_authorization(&authorization.id)),
        refunds: Vec::new(),
        saved_payment_method: None,
    }
}

/// The state a capture's status means. REFUNDED and PARTIALLY_REFUNDED captures were
/// captured first; the refunded total travels separately.
pub fn capture_state(status: &str) -> Option<TransactionState> {
    match status {
        "COMPLETED" | "PARTIALLY_REFUNDED" | "REFUNDED" => Some(TransactionState::Captured),
        "PENDING" => Some(TransactionState::Pending),
        "DECLINED" | "FAILED" => Some(TransactionState::Failed),
        _ => None,
    }
}

pub fn with_reason(status: &str, details: Option<&StatusDetails>) -> String {
    match details.and_then(|d| d.reason.as_deref()) {
        Some(reason) => format!("{status} ({reason})"),
        None => status.to_string(),
    }
}

fn our_reference(custom_id: &Option<String>, invoice_id: &Option<String>) -> Option<String> {
    custom_id.clone().or_else(|| invoice_id.clone())
}

/// What a capture says about its transaction. `gateway_status` is the webhook event type,
/// or the capture's status when the capture was read directly.
pub fn capture_update(capture: &Capture, order_id: Option<String>, gateway_status: Option<String>) -> PaymentUpdate {
    let state = capture_state(&capture.status);
    let detailed = with_reason(&capture.status, capture.status_details.as_ref());
    let error_message =
        (state == Some(TransactionState::Failed)).then(|| format!("PayPal declined the payment: {detailed}."));
    PaymentUpdate {
        reference: our_reference(&capture.custom_id, &capture.invoice_id),
        gateway_reference: order_id.or_else(|| capture.supplementary_data.related_ids.order_id.clone()),
        state,
        gateway_status: Some(gateway_status.unwrap_or(detailed)),
        error_message,
        refunded_minor: None,
        provider_data: Some(kept(&capture.id)),
        // What was captured (less than the amount after a partial capture).
        captured_minor: capture.amount.as_ref().and_then(Money::minor),
        refunds: Vec::new(),
        saved_payment_method: None,
    }
}

/// The payer's account an order vaulted, as a saved method: the vault token, labelled with
/// the account's email.
fn vaulted_account(order: &Order) -> Option<SavedPaymentMethod> {
    let account = order.payment_source.as_ref()?.paypal.as_ref()?;
    let vault = account.attributes.as_ref()?.vault.as_ref()?;
    if vault.status.as_deref() != Some("VAULTED") {
        return None;
    }
    let label = match &account.email_address {
        Some(email) => format!("PayPal ({email})"),
        None => "PayPal account".into(),
    };
    Some(SavedPaymentMethod { token: vault.id.clone(), label, expires: None })
}

/// What an order (read, or just captured) says about its transaction.
pub fn order_update(order: &Order) -> PaymentUpdate {
    let mut update = order_update_without_vault(order);
    if update.state == Some(TransactionState::Captured) {
        update.saved_payment_method = vaulted_account(order);
    }
    update
}

fn order_update_without_vault(order: &Order) -> PaymentUpdate {
    let unit = order.purchase_units.first();
    let reference = unit.and_then(|u| our_reference(&u.custom_id, &u.invoice_id));
    let capture = unit.and_then(|u| u.payments.captures.first());
    let authorization = unit.and_then(|u| u.payments.authorizations.first());
    if let (None, Some(authorization)) = (capture, authorization) {
        let mut update = authorization_update(authorization, Some(order.id.clone()), None);
        update.reference = update.reference.or(reference);
        return update;
    }
    let Some(capture) = capture else {
        let state = match order.status.as_str() {
            "CREATED" | "SAVED" | "PAYER_ACTION_REQUIRED" | "APPROVED" => Some(TransactionState::Pending),
            "VOIDED" => Some(TransactionState::Cancelled),
            _ => None,
        };
        return PaymentUpdate {
            reference,
            gateway_reference: Some(order.id.clone()),
            state,
            gateway_status: Some(order.status.clone()),
            error_message: None,
            refunded_minor: None,
            provider_data: None,
            captured_minor: None,
            refunds: Vec::new(),
            saved_payment_method: None,
        };
    };
    let mut update = capture_update(capture, Some(order.id.clone()), None);
    update.reference = update.reference.or(reference);
    let refunds = &unit.map(|u| u.payments.refunds.as_slice()).unwrap_or_default();
    let refunded: Option<i64> =
        refunds.iter().filter(|r| r.status == "COMPLETED").map(|r| r.amount.as_ref().and_then(Money::minor)).sum();
    // The latest refunds' own states (the host settles those it holds pending).
    let listed = unit.map(|u| u.payments.refunds.as_slice()).unwrap_or_default();
    update.refunds = listed.iter().rev().take(8).map(refund_state).collect();
    update.refunded_minor = match (capture.status.as_str(), refunded) {
        (_, Some(total)) if total > 0 => Some(total),
        // Fully refunded but the refunds are not listed: the whole capture.
        ("REFUNDED", _) => capture.amount.as_ref().and_then(Money::minor),
        _ => None,
    };
    update
}

/// What a `PAYMENT.CAPTURE.REFUNDED` refund says: the refunded total of its capture. Without
/// the total, the refund's own amount is a lower bound (the host only ever raises it).
pub fn refund_update(refund: &Refund, event_type: &str) -> PaymentUpdate {
    let total = refund
        .seller_payable_breakdown
        .total_refunded_amount
        .as_ref()
        .or(refund.amount.as_ref())
        .and_then(Money::minor);
    PaymentUpdate {
        reference: our_reference(&refund.custom_id, &refund.invoice_id),
        gateway_reference: None,
        state: None,
        gateway_status: Some(event_type.to_string()),
        error_message: None,
        refunded_minor: if refund.status == "COMPLETED" { total } else { None },
        provider_data: None,
        captured_minor: None,
        refunds: vec![refund_state(refund)],
        saved_payment_method: None,
    }
}

/// A refund's own state, named by PayPal's refund id (the reference the host booked).
pub fn refund_state(refund: &Refund) -> RefundUpdate {
    let state = match refund.status.as_str() {
        "COMPLETED" => RefundState::Succeeded,
        "FAILED" | "CANCELLED" => RefundState::Failed,
        _ => RefundState::Pending,
    };
    let error_message = (state == RefundState::Failed)
        .then(|| format!("PayPal did not complete the refund: {}.", refund_status_text(refund)));
    RefundUpdate { refund_id: None, refund_reference: Some(refund.id.clone()), state, error_message }
}

pub fn refund_status_text(refund: &Refund) -> String {
    with_reason(&refund.status, refund.status_details.as_ref())
}
