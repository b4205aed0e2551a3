//! Stripe's JSON objects (only the fields this provider reads) and how their statuses map
//! to transaction states. Pure code, no host imports.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::integrations::provider::types::TransactionState;

/// Where Stripe.js lives.
pub const JS_URL: &str = "https://js.stripe.com/v3/";

#[derive(Deserialize, Default)]
pub struct Metadata {
    #[serde(default)]
    pub reference: Option<String>,
}

/// An expandable field: an id, or the object with its id.
fn id_of(value: &Option<Value>) -> Option<String> {
    match value {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Object(object)) => object.get("id").and_then(Value::as_str).map(str::to_string),
        _ => None,
    }
}

/// `checkout.session`.
#[derive(Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub payment_status: Option<String>,
    #[serde(default)]
    payment_intent: Option<Value>,
    #[serde(default)]
    pub client_reference_id: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

impl CheckoutSession {
    pub fn payment_intent(&self) -> Option<String> {
        id_of(&self.payment_intent)
    }

    /// Our reference, as we sent it.
    pub fn reference(&self) -> Option<String> {
        self.client_reference_id.clone().or_else(|| self.metadata.as_ref().and_then(|m| m.reference.clone()))
    }

    /// Paid (or nothing to pay): the money is Stripe's to settle.
    pub fn is_paid(&self) -> bool {
        matches!(self.payment_status.as_deref(), Some("paid" | "no_payment_required"))
    }

    /// The state a read of the session shows.
    pub fn state(&self) -> TransactionState {
        match self.status.as_deref() {
            Some("expired") => TransactionState::Cancelled,
            Some("complete") if self.is_paid() => TransactionState::Captured,
            _ => TransactionState::Pending,
        }
    }

    pub fn gateway_status(&self) -> String {
        format!(
            "{} ({})",
            self.status.as_deref().unwrap_or("unknown"),
            self.payment_status.as_deref().unwrap_or("unknown")
        )
    }
}

/// `payment_intent`.
#[derive(Deserialize)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    #[serde(default)]
    pub amount_received: Option<i64>,
    #[serde(default)]
    pub currency: String,
    #[serde(default)]
    customer: Option<Value>,
    #[serde(default)]
    payment_method: Option<Value>,
    /// `off_session` when the payer's method is being saved.
    #[serde(default)]
    pub setup_future_usage: Option<String>,
    #[serde(default)]
    pub client_secret: Option<String>,
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub last_payment_error: Option<LastPaymentError>,
}

#[derive(Deserialize)]
pub struct LastPaymentError {
    #[serde(default)]
    pub message: Option<String>,
}

impl PaymentIntent {
    pub fn reference(&self) -> Option<String> {
        self.metadata.as_ref().and_then(|m| m.reference.clone())
    }

    pub fn error_message(&self) -> Option<String> {
        self.last_payment_error.as_ref().and_then(|e| e.message.clone())
    }

    pub fn customer(&self) -> Option<String> {
        id_of(&self.customer)
    }

    pub fn payment_method(&self) -> Option<String> {
        id_of(&self.payment_method)
    }

    /// The state a read of the intent shows. A failed attempt leaves the intent in
    /// `requires_payment_method`, where the payer may still try another card: Pending.
    pub fn state(&self) -> TransactionState {
        match self.status.as_str() {
            "succeeded" => TransactionState::Captured,
            "requires_capture" => TransactionState::Authorized,
            "canceled" => TransactionState::Cancelled,
            _ => TransactionState::Pending,
        }
    }
}

/// `charge`, as `charge.refunded` carries it.
#[derive(Deserialize)]
pub struct Charge {
    #[serde(default)]
    payment_intent: Option<Value>,
    pub amount_refunded: i64,
    pub currency: String,
    #[serde(default)]
    pub metadata: Option<Metadata>,
}

impl Charge {
    pub fn payment_intent(&self) -> Option<String> {
        id_of(&self.payment_intent)
    }
}

/// `refund`.
#[derive(Deserialize)]
pub struct Refund {
    pub id: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub failure_reason: Option<String>,
    /// `refund_id`: the host's id of the refund, as we sent it.
    #[serde(default)]
    pub metadata: Option<RefundMetadata>,
}

