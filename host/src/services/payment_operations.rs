//! Capturing and voiding authorized payments (contract 1.1; API.md §3 "Online payment, part
//! two"). The operation is written open, with the id the gateway deduplicates on, before the
//! gateway is called, and at most one is open per transaction: of two racing captures one
//! reaches the gateway, the other is refused `operation_in_progress`. The id derives from the
//! caller's Idempotency-Key when there is one, so a retry after a lost answer (or a crash)
//! sends the same capture again and the gateway answers the one it made. An operation left
//! open without an answer is settled by that retry, by the scheduled sync reading the
//! gateway's state (the transaction leaving Authorized closes it), or, once it is 10 minutes
//! old, by the next request for the same operation, which sends it again under its own id.

use serde::Deserialize;
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use crate::domain::capabilities::Extent;
use crate::domain::money::format_minor;
use crate::domain::provider::payment::GatewayUpdate;
use crate::domain::provider::Money as ProviderMoney;
use crate::domain::transaction_state::TransactionState;
use crate::store::is_unique_violation;
use crate::store::payment_operations::{self, OperationKind, OperationRow};
use crate::store::transactions::{self, TransactionRow};

use super::online_payment::{parse_currency, parse_money};
use super::refund_verdict::{verdict, Verdict};
use super::{App, Caller, ServiceError};

/// An open operation not updated for this long has lost its caller (a request would have
/// finished within its call deadline): the next identical request asks the gateway again.
const OPERATION_STALE: std::time::Duration = std::time::Duration::from_secs(10 * 60);

/// `POST …/capture`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureRequest {
    /// None: the whole authorized amount.
    #[serde(default)]
    #[schema(schema_with = super::online_payment::optional_amount_schema)]
    pub amount: Option<Box<RawValue>>,
}

/// The operation id of a request with an Idempotency-Key: the same for every retry with it.
fn keyed_operation_id(reference: &str, kind: OperationKind, caller: Caller, key: &str) -> String {
    let digest = Sha256::digest(format!("{}\n{}\n{key}", caller.scope(), kind.as_str()).as_bytes());
    let letter = if kind == OperationKind::Capture { 'C' } else { 'V' };
    format!("{reference}-{letter}-{}", &hex::encode(digest)[..24])
}

fn not_authorized(row: &TransactionRow, kind: OperationKind) -> ServiceError {
    let code = if kind == OperationKind::Capture { "not_capturable" } else { "not_voidable" };
    ServiceError::conflict(
        code,
        format!(
            "Transaction {} is {}; only an Authorized payment can be {}.",
            row.reference,
            row.state,
            match kind {
                OperationKind::Capture => "captured",
                OperationKind::Void => "voided",
            }
        ),
    )
}

impl App {
    /// Captures `amount` (or all) of an Authorized payment.
    pub async fn capture(
        &self,
        caller: Caller,
        id: i64,
        request: CaptureRequest,
        idempotency_key: Option<&str>,
    ) -> Result<TransactionRow, ServiceError> {
        let row = self.visible_transaction(caller, id).await?;
        let currency = parse_currency(&row.currency)?;
        let amount = match &request.amount {
            Some(raw) => parse_money(raw, currency)?.minor,
            None => row.amount_minor,
        };
        self.operate(caller, row, OperationKind::Capture, Some(amount), idempotency_key, |row, manifest| {
            let name = &manifest.name;
            match manifest.capabilities().manual_capture {
                Extent::None => {
                    Err(ServiceError::invalid("unsupported", format!("{name} does not capture payments later.")))
                }
                _ if amount > row.amount_minor => Err(ServiceError::invalid(
                    "capture_exceeds_amount",
                    format!(
                        "Only {} {} of {} was authorized.",
                        format_minor(row.amount_minor, currency),
                        currency.code(),
                        row.reference
                    ),
                )),
                Extent::Full if amount != row.amount_minor => Err(ServiceError::invalid(
                    "unsupported",
                    format!(
                        "{name} captures only the whole amount: leave out `amount`, or send {} {}.",
                        format_minor(row.amount_minor, currency),
                        currency.code()
                    ),
                )),
                _ => Ok(()),
            }
        })
        .await
    }

