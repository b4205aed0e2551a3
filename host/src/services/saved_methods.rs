//! Saved payment methods (contract 1.1; API.md §3 "Online payment, part two"): kept when a
//! gateway reports the method of a payment whose ERP asked to save it (`save_payment_method`)
//! for a contact with an id; listed per company and contact; deleted at the gateway and here;
//! charged without the payer (`charge.rs`). Only the gateway's token (sealed) and a label are
//! kept, never a card number.

use std::sync::Arc;

use serde_json::json;

use crate::domain::provider::payment::SavedPaymentMethod;
use crate::secrets::{DataKey, Scope};
use crate::store::payment_methods::{self, NewPaymentMethod, PaymentMethodRow};
use crate::store::transactions::TransactionRow;
use crate::store::{events, WriteTx};

use super::{App, Caller, ServiceError};

/// The ERP's contact id of a transaction, when it gave one.
pub(super) fn contact_id(row: &TransactionRow) -> Option<String> {
    let contact: serde_json::Value = serde_json::from_str(row.contact.as_deref()?).ok()?;
    match contact.get("id")? {
        serde_json::Value::String(id) if !id.trim().is_empty() => Some(id.trim().to_string()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

fn event_data(method: &PaymentMethodRow) -> serde_json::Value {
    json!({
        "payment_method_id": method.id,
        "integration_id": method.integration_id,
        "contact_id": method.contact_id,
        "label": method.label,
        "expires": method.expires,
        "transaction_id": method.transaction_id,
    })
}

/// Keeps the method a gateway reported for `row`, in the update's database transaction, when
/// the ERP asked to save it; writes `payment_method.saved`. Returns the key to keep once
/// committed, and how many deliveries it queued.
pub(super) async fn save_reported(
    app: &App,
    tx: &mut WriteTx,
    row: &TransactionRow,
    method: &SavedPaymentMethod,
) -> Result<Option<(Arc<DataKey>, usize)>, ServiceError> {
    if row.save_payment_method == 0 {
        tracing::warn!(transaction = %row.reference, "a saved payment method was reported for a payment that did not ask; not kept");
        return Ok(None);
    }
    let Some(contact_id) = contact_id(row) else { return Ok(None) };
    let key = app.keys.data_key_in(tx, Scope::Company(row.company_id)).await?;
    let new = NewPaymentMethod {
        company_id: row.company_id,
        integration_id: row.integration_id,
        contact_id: &contact_id,
        token: &method.token,
        label: &method.label,
        expires: method.expires.as_deref(),
        transaction_id: row.id,
    };
    let Some(saved) = payment_methods::insert(tx, &key, &new).await? else { return Ok(None) };
    let subject = format!("payment_method:{}", saved.id);
    let deliveries =
        events::record(tx, "payment_method.saved", row.company_id, &subject, &event_data(&saved)).await?.deliveries;
    Ok(Some((key, deliveries)))
}

impl App {
    pub async fn payment_methods(
        &self,
        company_id: Option<i64>,
        contact_id: Option<&str>,
    ) -> Result<Vec<PaymentMethodRow>, ServiceError> {
        Ok(payment_methods::list(self.db.read(), company_id, contact_id).await?)
    }

    pub(super) async fn visible_payment_method(
        &self,
        caller: Caller,
        id: i64,
    ) -> Result<PaymentMethodRow, ServiceError> {
        match payment_methods::get(self.db.read(), id).await? {
            Some(row) if caller.can_see(row.company_id) => Ok(row),
            _ => Err(ServiceError::NotFound(format!("Payment method {id} does not exist."))),
        }
    }

    /// Deletes a saved method at the gateway, then here (`payment_method.deleted`). A gateway
    /// that fails keeps it here, so it can be deleted again.
    pub async fn delete_payment_method(&self, caller: Caller, id: i64) -> Result<(), ServiceError> {
        let method = self.visible_payment_method(caller, id).await?;
        let integration = crate::store::integrations::get(self.db.read(), method.integration_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Integration {} does not exist.", method.integration_id)))?;
        let token = payment_methods::token(self.db.read(), &self.keys, &method).await?;
        let mut provider = self.payment_provider(&integration).await?;
        provider.delete_payment_method(&token).await?.map_err(ServiceError::Gateway)?;
        let mut tx = self.db.tx().await?;
        if payment_methods::delete(&mut *tx, id).await? {
            let subject = format!("payment_method:{id}");
            let recorded =
                events::record(&mut tx, "payment_method.deleted", method.company_id, &subject, &event_data(&method))
                    .await?;
            tx.commit().await?;
            if recorded.deliveries > 0 {
                self.events_ready.notify_one();
            }
        }
        Ok(())
    }
}
