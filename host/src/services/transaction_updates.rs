//! Applying what a gateway reported to a transaction: the state machine decides, the write
//! is compare-and-set on the state, and reaching Captured creates the Payment in the same
//! database transaction (at most once, by a unique key). Late, repeated and backwards
//! events change nothing and say so in the outcome.

use crate::domain::transaction_state::{TransactionState, Transition};
use crate::runtime::bindings::v1::types::GatewayUpdate;
use crate::store::transactions::{self, TransactionRow};
use crate::store::webhook_log::{self, AttemptResult, NewWebhookLog};
use crate::store::{events, payments, payments::PaymentRow, refunds};

use super::event_data;

use super::{App, ServiceError};

/// What applying an update did.
#[derive(Debug)]
pub struct Applied {
    pub transaction: TransactionRow,
    pub outcome: String,
    pub payment_created: bool,
}

impl<'a> WebhookNote<'a> {
    /// The log entry of this attempt for `row`.
    fn entry(&self, row: &TransactionRow, outcome: &'a str) -> NewWebhookLog<'a> {
        NewWebhookLog {
            integration_id: row.integration_id,
            transaction_id: Some(row.id),
            received_at: self.received_at,
            event_type: Some(self.event_type),
            signature_valid: true,
            result: AttemptResult::Accepted,
            outcome,
        }
    }
}

/// A refund the gateway accepted, for [`App::apply_refund`].
pub struct RefundNote<'a> {
    /// The refund's reservation row.
    pub reservation_id: i64,
    /// The gateway's refund reference.
    pub reference: &'a str,
    pub amount_minor: i64,
}

/// Writes the events a transaction change produces, in its database transaction: the state
/// change, the Payment, the refund. Returns how many.
async fn record_transaction_events(
    tx: &mut crate::store::Tx,
    before: &TransactionRow,
    after: &TransactionRow,
    payment_created: bool,
    refund_reference: Option<&str>,
) -> Result<usize, ServiceError> {
    let subject = format!("transaction:{}", after.id);
    let mut recorded = 0;
    if after.state != before.state {
        let data = event_data::state_changed(before, after);
        events::record(tx, "transaction.state_changed", after.company_id, &subject, &data).await?;
        recorded += 1;
    }
    if payment_created {
        events::record(tx, "payment.created", after.company_id, &subject, &event_data::payment_created(after)).await?;
        recorded += 1;
    }
    if after.refunded_minor > before.refunded_minor {
        let data = event_data::refund_created(after, after.refunded_minor - before.refunded_minor, refund_reference);
        events::record(tx, "refund.created", after.company_id, &subject, &data).await?;
        recorded += 1;
    }
    Ok(recorded)
}

/// The webhook attempt an update came from, logged in the same database transaction.
pub struct WebhookNote<'a> {
    pub received_at: &'a str,
    pub event_type: &'a str,
}

/// The new row (if anything changes) and a description of what happens.
pub fn decide(row: &TransactionRow, update: &GatewayUpdate) -> (Option<TransactionRow>, String) {
    let current: TransactionState = row.state.parse().unwrap_or(TransactionState::Draft);
    let mut next = row.clone();
    if next.gateway_reference.is_none() {
        next.gateway_reference = update.gateway_reference.clone();
    }
    let mut outcome = match update.state.map(TransactionState::from) {
        None => {
            keep_bookkeeping(&mut next, update);
            "no state change reported".to_string()
        }
        Some(target) => match current.transition(target) {
            Transition::Unchanged => {
                keep_bookkeeping(&mut next, update);
                format!("duplicate: already {current}")
            }
            Transition::Refused => format!("ignored: {current} cannot become {target}"),
            Transition::Advance(to) => {
                next.state = to.as_str().to_string();
                keep_bookkeeping(&mut next, update);
                if matches!(to, TransactionState::Authorized | TransactionState::Captured) {
                    // An earlier attempt's decline no longer describes a paid transaction.
                    next.error_message = update.error_message.clone();
                }
                if to == TransactionState::Refunded {
                    next.refunded_minor =
                        update.refunded_minor.unwrap_or(row.amount_minor).clamp(row.refunded_minor, row.amount_minor);
                }
                format!("{current} → {to}")
            }
        },
    };
    // A gateway reporting a (partial) refund total of a captured payment.
    if let Some(total) = update.refunded_minor {
        let total = total.min(row.amount_minor);
        if next.state == TransactionState::Captured.as_str() && total > next.refunded_minor {
            next.refunded_minor = total;
            if total == row.amount_minor {
                next.state = TransactionState::Refunded.as_str().to_string();
            }
            outcome = format!("{outcome}; refunded {total} minor units in total");
        }
    }
    let changed = next.state != row.state
        || next.error_message != row.error_message
        || next.refunded_minor != row.refunded_minor
        || next.gateway_reference != row.gateway_reference
        || next.gateway_status != row.gateway_status
        || next.provider_data != row.provider_data;
    (changed.then_some(next), outcome)
}

