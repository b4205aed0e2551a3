//! What a gateway reports of refunds (contract 1.1's `payment-update.refunds`, from a
//! webhook, a return or a sync), applied inside the transaction's write: a refund it accepted
//! earlier succeeds (and counts as refunded) or fails (and stops counting against what is
//! left). Each change is compare-and-set on the refund's state, so a repeated or late report
//! changes nothing; a report naming a refund this transaction does not have is ignored.

use crate::domain::provider::payment::{RefundUpdate, ReportedRefundState};
use crate::store::refunds::{self, RefundRow};
use crate::store::WriteTx;

use super::ServiceError;

/// What the reports changed.
#[derive(Default)]
pub(super) struct RefundReports {
    /// Refunds that succeeded now.
    pub succeeded: Vec<RefundRow>,
    /// Refunds that failed now, with the gateway's reason.
    pub failed: Vec<(RefundRow, String)>,
    /// For the outcome's description.
    pub notes: Vec<String>,
}

impl RefundReports {
    pub fn changed(&self) -> bool {
        !self.succeeded.is_empty() || !self.failed.is_empty()
    }
}

/// The gateway's reason when it gave none.
const FAILED_WITHOUT_REASON: &str = "The gateway reports that the refund failed.";

pub(super) async fn apply(
    tx: &mut WriteTx,
    transaction_id: i64,
    reports: &[RefundUpdate],
) -> Result<RefundReports, ServiceError> {
    let mut done = RefundReports::default();
    for report in reports {
        let found =
            refunds::named(tx, transaction_id, report.refund_id.as_deref(), report.refund_reference.as_deref()).await?;
        let Some(refund) = found else {
            let name = report.refund_reference.as_deref().or(report.refund_id.as_deref()).unwrap_or("(unnamed)");
            done.notes.push(format!("refund {name} is not one of this transaction's"));
            continue;
        };
        let reference = report
            .refund_reference
            .clone()
            .or_else(|| refund.refund_reference.clone())
            .or_else(|| refund.refund_id.clone())
            .unwrap_or_default();
        match report.state {
            ReportedRefundState::Succeeded => {
                if refunds::confirm(&mut **tx, refund.id, &reference).await? {
                    done.notes.push(format!("refund {reference} succeeded"));
                    done.succeeded.push(refund);
                }
            }
            ReportedRefundState::Failed => {
                let message = report.error_message.clone().unwrap_or_else(|| FAILED_WITHOUT_REASON.to_string());
                if refunds::fail(&mut **tx, refund.id, &message).await? {
                    done.notes.push(format!("refund {reference} failed"));
                    done.failed.push((refund, message));
                }
            }
            ReportedRefundState::Pending => {
                if refund.state().is_unresolved() && refunds::accept(&mut **tx, refund.id, Some(&reference)).await? {
                    done.notes.push(format!("refund {reference} pending at the gateway"));
                }
            }
        }
    }
    Ok(done)
}