    /// Releases an Authorized payment.
    pub async fn void(
        &self,
        caller: Caller,
        id: i64,
        idempotency_key: Option<&str>,
    ) -> Result<TransactionRow, ServiceError> {
        let row = self.visible_transaction(caller, id).await?;
        self.operate(caller, row, OperationKind::Void, None, idempotency_key, |_, manifest| {
            match manifest.capabilities().manual_capture {
                Extent::None => Err(ServiceError::invalid(
                    "unsupported",
                    format!("{} does not hold payments to void them.", manifest.name),
                )),
                _ => Ok(()),
            }
        })
        .await
    }

    async fn operate(
        &self,
        caller: Caller,
        row: TransactionRow,
        kind: OperationKind,
        amount: Option<i64>,
        idempotency_key: Option<&str>,
        allowed: impl FnOnce(&TransactionRow, &crate::domain::manifest::Manifest) -> Result<(), ServiceError>,
    ) -> Result<TransactionRow, ServiceError> {
        let operation_id = idempotency_key.map(|key| keyed_operation_id(&row.reference, kind, caller, key));
        if let Some(operation_id) = &operation_id {
            if let Some(existing) = payment_operations::by_operation_id(self.db.read(), operation_id).await? {
                return self.resume_operation(existing, amount).await;
            }
        }
        if row.state != TransactionState::Authorized.as_str() {
            return Err(not_authorized(&row, kind));
        }
        let integration = self.integration_of(&row).await?;
        let module = self.module_of(&integration)?;
        allowed(&row, &module.manifest)?;
        if amount.is_some_and(|amount| amount <= 0) {
            return Err(ServiceError::invalid("invalid_amount", "amount must be more than zero."));
        }

        let mut tx = self.db.tx().await?;
        tx.lock_transaction(row.id).await?;
        let row = transactions::get(&mut *tx, row.id).await?.unwrap_or(row);
        if row.state != TransactionState::Authorized.as_str() {
            return Err(not_authorized(&row, kind));
        }
        let numbered;
        let operation_id = match &operation_id {
            Some(id) => id.as_str(),
            None => {
                numbered = format!("{}-{}-{}", row.reference, kind.as_str(), rand::random::<u64>());
                numbered.as_str()
            }
        };
        let operation = match payment_operations::open(&mut tx, row.id, kind, amount, operation_id).await {
            Ok(operation) => operation,
            Err(error) if is_unique_violation(&error) => {
                drop(tx);
                if let Some(existing) = payment_operations::by_operation_id(self.db.read(), operation_id).await? {
                    return self.resume_operation(existing, amount).await;
                }
                // One left open without an answer long ago (its host died mid-call) is asked
                // again, under its own id, by the next request for the same operation.
                let open = payment_operations::open_of(self.db.read(), row.id).await?;
                if let Some(open) = open.filter(|open| {
                    open.kind == kind.as_str()
                        && open.amount_minor == amount
                        && open.updated_at.as_str() < crate::store::time_ago(OPERATION_STALE).as_str()
                }) {
                    return self.resume_operation(open, amount).await;
                }
                return Err(ServiceError::conflict(
                    "operation_in_progress",
                    format!(
                        "Another capture or void of {} is in progress; wait for its answer, then read the transaction.",
                        row.reference
                    ),
                ));
            }
            Err(error) => return Err(error.into()),
        };
        tx.commit().await?;
        self.attempt_operation(&operation, &row, true).await
    }

