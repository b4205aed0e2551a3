//! One attempt of a refund at a time, and what its answer books: the gateway's answer is
//! read by `refund_verdict`, then booked as made, pending at the gateway (1.1), refused, never
//! sent (released) or in doubt. `refunds.rs` starts and resumes refunds; reconciliation
//! repeats those in doubt.

use std::collections::HashSet;
use std::sync::Mutex;

use crate::domain::contract::ContractVersion;
use crate::domain::provider::Money as ProviderMoney;
use crate::store::integrations::IntegrationRow;
use crate::store::refunds::{self, RefundRow, RefundState};

use super::refund_verdict::{verdict, Verdict};
use super::refunds::RefundOutcome;
use super::transaction_updates::RefundNote;
use super::{App, ServiceError};

/// Refunds being attempted by this process: one attempt of a refund at a time.
#[derive(Default)]
pub struct RefundAttempts {
    running: Mutex<HashSet<i64>>,
    finished: tokio::sync::Notify,
}

/// Holds the attempt of one refund; dropping it lets the next one run.
pub struct AttemptGuard<'a> {
    attempts: &'a RefundAttempts,
    id: i64,
}

impl RefundAttempts {
    pub(super) fn try_start(&self, id: i64) -> Option<AttemptGuard<'_>> {
        let free = self.running.lock().expect("refund attempts").insert(id);
        // Built only when free: a guard dropped unused would end the other attempt's hold.
        free.then(|| AttemptGuard { attempts: self, id })
    }

    /// Waits until no other attempt of refund `id` runs in this process.
    pub(super) async fn start(&self, id: i64) -> AttemptGuard<'_> {
        loop {
            let finished = self.finished.notified();
            if let Some(guard) = self.try_start(id) {
                return guard;
            }
            finished.await;
        }
    }
}

impl Drop for AttemptGuard<'_> {
    fn drop(&mut self) {
        self.attempts.running.lock().expect("refund attempts").remove(&self.id);
        self.attempts.finished.notify_waiters();
    }
}

impl App {
    /// The answer for a refund already booked or refused; None while it is unresolved.
    pub(super) async fn settled_outcome(&self, refund: &RefundRow) -> Result<Option<RefundOutcome>, ServiceError> {
        let success = match refund.state() {
            RefundState::Succeeded | RefundState::Accepted => true,
            RefundState::Failed => false,
            RefundState::Pending | RefundState::InDoubt => return Ok(None),
        };
        Ok(Some(RefundOutcome {
            success,
            refund_state: refund.state(),
            refund_reference: refund.refund_reference.clone().filter(|_| success),
            transaction: self.transaction_of(refund.transaction_id).await?,
            error_message: refund.error_message.clone().filter(|_| !success),
        }))
    }

