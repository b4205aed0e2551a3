//! Applying what a gateway reported to a transaction: the state machine decides, the write
//! is compare-and-set on the state, and reaching Captured creates the Payment in the same
//! database transaction (at most once, by a unique key). Late, repeated and backwards
//! events change nothing and say so in the outcome.

use crate::domain::provider::payment::GatewayUpdate;
use crate::domain::transaction_state::TransactionState;
use crate::store::transactions::{self, TransactionRow};
use crate::store::webhook_log::{self, AttemptResult, NewWebhookLog};
use crate::store::{events, payment_operations, payments, payments::PaymentRow, refunds};

use super::event_data;
pub use super::transaction_decisions::decide;

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
/// change, the Payment, the refund. Returns how many deliveries they queued.
async fn record_transaction_events(
    tx: &mut crate::store::WriteTx,
    before: &TransactionRow,
    after: &TransactionRow,
    payment_created: bool,
    refund_reference: Option<&str>,
) -> Result<usize, ServiceError> {
    let subject = format!("transaction:{}", after.id);
    let mut deliveries = 0;
    if after.state != before.state {
        let data = event_data::state_changed(before, after);
        deliveries +=
            events::record(tx, "transaction.state_changed", after.company_id, &subject, &data).await?.deliveries;
    }
    if payment_created {
        let data = event_data::payment_created(after);
        deliveries += events::record(tx, "payment.created", after.company_id, &subject, &data).await?.deliveries;
    }
    if after.refunded_minor > before.refunded_minor {
        let data = event_data::refund_created(after, after.refunded_minor - before.refunded_minor, refund_reference);
        deliveries += events::record(tx, "refund.created", after.company_id, &subject, &data).await?.deliveries;
    }
    Ok(deliveries)
}

