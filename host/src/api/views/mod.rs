//! The JSON shapes of API.md §3, one type per shape. Handlers answer these types, and the
//! OpenAPI document's schemas are derived from the same types (`utoipa::ToSchema`), so the
//! document cannot describe another shape than the one answered.

mod events;
mod integrations;
mod messaging;
mod modules;
mod ops;
mod payment_methods;
mod payments;

pub use events::{Delivery, DeliveryAttempt, Event, EventDetail, EventEndpoint, EventPage, Redelivered};
pub use integrations::{Integration, Mapping, SyncReport, WebhookAttempt};
pub use messaging::Message;
pub use modules::{ApiKeyCreated, InstallAnswer, InstalledModule, Module, ModuleVersion};
pub use ops::{Health, Ready, WebhookReceived};
pub use payment_methods::PaymentMethod;
pub use payments::{ClientConfig, Initiated, Payment, PaymentIntegration, PaymentLink, RefundResult, Transaction};

use crate::domain::money::{format_minor, Currency};

/// Minor units as the currency's decimal string; none for a currency the host does not know.
fn decimal(minor: i64, currency: &str) -> Option<String> {
    Currency::parse(currency).ok().map(|currency| format_minor(minor, currency))
}

/// A JSON text stored beside a row, as JSON (null when absent or unreadable).
fn stored_json(text: Option<&str>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(t).ok()).unwrap_or(serde_json::Value::Null)
}
