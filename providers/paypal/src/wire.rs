//! PayPal's JSON shapes (Orders v2, Payments v2, webhooks); what they mean for a transaction
//! is `updates`. Pure code, no host imports; exercised end to end by the host's tests against
//! a fake PayPal speaking the same wire format.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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
#[serde(untagged)]
pub enum PayPalSource<'a> {
    /// The payer approves on PayPal's site.
    Payer {
        experience_context: ExperienceContext<'a>,
        #[serde(skip_serializing_if = "Option::is_none")]
        attributes: Option<Attributes>,
    },
    /// A vaulted account pays, no payer present.
    Vaulted { vault_id: &'a str },
}

/// `payment_source.paypal.attributes`: vault the payer's account once the order completes.
#[derive(Serialize)]
pub struct Attributes {
    pub vault: VaultRequest,
}

#[derive(Serialize)]
pub struct VaultRequest {
    pub store_in_vault: &'static str,
    pub usage_type: &'static str,
    pub customer_type: &'static str,
}

impl Attributes {
    /// Vault for merchant-initiated payments (PayPal's `MERCHANT` usage).
    pub fn vault_on_success() -> Self {
        Self { vault: VaultRequest { store_in_vault: "ON_SUCCESS", usage_type: "MERCHANT", customer_type: "CONSUMER" } }
    }
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
    pub fn minor(&self) -> Option<i64> {
        money::from_paypal(&self.value, &self.currency_code)
    }
}

/// An order (Orders v2), as created, captured or read.
#[derive(Deserialize)]
pub struct Order {
    pub id: String,
    /// CAPTURE or AUTHORIZE.
    #[serde(default)]
    pub intent: Option<String>,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub purchase_units: Vec<PurchaseUnit>,
    #[serde(default)]
    pub links: Vec<Link>,
    #[serde(default)]
    pub payment_source: Option<OrderPaymentSource>,
}

/// An order's `payment_source`, as far as the vault goes.
#[derive(Deserialize, Default)]
pub struct OrderPaymentSource {
    #[serde(default)]
    pub paypal: Option<PayPalAccount>,
}

#[derive(Deserialize, Default)]
pub struct PayPalAccount {
    #[serde(default)]
    pub email_address: Option<String>,
    #[serde(default)]
    pub attributes: Option<AccountAttributes>,
}

#[derive(Deserialize, Default)]
pub struct AccountAttributes {
    #[serde(default)]
    pub vault: Option<Vaulted>,
}

/// The vault token an order saved: `status` VAULTED once usable.
#[derive(Deserialize)]
pub struct Vaulted {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
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
    pub authorizations: Vec<Authorization>,
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

/// An authorization (intent AUTHORIZE): inside an order, or a webhook's resource.
#[derive(Deserialize)]
pub struct Authorization {
    pub id: String,
    /// CREATED, CAPTURED, PARTIALLY_CAPTURED, VOIDED, EXPIRED, DENIED, PENDING.
    pub status: String,
    #[serde(default)]
    pub custom_id: Option<String>,
    #[serde(default)]
    pub invoice_id: Option<String>,
    #[serde(default)]
    pub supplementary_data: SupplementaryData,
}

/// `POST /v2/payments/authorizations/{id}/capture`'s body.
#[derive(Serialize)]
pub struct CaptureAuthorization<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub amount: Option<Amount<'a>>,
    /// No further capture of this authorization: PayPal releases the rest.
    pub final_capture: bool,
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