#[derive(Deserialize, Default)]
pub struct RefundMetadata {
    #[serde(default)]
    pub refund_id: Option<String>,
}

/// A list (`GET /v1/refunds`).
#[derive(Deserialize)]
pub struct List<T> {
    pub data: Vec<T>,
}

/// `payment_method` (a card).
#[derive(Deserialize)]
pub struct PaymentMethod {
    #[serde(default)]
    pub card: Option<Card>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Deserialize)]
pub struct Card {
    #[serde(default)]
    pub brand: Option<String>,
    #[serde(default)]
    pub last4: Option<String>,
    #[serde(default)]
    pub exp_month: Option<u32>,
    #[serde(default)]
    pub exp_year: Option<u32>,
}

impl PaymentMethod {
    /// "Visa •••• 4242", or the method's type.
    pub fn label(&self) -> String {
        match &self.card {
            Some(Card { brand, last4: Some(last4), .. }) => {
                let brand = brand.as_deref().unwrap_or("Card");
                let mut brand_name: Vec<char> = brand.chars().collect();
                if let Some(first) = brand_name.first_mut() {
                    *first = first.to_ascii_uppercase();
                }
                format!("{} •••• {last4}", brand_name.into_iter().collect::<String>())
            }
            _ => self.kind.clone().unwrap_or_else(|| "Payment method".into()),
        }
    }

    /// "YYYY-MM".
    pub fn expires(&self) -> Option<String> {
        let card = self.card.as_ref()?;
        Some(format!("{:04}-{:02}", card.exp_year?, card.exp_month?))
    }
}

/// `customer`.
#[derive(Deserialize)]
pub struct Customer {
    pub id: String,
}

/// `event`.
#[derive(Deserialize)]
pub struct Event {
    #[serde(rename = "type")]
    pub kind: String,
    pub data: EventData,
}

#[derive(Deserialize)]
pub struct EventData {
    pub object: Value,
}

/// What this provider keeps with a transaction (`provider-data`).
#[derive(Serialize, Deserialize, Default)]
pub struct ProviderData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_intent: Option<String>,
}

impl ProviderData {
    pub fn parse(text: Option<&str>) -> Self {
        text.and_then(|text| serde_json::from_str(text).ok()).unwrap_or_default()
    }

    pub fn with_payment_intent(payment_intent: Option<String>) -> Option<String> {
        payment_intent.map(|id| serde_json::to_string(&ProviderData { payment_intent: Some(id) }).unwrap_or_default())
    }
}

/// The Embedded JS configuration for Stripe.js.
pub fn client_config(publishable_key: &str, client_secret: Option<&str>) -> String {
    let mut config = serde_json::json!({ "publishable_key": publishable_key, "js_url": JS_URL });
    if let Some(secret) = client_secret {
        config["client_secret"] = secret.into();
    }
    config.to_string()
}

/// Stripe's error body, `{"error": {"type", "code", "message", …}}`.
#[derive(Deserialize)]
struct ErrorBody {
    error: StripeError,
}

#[derive(Deserialize)]
pub struct StripeError {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    /// The parameter the error is about (`customer` for a customer Stripe does not know).
    #[serde(default)]
    pub param: Option<String>,
}

impl StripeError {
    pub fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<ErrorBody>(body).ok().map(|b| b.error)
    }
}

/// True for a Stripe object id (`cs_test_…`, `pi_…`): letters, digits and underscores.
pub fn is_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Masks anything shaped like a Stripe secret (`sk_…`, `rk_…`, `whsec_…`) in a message from
/// Stripe before it is shown to anyone; Stripe masks keys itself, this makes sure.
pub fn redact_secrets(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for prefix in ["sk_", "rk_", "whsec_"] {
            let at_word_start = out.chars().last().is_none_or(|c| !c.is_ascii_alphanumeric());
            if at_word_start && rest.starts_with(prefix) {
                let end =
                    rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '*')).unwrap_or(rest.len());
                out.push_str(prefix);
                out.push('…');
                rest = &rest[end..];
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("not empty");
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}
