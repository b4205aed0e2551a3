//! Reconciliation of refunds in doubt, at start and every [`RefundPolicy::reconcile_every`]:
//! each unresolved refund whose latest attempt has settled is repeated with its own refund id
//! and the gateway's answer booked, unless the gateway's own refund list shows it never
//! received it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use crate::store::integrations::{self, IntegrationRow};
use crate::store::refunds::{self, RefundRow};
use crate::store::time_ago;
use crate::store::transactions::{self, TransactionRow};

use super::{App, ServiceError};

/// When in-doubt refunds are repeated.
#[derive(Debug, Clone)]
pub struct RefundPolicy {
    /// How often the host looks for refunds in doubt (also once at start).
    pub reconcile_every: Duration,
    /// An attempt younger than this may still be under way at the gateway (or in another
    /// process): reconciliation leaves it alone. Above the longest call deadline (30 s).
    pub settle: Duration,
    /// Gateways remember an idempotency key for 24 h (Stripe, MyGateway). A refund first
    /// tried longer ago than this is never repeated: it is logged for an operator.
    pub repeat_window: Duration,
}

impl Default for RefundPolicy {
    fn default() -> Self {
        Self {
            reconcile_every: Duration::from_secs(60),
            settle: Duration::from_secs(120),
            repeat_window: Duration::from_secs(23 * 3600),
        }
    }
}

/// What one reconciliation pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReconcileReport {
    /// The gateway confirmed them: booked.
    pub booked: usize,
    /// The gateway refused them: released.
    pub refused: usize,
    /// The gateway shows no refund they could be: released.
    pub released: usize,
    /// Still no usable answer.
    pub in_doubt: usize,
    /// Not repeated: attempted by a request right now, module not installed, no recorded
    /// refund id, or past the repeat window.
    pub skipped: usize,
}

/// Reconciliation repeats at most this many refunds per pass (the rest wait for the next).
const RECONCILE_BATCH: i64 = 100;

impl App {
    /// Resolves refunds left unresolved (in doubt, or pending from a host that died) whose
    /// latest attempt is older than [`RefundPolicy::settle`]. When the provider's `sync` reports
    /// the gateway's refund total and it holds nothing beyond what the host booked, the
    /// gateway never received them: they are released. Otherwise each is repeated with its own
    /// refund id and the gateway's answer is booked as a normal refund's (success), or
    /// releases it (a refusal); without a usable answer it stays in doubt for the next pass.
    pub async fn reconcile_refunds(&self) -> Result<ReconcileReport, ServiceError> {
        let mut report = ReconcileReport::default();
        let settled_before = time_ago(self.refunds.settle);
        let due = refunds::unresolved(self.db.read(), &settled_before, RECONCILE_BATCH).await?;
        let mut by_transaction: BTreeMap<i64, Vec<RefundRow>> = BTreeMap::new();
        for refund in due {
            by_transaction.entry(refund.transaction_id).or_default().push(refund);
        }
        for (transaction_id, due) in by_transaction {
            let Some(transaction) = transactions::get(self.db.read(), transaction_id).await? else { continue };
            let integration = integrations::get(self.db.read(), transaction.integration_id).await?;
            let Some(integration) = integration.filter(|i| self.registry.get(&i.module).is_some()) else {
                // Its module is not installed: the refund waits, still counted.
                report.skipped += due.len();
                continue;
            };
            let gateway_total = self.gateway_refund_total(&integration, &transaction).await;
            for refund in due {
                let Some(guard) = self.refund_attempts.try_start(refund.id) else {
                    report.skipped += 1;
                    continue;
                };
                if gateway_total.is_none_or(|total| total > transaction.refunded_minor)
                    && (refund.refund_id.is_none() || !self.within_repeat_window(&refund))
                {
                    tracing::error!(
                        transaction = %transaction.reference, refund = refund.id, refund_id = ?refund.refund_id,
                        amount_minor = refund.amount_minor, created_at = %refund.created_at,
                        "refund in doubt cannot be repeated safely; an operator must check it with the gateway"
                    );
                    report.skipped += 1;
                    continue;
                }
                // Another host's pass (on a shared database) may have taken it since the read.
                let mut tx = self.db.tx().await?;
                let claimed = refunds::claim_for_reconciliation(&mut *tx, &refund, &settled_before).await?;
                tx.commit().await?;
                if !claimed {
                    report.skipped += 1;
                    continue;
                }
                if gateway_total.is_some_and(|total| total <= transaction.refunded_minor) {
                    let mut tx = self.db.tx().await?;
                    let released = refunds::release(&mut *tx, refund.id).await?;
                    tx.commit().await?;
                    if released {
                        tracing::info!(transaction = %transaction.reference, refund_id = ?refund.refund_id, "refund released: the gateway never received it");
                        report.released += 1;
                    } else {
                        report.skipped += 1;
                    }
                    continue;
                }
                match self.attempt_refund(&guard, &integration, refund.id, false).await {
                    Ok(outcome) if outcome.success => report.booked += 1,
                    Ok(_) => report.refused += 1,
                    Err(ServiceError::RefundInDoubt { .. }) => report.in_doubt += 1,
                    Err(ServiceError::Database(error)) => return Err(ServiceError::Database(error)),
                    Err(error) => {
                        tracing::warn!(transaction = %transaction.reference, %error, "refund reconciliation skipped");
                        report.skipped += 1;
                    }
                }
            }
        }
        if report != ReconcileReport::default() {
            tracing::info!(?report, "refund reconciliation");
        }
        Ok(report)
    }

    fn within_repeat_window(&self, refund: &RefundRow) -> bool {
        refund.created_at.as_str() > time_ago(self.refunds.repeat_window).as_str()
    }

    /// What the gateway reports as refunded in total for `transaction` (the provider's `sync`),
    /// when it says.
    async fn gateway_refund_total(&self, integration: &IntegrationRow, transaction: &TransactionRow) -> Option<i64> {
        let mut provider = self.payment_provider(integration).await.ok()?;
        match provider.sync(&self.provider_view(transaction)).await {
            Ok(Ok(update)) => update.refunded_minor,
            _ => None,
        }
    }

    /// Reconciles refunds at start and every [`RefundPolicy::reconcile_every`] until the
    /// process ends.
    pub fn spawn_refund_reconciliation(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(app.refunds.reconcile_every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    // A pass in progress finishes (each refund is settled or stays in doubt).
                    _ = app.stop_signal() => break,
                }
                if let Err(error) = app.reconcile_refunds().await {
                    tracing::error!(%error, "refund reconciliation failed");
                }
            }
        })
    }
}
