//! Every webhook attempt, valid or not, for the transaction's `webhook_log`.

use super::{DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookLogRow {
    pub received_at: String,
    pub event_type: Option<String>,
    pub signature_valid: i64,
    pub outcome: String,
}

pub struct NewWebhookLog<'a> {
    pub integration_id: i64,
    pub transaction_id: Option<i64>,
    pub received_at: &'a str,
    pub event_type: Option<&'a str>,
    pub signature_valid: bool,
    pub outcome: &'a str,
}

pub async fn insert<'e>(exec: impl Exec<'e>, entry: &NewWebhookLog<'_>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO webhook_log (integration_id, transaction_id, received_at, event_type, signature_valid, outcome)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(entry.integration_id)
    .bind(entry.transaction_id)
    .bind(entry.received_at)
    .bind(entry.event_type)
    .bind(i64::from(entry.signature_valid))
    .bind(entry.outcome)
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn for_transaction<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<Vec<WebhookLogRow>> {
    sqlx::query_as("SELECT received_at, event_type, signature_valid, outcome FROM webhook_log WHERE transaction_id = $1 ORDER BY id")
        .bind(transaction_id)
        .fetch_all(exec)
        .await
}
