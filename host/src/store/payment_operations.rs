//! Captures and voids of authorized payments. An operation is written `open`, with the id the
//! gateway deduplicates on, before the gateway is called; at most one is open per transaction
//! (a unique index), so two racing captures never both reach the gateway. It closes `done`
//! when the transaction leaves Authorized the way it meant (Captured for a capture, Cancelled
//! for a void), `failed` when the gateway refused it or the transaction went another way.

use super::{now, returned, DbResult, Exec};

/// What an operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    Capture,
    Void,
}

impl OperationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Capture => "capture",
            Self::Void => "void",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OperationRow {
    pub id: i64,
    pub transaction_id: i64,
    pub kind: String,
    pub amount_minor: Option<i64>,
    pub operation_id: String,
    pub state: String,
    pub error_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

const COLUMNS: &str =
    "id, transaction_id, kind, amount_minor, operation_id, state, error_message, created_at, updated_at";

/// Opens an operation (unique per transaction while open, and by `operation_id`).
pub async fn open(
    conn: &mut crate::store::WriteConn,
    transaction_id: i64,
    kind: OperationKind,
    amount_minor: Option<i64>,
    operation_id: &str,
) -> DbResult<OperationRow> {
    let now = now();
    sqlx::query_as(&format!(
        "INSERT INTO payment_operations (transaction_id, kind, amount_minor, operation_id, state, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(transaction_id)
    .bind(kind.as_str())
    .bind(amount_minor)
    .bind(operation_id)
    .bind(now)
    .fetch_all(conn)
    .await
    .and_then(returned)
}

pub async fn by_operation_id<'e>(exec: impl Exec<'e>, operation_id: &str) -> DbResult<Option<OperationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_operations WHERE operation_id = $1"))
        .bind(operation_id)
        .fetch_optional(exec)
        .await
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<OperationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_operations WHERE id = $1"))
        .bind(id)
        .fetch_optional(exec)
        .await
}

/// The transaction's open operation, if any.
pub async fn open_of<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<Option<OperationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_operations WHERE transaction_id = $1 AND state = 'open'"))
        .bind(transaction_id)
        .fetch_optional(exec)
        .await
}

/// Fails an open operation with the gateway's message; false if it was not open.
pub async fn fail<'e>(exec: impl Exec<'e>, id: i64, message: &str) -> DbResult<bool> {
    let result = sqlx::query(
        "UPDATE payment_operations SET state = 'failed', error_message = $2, updated_at = $3 WHERE id = $1 AND state = 'open'",
    )
    .bind(id)
    .bind(message)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Forgets an open operation that never reached the gateway.
pub async fn release<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<()> {
    sqlx::query("DELETE FROM payment_operations WHERE id = $1 AND state = 'open'").bind(id).execute(exec).await?;
    Ok(())
}

/// Closes the open operation of a transaction that left Authorized for `state`: `done` when
/// that is where it was going, else `failed` saying where the payment went instead.
pub async fn close_for_state<'e>(exec: impl Exec<'e>, transaction_id: i64, state: &str) -> DbResult<()> {
    sqlx::query(
        "UPDATE payment_operations
            SET state = CASE WHEN (kind = 'capture' AND $2 IN ('Captured', 'Refunded')) OR (kind = 'void' AND $2 = 'Cancelled')
                             THEN 'done' ELSE 'failed' END,
                error_message = CASE WHEN (kind = 'capture' AND $2 IN ('Captured', 'Refunded')) OR (kind = 'void' AND $2 = 'Cancelled')
                             THEN NULL ELSE 'The payment became ' || $2 || ' first.' END,
                updated_at = $3
          WHERE transaction_id = $1 AND state = 'open'",
    )
    .bind(transaction_id)
    .bind(state)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(())
}