    /// An operation this Idempotency-Key named before: its outcome, after repeating it when
    /// it is still open.
    async fn resume_operation(
        &self,
        existing: OperationRow,
        amount: Option<i64>,
    ) -> Result<TransactionRow, ServiceError> {
        if existing.amount_minor != amount && amount.is_some() {
            return Err(ServiceError::conflict(
                "idempotency_key_reused",
                "This Idempotency-Key names a capture of another amount; retry it with the same amount.",
            ));
        }
        let row = transactions::get(self.db.read(), existing.transaction_id).await?.ok_or_else(|| {
            ServiceError::NotFound(format!("Transaction {} does not exist.", existing.transaction_id))
        })?;
        match existing.state.as_str() {
            "done" => Ok(row),
            "failed" => Err(ServiceError::invalid(
                "operation_failed",
                existing.error_message.unwrap_or_else(|| "The gateway refused it.".into()),
            )),
            _ if row.state != TransactionState::Authorized.as_str() => Ok(row),
            _ => self.attempt_operation(&existing, &row, false).await,
        }
    }

    /// Asks the provider once, under the operation's own id, and books the answer.
    async fn attempt_operation(
        &self,
        operation: &OperationRow,
        row: &TransactionRow,
        first: bool,
    ) -> Result<TransactionRow, ServiceError> {
        let integration = self.integration_of(row).await?;
        let kind = if operation.kind == "void" { OperationKind::Void } else { OperationKind::Capture };
        let view = self.provider_view(row);
        let (answer, outbound) = match self.payment_provider(&integration).await {
            Ok(mut provider) => {
                let answer = match kind {
                    OperationKind::Capture => {
                        let amount = operation.amount_minor.unwrap_or(row.amount_minor);
                        let money = ProviderMoney { amount_minor: amount, currency: row.currency.clone() };
                        provider.capture(&view, &money, &operation.operation_id).await
                    }
                    OperationKind::Void => provider.void(&view).await,
                };
                (answer.map_err(ServiceError::from), provider.outbound_requests())
            }
            Err(error) => (Err(error), 0),
        };
        match verdict(answer, outbound, first) {
            Verdict::Book(update) => {
                let update = self.operation_update(operation, row, kind, update);
                Ok(self.apply_update(row.id, &update, None).await?.transaction)
            }
            Verdict::Refused(message) => {
                let mut tx = self.db.tx().await?;
                payment_operations::fail(&mut *tx, operation.id, &message).await?;
                tx.commit().await?;
                Err(ServiceError::invalid("operation_failed", message))
            }
            Verdict::NeverSent(error) => {
                let mut tx = self.db.tx().await?;
                payment_operations::release(&mut *tx, operation.id).await?;
                tx.commit().await?;
                Err(error)
            }
            Verdict::InDoubt(why) => {
                tracing::warn!(transaction = %row.reference, operation = %operation.operation_id, %why, "{} in doubt", kind.as_str());
                Err(ServiceError::OperationInDoubt { transaction_id: row.id, kind: kind.as_str(), message: why })
            }
        }
    }

    /// The provider's answer, as the update it means: only the state the operation leads to
    /// (a provider answering a capture with Refunded, say, is not believed), and what a
    /// partial capture captured.
    fn operation_update(
        &self,
        operation: &OperationRow,
        row: &TransactionRow,
        kind: OperationKind,
        mut update: GatewayUpdate,
    ) -> GatewayUpdate {
        let expected = match kind {
            OperationKind::Capture => TransactionState::Captured,
            OperationKind::Void => TransactionState::Cancelled,
        };
        if update.state.is_some_and(|state| state != expected) {
            tracing::warn!(transaction = %row.reference, state = ?update.state, "a {} answered another state; ignored", kind.as_str());
            update.state = None;
        }
        if kind == OperationKind::Capture && update.state == Some(TransactionState::Captured) {
            let requested = operation.amount_minor.unwrap_or(row.amount_minor);
            update.captured_minor = Some(update.captured_minor.unwrap_or(requested).min(requested));
        }
        // Saved methods and refunds are not a capture's or void's to report.
        update.saved_payment_method = None;
        update.refunds.clear();
        update
    }
}