/// The webhook attempt an update came from, logged in the same database transaction.
pub struct WebhookNote<'a> {
    pub received_at: &'a str,
    pub event_type: &'a str,
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
            ..GatewayUpdate::default()
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
        let reports_refunds = !update.refunds.is_empty() || update.saved_payment_method.is_some();
        if refund.is_none() && !reports_refunds {
            let row = match read {
                Some(row) => row,
                None => transactions::get(self.db.read(), id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(format!("Transaction {id} does not exist.")))?,
            };
            if let (None, outcome) = decide(&row, update) {
                if let Some(note) = &webhook {
                    let mut tx = self.db.tx().await?;
                    webhook_log::insert(&mut *tx, &note.entry(&row, &outcome)).await?;
                    tx.commit().await?;
                }
                tracing::info!(
                    company_id = row.company_id, integration_id = row.integration_id, transaction = %row.reference,
                    %outcome, "transaction update"
                );
                return Ok(Applied { transaction: row, outcome, payment_created: false });
            }
        }
        loop {
            let mut tx = self.db.tx().await?;
            // Read, decided and written under the row's lock (the refunded total is computed
            // from what is read; the state write is compare-and-set besides).
            tx.lock_transaction(id).await?;
            let row = transactions::get(&mut *tx, id)
                .await?
                .ok_or_else(|| ServiceError::NotFound(format!("Transaction {id} does not exist.")))?;
            // A gateway's refunded total counts the refunds it has not completed yet; the
            // host counts only completed ones, so those still open here are taken out.
            let adjusted;
            let update = match update.refunded_minor {
                Some(total) if total > 0 => {
                    let open = refunds::open_total(&mut *tx, id).await?;
                    adjusted = GatewayUpdate { refunded_minor: Some((total - open).max(0)), ..update.clone() };
                    &adjusted
                }
                _ => update,
            };
            let (mut next, mut outcome) = decide(&row, update);
            let reports = super::refund_reports::apply(&mut tx, id, &update.refunds).await?;
            if reports.changed() {
                let booked = refunds::succeeded_total(&mut *tx, id).await?;
                let mut refunded = next.unwrap_or_else(|| row.clone());
                let capturable = refunded.capturable_minor();
                refunded.refunded_minor = refunded.refunded_minor.max(booked).min(capturable);
                if refunded.refunded_minor == capturable && refunded.state == TransactionState::Captured.as_str() {
                    refunded.state = TransactionState::Refunded.as_str().into();
                }
                next = Some(refunded);
            }
            if !reports.notes.is_empty() {
                outcome = format!("{outcome}; {}", reports.notes.join("; "));
            }
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
                let capturable = refunded.capturable_minor();
                refunded.refunded_minor = refunded.refunded_minor.max(booked).min(capturable);
                if refunded.refunded_minor == capturable && refunded.state == TransactionState::Captured.as_str() {
                    refunded.state = TransactionState::Refunded.as_str().into();
                }
                outcome = format!("refund {} of {} minor units", refund.reference, refund.amount_minor);
                next = Some(refunded);
            }
            let mut payment_created = false;
            let mut deliveries = 0;
            if let Some(next) = &next {
                if !transactions::update_if_state(&mut *tx, next, &row.state).await? {
                    tx.rollback().await?;
                    continue;
                }
                if next.state == TransactionState::Captured.as_str() && row.state != next.state {
                    payment_created = payments::create_once(&mut *tx, next).await?;
                }
                if row.state == TransactionState::Authorized.as_str() && next.state != row.state {
                    payment_operations::close_for_state(&mut *tx, id, &next.state).await?;
                }
                deliveries = record_transaction_events(
                    &mut tx,
                    &row,
                    next,
                    payment_created,
                    refund.as_ref().map(|r| r.reference),
                )
                .await?;
            }
            let mut kept_key = None;
            if let Some(method) = &update.saved_payment_method {
                if let Some((key, queued)) = super::saved_methods::save_reported(self, &mut tx, &row, method).await? {
                    deliveries += queued;
                    kept_key = Some(key);
                    outcome = format!("{outcome}; payment method saved");
                }
            }
            for (failed, message) in &reports.failed {
                let after = next.as_ref().unwrap_or(&row);
                let data = event_data::refund_failed(after, failed, message);
                let subject = format!("transaction:{}", after.id);
                deliveries +=
                    events::record(&mut tx, "refund.failed", after.company_id, &subject, &data).await?.deliveries;
            }
            if let Some(note) = &webhook {
                webhook_log::insert(&mut *tx, &note.entry(&row, &outcome)).await?;
            }
            tx.commit().await?;
            if let Some(key) = kept_key {
                self.keys.keep(key);
            }
            if deliveries > 0 {
                self.events_ready.notify_one();
            }
            let transaction = next.unwrap_or(row.clone());
            self.count_change(&row, &transaction, payment_created).await;
            tracing::info!(
                company_id = transaction.company_id, integration_id = transaction.integration_id,
                transaction = %transaction.reference, %outcome, payment_created, "transaction update"
            );
            return Ok(Applied { transaction, outcome, payment_created });
        }
    }

    /// Counts a committed state change (and the Payment it made) under the integration's
    /// module. One indexed read per change (not per repeated webhook); a failed read skips
    /// the count, never the change.
    async fn count_change(&self, before: &TransactionRow, after: &TransactionRow, payment_created: bool) {
        let states = (before.state.parse::<TransactionState>(), after.state.parse::<TransactionState>());
        let (Ok(from), Ok(to)) = states else { return };
        if from == to && !payment_created {
            return;
        }
        let Some(module) = self.module_for_count(after.integration_id).await else { return };
        if from != to {
            self.meters().transition(&module, from.as_str(), to.as_str());
        }
        if payment_created {
            self.meters().payment(&module);
        }
    }

    pub async fn payments_of(
        &self,
        company_id: Option<i64>,
        document_model: Option<&str>,
        document_id: Option<i64>,
    ) -> Result<Vec<PaymentRow>, ServiceError> {
        Ok(payments::list(self.db.read(), company_id, document_model, document_id).await?)
    }
}
