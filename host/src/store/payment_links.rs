//! Payment links and the transactions started from them (`payment_links`,
//! `payment_link_transactions`).

use super::{now, returned, DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentLinkRow {
    pub id: i64,
    pub token: String,
    pub company_id: i64,
    pub document_model: String,
    pub document_id: i64,
    pub amount_minor: i64,
    pub currency: String,
    pub description: String,
    pub expires_at: Option<String>,
    pub created_at: String,
}

const COLUMNS: &str =
    "id, token, company_id, document_model, document_id, amount_minor, currency, description, expires_at, created_at";

/// Inserts a link (its `id` and `created_at` are ignored) and returns it as stored.
pub async fn insert<'e>(exec: impl Exec<'e>, row: &PaymentLinkRow) -> DbResult<PaymentLinkRow> {
    sqlx::query_as(&format!(
        "INSERT INTO payment_links (token, company_id, document_model, document_id, amount_minor, currency, description,
            expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(&row.token)
    .bind(row.company_id)
    .bind(&row.document_model)
    .bind(row.document_id)
    .bind(row.amount_minor)
    .bind(&row.currency)
    .bind(&row.description)
    .bind(&row.expires_at)
    .bind(now())
    .fetch_all(exec)
    .await
    .and_then(returned)
}

pub async fn by_token<'e>(exec: impl Exec<'e>, token: &str) -> DbResult<Option<PaymentLinkRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_links WHERE token = $1"))
        .bind(token)
        .fetch_optional(exec)
        .await
}

/// Records that `transaction_id` was started from link `link_id`.
pub async fn add_transaction<'e>(exec: impl Exec<'e>, link_id: i64, transaction_id: i64) -> DbResult<()> {
    sqlx::query("INSERT INTO payment_link_transactions (link_id, transaction_id) VALUES ($1, $2)")
        .bind(link_id)
        .bind(transaction_id)
        .execute(exec)
        .await?;
    Ok(())
}

/// `(transaction id, reference, state)` of every transaction of a link, oldest first.
pub async fn transaction_states<'e>(exec: impl Exec<'e>, link_id: i64) -> DbResult<Vec<(i64, String, String)>> {
    sqlx::query_as(
        "SELECT t.id, t.reference, t.state FROM payment_link_transactions l
         JOIN transactions t ON t.id = l.transaction_id
         WHERE l.link_id = $1 ORDER BY t.id",
    )
    .bind(link_id)
    .fetch_all(exec)
    .await
}
