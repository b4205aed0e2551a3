//! Payment records: created once when a transaction reaches Captured.

use super::{now, DbResult, Exec};
use crate::store::transactions::TransactionRow;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub id: i64,
    pub transaction_id: i64,
    pub company_id: i64,
    pub integration_id: i64,
    pub reference: String,
    pub amount_minor: i64,
    pub currency: String,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub created_at: String,
}

/// Creates the transaction's Payment unless it exists; true when this call created it.
pub async fn create_once<'e>(exec: impl Exec<'e>, transaction: &TransactionRow) -> DbResult<bool> {
    let result = sqlx::query(
        "INSERT INTO payments (transaction_id, company_id, integration_id, reference, amount_minor, currency,
            document_model, document_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (transaction_id) DO NOTHING",
    )
    .bind(transaction.id)
    .bind(transaction.company_id)
    .bind(transaction.integration_id)
    .bind(&transaction.reference)
    .bind(transaction.capturable_minor())
    .bind(&transaction.currency)
    .bind(&transaction.document_model)
    .bind(transaction.document_id)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Payments filtered by document and company, oldest first.
pub async fn list<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    document_model: Option<&str>,
    document_id: Option<i64>,
) -> DbResult<Vec<PaymentRow>> {
    sqlx::query_as(
        "SELECT id, transaction_id, company_id, integration_id, reference, amount_minor, currency, document_model, document_id, created_at
         FROM payments
         WHERE ($1 IS NULL OR company_id = $1) AND ($2 IS NULL OR document_model = $2) AND ($3 IS NULL OR document_id = $3)
         ORDER BY id",
    )
    .bind(company_id)
    .bind(document_model)
    .bind(document_id)
    .fetch_all(exec)
    .await
}
