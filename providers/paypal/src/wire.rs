//! PayPal's JSON shapes (Orders v2, Payments v2, webhooks) and how PayPal's statuses
//! map to transaction states. Pure code, no host imports; exercised end to end by the host's
//! tests against a fake PayPal speaking the same wire format.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::exports::integrations::provider::payment::PaymentUpdate;
use crate::integrations::provider::types::TransactionState;
use crate::money;

#[derive(Serialize)]
pub struct Amount<'a> {
    pub currency_code: &'a str,
    pub value: String,
}

/// `POST /v2/checkout/orders` body.
#[derive(Serialize)]
pub struct CreateOrder<'a> {
    pub intent: &'static str,
    pub purchase_units: [NewPurchaseUnit<'a>; 1],
    pub payment_source: PaymentSource<'a>,
}

#[derive(Serialize)]
pub struct NewPurchaseUnit<'a> {
    pub custom_id: &'a str,
    pub invoice_id: &'a str,
    pub amount: Amount<'a>,
}

#[derive(Serialize)]
pub struct PaymentSource<'a> {
    pub paypal: PayPalSource<'a>,
}

#[derive(Serialize)]
pub struct PayPalSource<'a> {
    pub experience_context: ExperienceContext<'a>,
}

#[derive(Serialize)]
pub struct ExperienceContext<'a> {
    pub return_url: &'a str,
    pub cancel_url: &'a str,
    /// The payer sees "Pay Now": we capture as soon as they come back.
    pub user_action: &'static str,
    /// An ERP invoice needs no shipping address from PayPal.
    pub shipping_preference: &'static str,
}

/// `POST /v2/payments/captures/{id}/refund` body for a partial refund (a full refund sends
/// `{}`).
#[derive(Serialize)]
pub struct PartialRefund<'a> {
    pub amount: Amount<'a>,
}

/// `POST /v1/notifications/verify-webhook-signature` body. The event is the webhook body
/// itself, spliced in byte for byte: PayPal checks the signature over it, so it must not be
/// re-serialized.
#[derive(Serialize)]
pub struct VerifySignature<'a> {
    pub auth_algo: &'a str,
    pub cert_url: &'a str,
    pub transmission_id: &'a str,
    pub transmission_sig: &'a str,
    pub transmission_time: &'a str,
    pub webhook_id: &'a str,
    pub webhook_event: &'a RawValue,
}

#[derive(Deserialize)]
pub struct VerifyAnswer {
    pub verification_status: String,
}

#[derive(Deserialize)]
pub struct Link {
    pub href: String,
    pub rel: String,
}

#[derive(Deserialize, Clone, Default)]
pub struct Money {
    pub currency_code: String,
    pub value: String,
}

impl Money {
    fn minor(&self) -> Option<i64> {
        money::from_paypal(&self.value, &self.currency_code)
    }
}

/// An order (Orders v2), as created, captured or read.
#[derive(Deserialize)]
pub struct Order {
    pub id: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
    #[serde(default)]
    pub links: Vec<Link>,
}

#[derive(Deserialize, Default)]
pub struct PurchaseUnit {
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub payments: Payments,
}

#[derive(Deserialize, Default)]
pub struct Payments {
    #[serde(default)]
    pub captures: Vec<Capture>,
    #[serde(default)]
    pub refunds: Vec<Refund>,
}

