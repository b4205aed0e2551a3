//! Refunds, and refunds whose outcome is unknown. A refund reserves its amount and fixes its
//! refund id (what the provider sends as the gateway's idempotency key) before the gateway
//! is called. When the answer never comes (the host dies, the gateway times out or answers
//! nothing usable) the refund is *in doubt*: it keeps counting against what is left, and is
//! resolved by repeating it with the same refund id, so the gateway answers the refund it
//! already made instead of making another. The caller's retry with the same Idempotency-Key
//! repeats it at once; `refund_reconciliation.rs` repeats the others.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::domain::money::format_minor;
use crate::domain::transaction_state::TransactionState;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::is_unique_violation;
use crate::store::refunds::{self, RefundId, RefundRow, RefundState};
use crate::store::transactions::{self, TransactionRow};

use super::online_payment::{parse_currency, parse_money};
use super::{App, Caller, ServiceError};

/// The seed's refund request.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// None: all that is left.
    #[serde(default)]
    #[schema(schema_with = super::online_payment::optional_amount_schema)]
    pub amount: Option<Box<RawValue>>,
}

/// The seed's refund result.
pub struct RefundOutcome {
    pub success: bool,
    /// The refund's state: Accepted while the gateway completes it.
    pub refund_state: RefundState,
    pub refund_reference: Option<String>,
    pub transaction: TransactionRow,
    pub error_message: Option<String>,
}

/// The refund id of a request with an Idempotency-Key: the same for every retry with the key.
fn keyed_refund_id(reference: &str, caller: Caller, key: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{key}", caller.scope()).as_bytes());
    format!("{reference}-R-{}", &hex::encode(digest)[..24])
}

impl App {
    /// Refunds `amount` (or all that is left). The amount is reserved and the refund id fixed
    /// before the gateway is called, so concurrent refunds cannot exceed the payment and every
    /// attempt of this refund names the same refund to the gateway. The refund id derives from
    /// the caller's `Idempotency-Key` when there is one: a retry with the key finds the refund
    /// it named and answers its outcome, repeating it first if it is in doubt; it never
    /// reserves a second refund. Without a key every request is a new refund.
    pub async fn refund(
        &self,
        caller: Caller,
        id: i64,
        request: RefundRequest,
        idempotency_key: Option<&str>,
    ) -> Result<RefundOutcome, ServiceError> {
        let row = self.visible_transaction(caller, id).await?;
        let currency = parse_currency(&row.currency)?;
        let requested = match &request.amount {
            Some(raw) => Some(parse_money(raw, currency)?.minor),
            None => None,
        };
        let refund_id = idempotency_key.map(|key| keyed_refund_id(&row.reference, caller, key));
        if let Some(refund_id) = &refund_id {
            if let Some(existing) = refunds::by_refund_id(self.db.read(), refund_id).await? {
                return self.resume_refund(existing, requested).await;
            }
        }
        if row.state != TransactionState::Captured.as_str() {
            return Err(ServiceError::conflict(
                "not_refundable",
                format!("Transaction {} is {}; only a Captured payment can be refunded.", row.reference, row.state),
            ));
        }
        let integration = self.integration_of(&row).await?;
        let module = self.module_of(&integration)?;

        let mut tx = self.db.tx().await?;
        // Checked and reserved under the transaction's lock: two refunds at once never both
        // see the same amount left.
        tx.lock_transaction(row.id).await?;
        let row = transactions::get(&mut *tx, row.id).await?.unwrap_or(row);
        let committed = refunds::committed_total(&mut *tx, row.id).await?.max(row.refunded_minor);
        let left = row.capturable_minor() - committed;
        let amount = requested.unwrap_or(left);
        if left <= 0 || amount > left {
            return Err(ServiceError::invalid(
                "refund_exceeds_remaining",
                format!(
                    "Only {} {} of {} is left to refund.",
                    format_minor(left.max(0), currency),
                    currency.code(),
                    row.reference
                ),
            ));
        }
        super::capability_rules::check_refund(&module.manifest, currency, amount, committed, left)?;
        let numbered = format!("{}-R", row.reference);
        let how = match &refund_id {
            Some(id) => RefundId::Given(id),
            None => RefundId::Numbered(&numbered),
        };
        let reservation = match refunds::reserve(&mut tx, row.id, amount, how).await {
            Ok(reservation) => reservation,
            Err(error) if is_unique_violation(&error) => {
                // A request with the same key reserved it first (after a 5xx let the key go).
                drop(tx);
                let existing = refunds::by_refund_id(self.db.read(), refund_id.as_deref().unwrap_or_default()).await?;
                return match existing {
                    Some(existing) => self.resume_refund(existing, requested).await,
                    None => Err(ServiceError::Database(error)),
                };
            }
            Err(error) => return Err(error.into()),
        };
        // Held before the reservation is visible, so reconciliation never takes its first attempt.
        let guard = self.refund_attempts.try_start(reservation.id).expect("a new reservation is free");
        tx.commit().await?;
        self.attempt_refund(&guard, &integration, reservation.id, true).await
    }

    /// A refund this Idempotency-Key named before: its outcome, after repeating it when it is
    /// still unresolved.
    async fn resume_refund(&self, existing: RefundRow, requested: Option<i64>) -> Result<RefundOutcome, ServiceError> {
        if requested.is_some_and(|amount| amount != existing.amount_minor) {
            return Err(ServiceError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key names a refund of another amount; retry it with the same amount.",
            ));
        }
        if let Some(outcome) = self.settled_outcome(&existing).await? {
            return Ok(outcome);
        }
        let transaction = self.transaction_of(existing.transaction_id).await?;
        let integration = self.integration_of(&transaction).await?;
        self.module_of(&integration)?;
        let guard = self.refund_attempts.start(existing.id).await;
        self.attempt_refund(&guard, &integration, existing.id, false).await
    }

    pub(super) async fn transaction_of(&self, id: i64) -> Result<TransactionRow, ServiceError> {
        transactions::get(self.db.read(), id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("Transaction {id} does not exist.")))
    }

    pub(super) async fn integration_of(&self, transaction: &TransactionRow) -> Result<IntegrationRow, ServiceError> {
        integrations::get(self.db.read(), transaction.integration_id).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("Integration {} does not exist.", transaction.integration_id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_refund_ids_are_stable_per_caller_and_key() {
        let admin = keyed_refund_id("TXN-1", Caller::Admin, "k");
        assert_eq!(admin, keyed_refund_id("TXN-1", Caller::Admin, "k"));
        assert!(admin.starts_with("TXN-1-R-") && admin.len() == "TXN-1-R-".len() + 24, "{admin}");
        assert_ne!(admin, keyed_refund_id("TXN-1", Caller::Admin, "k2"));
        assert_ne!(admin, keyed_refund_id("TXN-1", Caller::Company { key_id: 1, company_id: 1 }, "k"));
    }
}