    /// One attempt of refund `id` (holding its guard): asks the provider with the refund's
    /// own id and books the answer.
    pub(super) async fn attempt_refund(
        &self,
        _guard: &AttemptGuard<'_>,
        integration: &IntegrationRow,
        id: i64,
        reserved_here: bool,
    ) -> Result<RefundOutcome, ServiceError> {
        // Another attempt may have settled it while this one waited for the guard.
        let Some(refund) = refunds::get(self.db.read(), id).await? else {
            return Err(ServiceError::conflict(
                "refund_released",
                "The gateway never received this refund, so it was released; send it again.",
            ));
        };
        if let Some(outcome) = self.settled_outcome(&refund).await? {
            return Ok(outcome);
        }
        let first = reserved_here && refund.attempts == 1;
        if !first {
            let mut tx = self.db.tx().await?;
            let begun = refunds::begin_attempt(&mut *tx, id).await?;
            tx.commit().await?;
            if !begun {
                return self.settled_outcome_of(id).await;
            }
        }
        let refund_id = refund.refund_id.clone().ok_or_else(|| {
            ServiceError::conflict(
                "refund_in_doubt",
                "This refund was left in doubt by an older host that did not record its refund id; an operator must \
                 check it with the gateway.",
            )
        })?;
        let transaction = self.transaction_of(refund.transaction_id).await?;
        let money = ProviderMoney { amount_minor: refund.amount_minor, currency: transaction.currency.clone() };
        let (answer, outbound, reports_states) = match self.payment_provider(integration).await {
            Ok(mut provider) => {
                let answer = provider.refund(&self.provider_view(&transaction), &money, &refund_id).await;
                // Only a 1.1 provider reports a pending refund's outcome later.
                let reports_states = provider.contract_version() >= ContractVersion::V1_1;
                (answer.map_err(ServiceError::from), provider.outbound_requests(), reports_states)
            }
            Err(error) => (Err(error), 0, false),
        };
        let verdict = verdict(answer, outbound, first);
        let counted = match &verdict {
            Verdict::Book(_) => "succeeded",
            Verdict::Refused(_) => "refused",
            Verdict::NeverSent(_) => "not_sent",
            Verdict::InDoubt(_) => "in_doubt",
        };
        self.meters().refund(&integration.module, counted);
        match verdict {
            Verdict::Book(result) if result.pending && reports_states => {
                // Accepted, not completed: booked when the gateway reports it (webhook, sync).
                let mut tx = self.db.tx().await?;
                let accepted = refunds::accept(&mut *tx, id, Some(&result.refund_reference)).await?;
                tx.commit().await?;
                if !accepted {
                    return self.settled_outcome_of(id).await;
                }
                tracing::info!(transaction = %transaction.reference, %refund_id, reference = %result.refund_reference, "refund accepted, pending at the gateway");
                Ok(RefundOutcome {
                    success: true,
                    refund_state: RefundState::Accepted,
                    refund_reference: Some(result.refund_reference),
                    transaction: self.transaction_of(transaction.id).await?,
                    error_message: None,
                })
            }
            Verdict::Book(result) => {
                let note = RefundNote {
                    reservation_id: id,
                    reference: &result.refund_reference,
                    amount_minor: refund.amount_minor,
                };
                let applied = self.apply_refund(transaction.id, note).await?;
                tracing::info!(transaction = %transaction.reference, %refund_id, reference = %result.refund_reference, "refund booked");
                Ok(RefundOutcome {
                    success: true,
                    refund_state: RefundState::Succeeded,
                    refund_reference: Some(result.refund_reference),
                    transaction: applied.transaction,
                    error_message: None,
                })
            }
            Verdict::Refused(message) => {
                let mut tx = self.db.tx().await?;
                let failed = refunds::fail(&mut *tx, id, &message).await?;
                tx.commit().await?;
                if !failed {
                    return self.settled_outcome_of(id).await;
                }
                tracing::info!(transaction = %transaction.reference, %refund_id, %message, "refund refused by the gateway");
                Ok(RefundOutcome {
                    success: false,
                    refund_state: RefundState::Failed,
                    refund_reference: None,
                    transaction: self.transaction_of(transaction.id).await?,
                    error_message: Some(message),
                })
            }
            Verdict::NeverSent(error) => {
                let mut tx = self.db.tx().await?;
                refunds::release(&mut *tx, id).await?;
                tx.commit().await?;
                Err(error)
            }
            Verdict::InDoubt(why) => {
                let mut tx = self.db.tx().await?;
                refunds::mark_in_doubt(&mut *tx, id, &why).await?;
                tx.commit().await?;
                tracing::warn!(transaction = %transaction.reference, %refund_id, %why, "refund in doubt");
                Err(ServiceError::RefundInDoubt { transaction_id: transaction.id, message: why })
            }
        }
    }

    async fn settled_outcome_of(&self, id: i64) -> Result<RefundOutcome, ServiceError> {
        let refund = refunds::get(self.db.read(), id).await?;
        match refund {
            Some(refund) => match self.settled_outcome(&refund).await? {
                Some(outcome) => Ok(outcome),
                None => Err(ServiceError::RefundInDoubt {
                    transaction_id: refund.transaction_id,
                    message: "Another attempt of this refund is under way.".into(),
                }),
            },
            None => Err(ServiceError::conflict(
                "refund_released",
                "The gateway never received this refund, so it was released; send it again.",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn one_attempt_of_a_refund_at_a_time() {
        let attempts = RefundAttempts::default();
        let first = attempts.try_start(7).expect("free");
        assert!(attempts.try_start(7).is_none(), "reconciliation skips a refund a request is attempting");
        assert!(attempts.try_start(8).is_some(), "other refunds are free");
        let waiting = attempts.start(7);
        tokio::pin!(waiting);
        assert!(futures_poll_once(&mut waiting).await.is_none(), "a retry waits for the running attempt");
        drop(first);
        let _second = waiting.await;
        assert!(attempts.try_start(7).is_none());
    }

    async fn futures_poll_once<F: std::future::Future + Unpin>(future: &mut F) -> Option<F::Output> {
        std::future::poll_fn(|cx| match std::pin::Pin::new(&mut *future).poll(cx) {
            std::task::Poll::Ready(output) => std::task::Poll::Ready(Some(output)),
            std::task::Poll::Pending => std::task::Poll::Ready(None),
        })
        .await
    }
}