#[derive(Deserialize, Default)]
pub struct StatusDetails {
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct SupplementaryData {
    #[serde(default)]
    pub related_ids: RelatedIds,
}

#[derive(Deserialize, Default)]
pub struct RelatedIds {
    #[serde(default)]
    pub order_id: Option<String>,
}

/// A capture: inside an order, or a webhook's resource.
#[derive(Deserialize)]
pub struct Capture {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub amount: Option<Money>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    #[serde(default)]
    pub supplementary_data: SupplementaryData,
}

#[derive(Deserialize, Default)]
pub struct PayableBreakdown {
    #[serde(default)]
    pub total_refunded_amount: Option<Money>,
}

/// A refund: the refund API's answer, inside an order, or a webhook's resource.
#[derive(Deserialize)]
pub struct Refund {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub amount: Option<Money>,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub status_details: Option<StatusDetails>,
    #[serde(default)]
    pub seller_payable_breakdown: PayableBreakdown,
}

/// A webhook event's envelope; the resource depends on the event type.
#[derive(Deserialize)]
pub struct WebhookEvent {
    pub event_type: String,
    #[serde(default)]
    pub resource: serde_json::Value,
}

/// `CHECKOUT.PAYMENT-APPROVAL.REVERSED`'s resource.
#[derive(Deserialize)]
pub struct ApprovalReversed {
    #[serde(default)]
    pub order_id: Option<String>,
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
}

/// What the host keeps for a transaction (`provider-data`): the capture to refund.
#[derive(Serialize, Deserialize)]
pub struct Kept {
    pub capture_id: String,
}

pub fn kept(capture_id: &str) -> String {
    serde_json::json!({ "capture_id": capture_id }).to_string()
}

pub fn capture_id_of(provider_data: Option<&str>) -> Option<String> {
    serde_json::from_str::<Kept>(provider_data?).ok().map(|k| k.capture_id)
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

fn with_reason(status: &str, details: Option<&StatusDetails>) -> String {
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
        captured_minor: None,
        refunds: Vec::new(),
        saved_payment_method: None,
    }
}

/// What an order (read, or just captured) says about its transaction.
pub fn order_update(order: &Order) -> PaymentUpdate {
    let unit = order.purchase_units.first();
    let reference = unit.and_then(|u| our_reference(&u.custom_id, &u.invoice_id));
    let capture = unit.and_then(|u| u.payments.captures.first());
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
        refunds: Vec::new(),
        saved_payment_method: None,
    }
}

/// The payer's link to approve an order: `payer-action` (orders with a payment source) or
/// `approve`.
pub fn approval_link(order: &Order) -> Option<&str> {
    order
        .links
        .iter()
        .find(|l| l.rel == "payer-action")
        .or_else(|| order.links.iter().find(|l| l.rel == "approve"))
        .map(|l| l.href.as_str())
}

pub fn refund_status_text(refund: &Refund) -> String {
    with_reason(&refund.status, refund.status_details.as_ref())
}

/// PayPal's error bodies: REST `{"name", "message", "debug_id", "details": [{"issue",
/// "description"}]}` and OAuth `{"error", "error_description"}`.
#[derive(Deserialize, Default)]
pub struct ErrorBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub debug_id: Option<String>,
    #[serde(default)]
    pub details: Vec<ErrorDetail>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default)]
    pub error_description: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct ErrorDetail {
    #[serde(default)]
    pub issue: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

impl ErrorBody {
    pub fn parse(body: &[u8]) -> Self {
        serde_json::from_slice(body).unwrap_or_default()
    }

    /// The most specific machine-readable reason: the first detail's issue, else the name or
    /// OAuth error.
    pub fn issue(&self) -> Option<&str> {
        self.details.first().and_then(|d| d.issue.as_deref()).or(self.name.as_deref()).or(self.error.as_deref())
    }

    /// PayPal's words for a person, with the issue and debug id PayPal's support asks for.
    pub fn text(&self) -> Option<String> {
        let words = self
            .details
            .first()
            .and_then(|d| d.description.as_deref())
            .or(self.message.as_deref())
            .or(self.error_description.as_deref())?;
        let mut tags = Vec::new();
        if let Some(issue) = self.issue() {
            tags.push(issue.to_string());
        }
        if let Some(debug_id) = &self.debug_id {
            tags.push(format!("debug id {debug_id}"));
        }
        Some(if tags.is_empty() { words.to_string() } else { format!("{words} ({})", tags.join(", ")) })
    }
}

/// Keeps a PayPal id from escaping its URL path segment.
pub fn path_segment(id: &str) -> String {
    id.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-')).collect()
}
