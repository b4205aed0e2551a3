//! Payment transactions. State changes are compare-and-set on the current state, so two
//! racing updates can never both apply.

use super::{now, returned, DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TransactionRow {
    pub id: i64,
    pub reference: String,
    pub integration_id: i64,
    pub company_id: i64,
    pub state: String,
    pub integration_type: String,
    pub amount_minor: i64,
    pub currency: String,
    pub refunded_minor: i64,
    pub gateway_reference: Option<String>,
    pub gateway_status: Option<String>,
    pub error_message: Option<String>,
    pub provider_data: Option<String>,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub return_url: Option<String>,
    pub cancel_url: Option<String>,
    pub contact: Option<String>,
    pub pending_action_data: Option<String>,
    pub test_mode: i64,
    pub created_at: String,
    pub updated_at: String,
    /// `automatic` or `manual` (captured later by `…/capture`).
    pub capture_mode: String,
    /// 1 when the ERP asked the gateway to save the payer's method.
    pub save_payment_method: i64,
    /// What a partial capture captured; None: the amount.
    pub captured_minor: Option<i64>,
    /// The saved method a merchant-initiated charge used.
    pub payment_method_id: Option<i64>,
}

impl TransactionRow {
    /// What was (or will be) captured: the most that can be refunded.
    pub fn capturable_minor(&self) -> i64 {
        self.captured_minor.unwrap_or(self.amount_minor)
    }
}

const COLUMNS: &str = "id, reference, integration_id, company_id, state, integration_type, amount_minor, currency, \
    refunded_minor, gateway_reference, gateway_status, error_message, provider_data, document_model, document_id, \
    return_url, cancel_url, contact, pending_action_data, test_mode, created_at, updated_at, capture_mode, \
    save_payment_method, captured_minor, payment_method_id";

/// Inserts a transaction (as given, usually Draft) and returns it with its id.
pub async fn insert<'e>(exec: impl Exec<'e>, row: &TransactionRow) -> DbResult<TransactionRow> {
    let now = now();
    sqlx::query_as(&format!(
        "INSERT INTO transactions (reference, integration_id, company_id, state, integration_type, amount_minor, currency,
            refunded_minor, document_model, document_id, return_url, cancel_url, contact, pending_action_data, test_mode,
            created_at, updated_at, capture_mode, save_payment_method, payment_method_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14, $15, $15, $16, $17, $18)
         RETURNING {COLUMNS}"
    ))
    .bind(&row.reference)
    .bind(row.integration_id)
    .bind(row.company_id)
    .bind(&row.state)
    .bind(&row.integration_type)
    .bind(row.amount_minor)
    .bind(&row.currency)
    .bind(&row.document_model)
    .bind(row.document_id)
    .bind(&row.return_url)
    .bind(&row.cancel_url)
    .bind(&row.contact)
    .bind(&row.pending_action_data)
    .bind(row.test_mode)
    .bind(now)
    .bind(&row.capture_mode)
    .bind(row.save_payment_method)
    .bind(row.payment_method_id)
    .fetch_all(exec)
    .await
    .and_then(returned)
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<TransactionRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM transactions WHERE id = $1")).bind(id).fetch_optional(exec).await
}

pub async fn by_reference<'e>(exec: impl Exec<'e>, reference: &str) -> DbResult<Option<TransactionRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM transactions WHERE reference = $1"))
        .bind(reference)
        .fetch_optional(exec)
        .await
}

/// Finds a transaction of an integration by the gateway's reference, else by ours. Two
/// indexed lookups (an `OR` across both columns would scan the table).
pub async fn find_in_integration(
    pool: &super::Reader,
    integration_id: i64,
    gateway_reference: Option<&str>,
    reference: Option<&str>,
) -> DbResult<Option<TransactionRow>> {
    if let Some(gateway_reference) = gateway_reference {
        let found = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM transactions WHERE integration_id = $1 AND gateway_reference = $2"
        ))
        .bind(integration_id)
        .bind(gateway_reference)
        .fetch_optional(pool)
        .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match reference {
        Some(reference) => {
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM transactions WHERE reference = $1 AND integration_id = $2"))
                .bind(reference)
                .bind(integration_id)
                .fetch_optional(pool)
                .await
        }
        None => Ok(None),
    }
}

/// Writes a transaction's mutable fields if its state is still `expected_state`. Returns
/// false when another writer got there first.
pub async fn update_if_state<'e>(exec: impl Exec<'e>, row: &TransactionRow, expected_state: &str) -> DbResult<bool> {
    let result = sqlx::query(
        "UPDATE transactions SET state = $3, refunded_minor = $4, gateway_reference = $5, gateway_status = $6,
            error_message = $7, provider_data = $8, updated_at = $9, captured_minor = $10
         WHERE id = $1 AND state = $2",
    )
    .bind(row.id)
    .bind(expected_state)
    .bind(&row.state)
    .bind(row.refunded_minor)
    .bind(&row.gateway_reference)
    .bind(&row.gateway_status)
    .bind(&row.error_message)
    .bind(&row.provider_data)
    .bind(now())
    .bind(row.captured_minor)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Removes a transaction that never got past Draft (its session could not be created).
/// Deletes a transaction still Draft, and its place in a payment link if it has one.
pub async fn delete_draft(conn: &mut crate::store::WriteConn, id: i64) -> DbResult<()> {
    sqlx::query(
        "DELETE FROM payment_link_transactions WHERE transaction_id = $1
           AND EXISTS (SELECT 1 FROM transactions WHERE id = $1 AND state = 'Draft')",
    )
    .bind(id)
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM transactions WHERE id = $1 AND state = 'Draft'").bind(id).execute(conn).await?;
    Ok(())
}

/// An integration's transactions still Pending or Authorized and created before `before`:
/// the ones a lost webhook may have left behind; those still Draft, whose session's answer
/// could not be stored (an initiate in progress is never that old); and those Captured with
/// a refund the gateway accepted and has not reported complete.
pub async fn open_before<'e>(exec: impl Exec<'e>, integration_id: i64, before: &str) -> DbResult<Vec<TransactionRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM transactions WHERE integration_id = $1 AND created_at <= $2
           AND (state IN ('Draft', 'Pending', 'Authorized')
                OR (state = 'Captured' AND EXISTS (SELECT 1 FROM refunds r WHERE r.transaction_id = transactions.id AND r.state = 'accepted')))
         ORDER BY id"
    ))
    .bind(integration_id)
    .bind(before)
    .fetch_all(exec)
    .await
}