/// The gateway's wording, its message and the provider's own data follow every update that
/// is not refused, even one that changes no state (a session completed but not yet paid, a
/// decline the payer may retry).
fn keep_bookkeeping(next: &mut TransactionRow, update: &GatewayUpdate) {
    if update.error_message.is_some() {
        next.error_message = update.error_message.clone();
    }
    if update.gateway_status.is_some() {
        next.gateway_status = update.gateway_status.clone();
    }
    if update.provider_data.is_some() {
        next.provider_data = update.provider_data.clone();
    }
}

impl App {
    /// Applies `update` to transaction `id`, retrying if a concurrent writer changed it first.
    pub async fn apply_update(
        &self,
        id: i64,
        update: &GatewayUpdate,
        webhook: Option<WebhookNote<'_>>,
    ) -> Result<Applied, ServiceError> {
        self.apply(id, None, update, webhook, None).await
    }

    /// As [`App::apply_update`], for a transaction just read (a webhook's match), so a
    /// duplicate is answered from that one read.
    pub async fn apply_update_to(
        &self,
        row: TransactionRow,
        update: &GatewayUpdate,
        webhook: Option<WebhookNote<'_>>,
    ) -> Result<Applied, ServiceError> {
        self.apply(row.id, Some(row), update, webhook, None).await
    }

    /// Records a refund the gateway accepted: confirms its reservation (unless another attempt
    /// did), raises the refunded amount (Refunded once everything is), and writes the events,
    /// in one database transaction.
    pub async fn apply_refund(&self, id: i64, refund: RefundNote<'_>) -> Result<Applied, ServiceError> {
        let nothing = GatewayUpdate {
            reference: None,
            gateway_reference: None,
            state: None,
            gateway_status: None,
            error_message: None,
            refunded_minor: None,
            provider_data: None,
        };
        self.apply(id, None, &nothing, None, Some(refund)).await
    }

