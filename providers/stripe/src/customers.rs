//! One Stripe customer per ERP contact, remembered in the mapper (model `Contact`: the ERP's
//! contact id ↔ `cus_…`), created at the first payment of a contact and reused after.
//!
//! - The customer is created with `POST /v1/customers` (`name`, `email`, `phone` as the ERP
//!   gave them, `metadata[erp_contact_id]`) under an `Idempotency-Key` derived from the
//!   integration and the contact id only, so a creation whose answer was lost is replayed by
//!   Stripe instead of made twice.
//! - A mapped customer Stripe no longer knows (deleted in the Dashboard, or created before the
//!   integration switched between Test and Live) is replaced once: a new customer under a key
//!   naming the stale one, and the mapping is overwritten.

use crate::form::Form;
use crate::integrations::provider::http::Method;
use crate::integrations::provider::types::{ErrorKind, ProviderError, Transaction};
use crate::integrations::provider::{context, mapper};
use crate::{call_api, error, wire};

/// The mapper model of ERP contacts.
pub const CONTACT_MODEL: &str = "Contact";
/// Stripe's longest idempotency key.
const MAX_KEY_LENGTH: usize = 255;

/// The ERP contact of a transaction that has an id.
pub struct ErpContact<'a> {
    pub id: &'a str,
    name: Option<&'a str>,
    email: Option<&'a str>,
    phone: Option<&'a str>,
}

impl<'a> ErpContact<'a> {
    /// The transaction's contact, when the ERP gave its id (a blank id counts as none).
    pub fn of(transaction: &'a Transaction) -> Option<Self> {
        let contact = transaction.contact.as_ref()?;
        let id = contact.id.as_deref().filter(|id| !id.trim().is_empty())?;
        let text = |value: &'a Option<String>| value.as_deref().map(str::trim).filter(|v| !v.is_empty());
        Some(Self { id, name: text(&contact.name), email: text(&contact.email), phone: text(&contact.phone) })
    }
}

/// The contact's Stripe customer: the mapped one, or a new one (then mapped).
pub fn customer_for(contact: &ErpContact) -> Result<String, ProviderError> {
    match mapper::get_remote(CONTACT_MODEL, contact.id) {
        Some(customer) => Ok(customer),
        None => create(contact, None),
    }
}

/// A new customer for the contact in place of `stale`, which Stripe does not know; the
/// mapping is overwritten.
pub fn replace(contact: &ErpContact, stale: &str) -> Result<String, ProviderError> {
    create(contact, Some(stale))
}

/// True when Stripe refused a request because its `customer` parameter names no customer.
pub fn is_missing_customer(status: u16, body: &[u8]) -> bool {
    matches!(status, 400 | 404)
        && wire::StripeError::parse(body)
            .is_some_and(|e| e.code.as_deref() == Some("resource_missing") && e.param.as_deref() == Some("customer"))
}

fn create(contact: &ErpContact, replacing: Option<&str>) -> Result<String, ProviderError> {
    let key = idempotency_key(context::integration().integration_id, contact.id, replacing)?;
    let mut form = Form::new();
    for (field, value) in [("name", contact.name), ("email", contact.email), ("phone", contact.phone)] {
        if let Some(value) = value {
            form = form.set(field, value);
        }
    }
    let form = form.set("metadata[erp_contact_id]", contact.id);
    let customer: wire::Customer = call_api(Method::Post, "/v1/customers", Some(form), Some(&key))?;
    if !wire::is_id(&customer.id) {
        return Err(error(ErrorKind::GatewayError, "Stripe created a customer without a usable id."));
    }
    mapper::put(CONTACT_MODEL, contact.id, &customer.id);
    Ok(customer.id)
}

/// `contact-<integration>-<contact id>` (percent-encoded, so any id makes a valid header),
/// with `-replaces-<customer>` when replacing a customer Stripe does not know.
fn idempotency_key(integration_id: i64, contact_id: &str, replacing: Option<&str>) -> Result<String, ProviderError> {
    let mut key = format!("contact-{integration_id}-{}", crate::form::encode(contact_id, false));
    if let Some(stale) = replacing {
        key.push_str("-replaces-");
        key.push_str(&crate::form::encode(stale, false));
    }
    if key.len() > MAX_KEY_LENGTH {
        return Err(error(
            ErrorKind::InvalidRequest,
            "The contact's id is too long to create a Stripe customer for it.",
        ));
    }
    Ok(key)
}