    /// Applies `update` to transaction `id` (`read`: the row as just read, if the caller has
    /// it). A gateway update is decided on a read first; the write re-reads inside its
    /// database transaction. A refund goes straight to the write.
    async fn apply(
        &self,
        id: i64,
        read: Option<TransactionRow>,
        update: &GatewayUpdate,
        webhook: Option<WebhookNote<'_>>,
        refund: Option<RefundNote<'_>>,
    ) -> Result<Applied, ServiceError> {
        // Most repeated webhooks change nothing: decide on a read first and skip the write
        // transaction. The answer cannot go stale: states only move forward, and an update
        // that changes nothing now changes nothing later either.
        if refund.is_none() {
            let row = match read {
                Some(row) => row,
                None => transactions::get(self.db.pool(), id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(format!("Transaction {id} does not exist.")))?,
            };
            if let (None, outcome) = decide(&row, update) {
                if let Some(note) = &webhook {
                    webhook_log::insert(self.db.writer(), &note.entry(&row, &outcome)).await?;
                }
                tracing::info!(transaction = %row.reference, %outcome, "transaction update");
                return Ok(Applied { transaction: row, outcome, payment_created: false });
            }
        }
        loop {
            let mut tx = self.db.begin().await?;
            let row = transactions::get(&mut *tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("Transaction {id} does not exist.")))?;
            let (mut next, mut outcome) = decide(&row, update);
            if let Some(refund) = &refund {
                if !refunds::confirm(&mut *tx, refund.reservation_id, refund.reference).await? {
                    // Another attempt of this refund booked or settled it first.
                    tx.rollback().await?;
                    let outcome = format!("refund {} already settled", refund.reference);
                    return Ok(Applied { transaction: row, outcome, payment_created: false });
                }
                // A gateway's reported total (webhook, sync) may already count this refund:
                // the refunded amount is the larger of that and what the host booked, never
                // their sum, so no refund is counted twice.
                let booked = refunds::succeeded_total(&mut *tx, id).await?;
                let mut refunded = next.unwrap_or_else(|| row.clone());
                refunded.refunded_minor = refunded.refunded_minor.max(booked).min(row.amount_minor);
                if refunded.refunded_minor == row.amount_minor && refunded.state == TransactionState::Captured.as_str()
                {
                    refunded.state = TransactionState::Refunded.as_str().into();
                }
                outcome = format!("refund {} of {} minor units", refund.reference, refund.amount_minor);
                next = Some(refunded);
            }
            let mut payment_created = false;
            let mut events = 0;
            if let Some(next) = &next {
                if !transactions::update_if_state(&mut *tx, next, &row.state).await? {
                    tx.rollback().await?;
                    continue;
                }
                if next.state == TransactionState::Captured.as_str() && row.state != next.state {
                    payment_created = payments::create_once(&mut *tx, next).await?;
                }
                events = record_transaction_events(
                    &mut tx,
                    &row,
                    next,
                    payment_created,
                    refund.as_ref().map(|r| r.reference),
                )
                .await?;
            }
            if let Some(note) = &webhook {
                webhook_log::insert(&mut *tx, &note.entry(&row, &outcome)).await?;
            }
            tx.commit().await?;
            if events > 0 {
                self.events_ready.notify_one();
            }
            let transaction = next.unwrap_or(row);
            tracing::info!(transaction = %transaction.reference, %outcome, payment_created, "transaction update");
            return Ok(Applied { transaction, outcome, payment_created });
        }
    }

    pub async fn payments_of(
        &self,
        company_id: Option<i64>,
        document_model: Option<&str>,
        document_id: Option<i64>,
    ) -> Result<Vec<PaymentRow>, ServiceError> {
        Ok(payments::list(self.db.pool(), company_id, document_model, document_id).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::bindings::v1::types::TransactionState as Wit;

    fn row(state: &str) -> TransactionRow {
        TransactionRow {
            id: 1,
            reference: "TXN-1".into(),
            integration_id: 1,
            company_id: 1,
            state: state.into(),
            integration_type: "Redirect".into(),
            amount_minor: 1000,
            currency: "USD".into(),
            refunded_minor: 0,
            gateway_reference: Some("sess_1".into()),
            gateway_status: None,
            error_message: None,
            provider_data: None,
            document_model: None,
            document_id: None,
            return_url: None,
            cancel_url: None,
            contact: None,
            pending_action_data: None,
            test_mode: 1,
            created_at: String::new(),
            updated_at: String::new(),
        }
    }

    fn update(state: Option<Wit>, refunded: Option<i64>) -> GatewayUpdate {
        GatewayUpdate {
            reference: None,
            gateway_reference: Some("sess_1".into()),
            state,
            gateway_status: Some("event".into()),
            error_message: None,
            refunded_minor: refunded,
            provider_data: None,
        }
    }

    #[test]
    fn advances_and_refuses_per_the_state_machine() {
        let (next, _) = decide(&row("Pending"), &update(Some(Wit::Captured), None));
        assert_eq!(next.unwrap().state, "Captured");
        let mut captured = row("Captured");
        captured.gateway_status = Some("event".into());
        let (next, outcome) = decide(&captured, &update(Some(Wit::Captured), None));
        assert!(next.is_none() && outcome.starts_with("duplicate"), "a repeated event changes nothing: {outcome}");
        let (next, _) = decide(&captured, &update(Some(Wit::Pending), None));
        assert!(next.is_none(), "a refused event changes nothing, not even the gateway status");
        let (next, outcome) = decide(&row("Captured"), &update(Some(Wit::Pending), None));
        assert!(next.is_none() && outcome.starts_with("ignored"), "{outcome}");
    }

    #[test]
    fn a_late_success_leaves_failed_and_clears_the_decline() {
        let mut failed = row("Failed");
        failed.error_message = Some("Your card was declined.".into());
        let (next, outcome) = decide(&failed, &update(Some(Wit::Captured), None));
        let next = next.expect("money moves a Failed transaction on");
        assert_eq!((next.state.as_str(), next.error_message.as_deref()), ("Captured", None), "{outcome}");
        let (next, _) = decide(&row("Cancelled"), &update(Some(Wit::Authorized), None));
        assert_eq!(next.unwrap().state, "Authorized");
        let (next, outcome) = decide(&failed, &update(Some(Wit::Pending), None));
        assert!(next.is_none() && outcome.starts_with("ignored"), "{outcome}");
    }

    #[test]
    fn a_message_is_kept_when_no_state_changes() {
        let mut pending = row("Pending");
        pending.gateway_status = Some("event".into());
        let mut declined = update(Some(Wit::Pending), None);
        declined.error_message = Some("Your card was declined. Try another card.".into());
        let (next, outcome) = decide(&pending, &declined);
        let next = next.expect("the message alone is a change");
        assert_eq!(next.state, "Pending", "{outcome}");
        assert_eq!(next.error_message.as_deref(), Some("Your card was declined. Try another card."));
        let mut no_state = declined.clone();
        no_state.state = None;
        no_state.error_message = Some("Second decline.".into());
        assert_eq!(decide(&next, &no_state).0.unwrap().error_message.as_deref(), Some("Second decline."));
        assert!(decide(&next, &declined).0.is_none(), "the same message again changes nothing");
    }

    #[test]
    fn refund_totals_raise_the_refunded_amount_and_finish_at_the_total() {
        let (next, _) = decide(&row("Captured"), &update(None, Some(400)));
        let next = next.unwrap();
        assert_eq!((next.state.as_str(), next.refunded_minor), ("Captured", 400));
        let (next, _) = decide(&row("Captured"), &update(None, Some(5000)));
        let next = next.unwrap();
        assert_eq!((next.state.as_str(), next.refunded_minor), ("Refunded", 1000));
        let (next, _) = decide(&row("Captured"), &update(Some(Wit::Refunded), None));
        assert_eq!(next.unwrap().refunded_minor, 1000, "a refund without an amount is a full refund");
    }
}
