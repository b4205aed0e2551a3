//! Every webhook attempt, valid or not: for the transaction's `webhook_log` and for the
//! integration's list of attempts (`GET /api/integrations/{id}/webhooks`).

use super::{DbResult, Exec};

/// What became of an attempt, as the attempts list filters it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptResult {
    /// Verified and applied (to the transaction it names, if any).
    Accepted,
    /// The provider found the signature bad or missing.
    Rejected,
    /// Verified, but no transaction of this integration matches it.
    Unmatched,
    /// The provider failed (crashed, timed out, over a ceiling, an error of its own).
    ProviderFailed,
    /// The provider could not read the verified event.
    Unreadable,
}

impl AttemptResult {
    pub const ALL: [Self; 5] =
        [Self::Accepted, Self::Rejected, Self::Unmatched, Self::ProviderFailed, Self::Unreadable];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Rejected => "rejected",
            Self::Unmatched => "unmatched",
            Self::ProviderFailed => "provider_failed",
            Self::Unreadable => "unreadable",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|result| result.as_str() == text)
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct WebhookLogRow {
    pub received_at: String,
    pub event_type: Option<String>,
    pub signature_valid: i64,
    pub outcome: String,
}

/// An attempt as the integration's list shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub id: i64,
    pub received_at: String,
    pub event_type: Option<String>,
    pub signature_valid: i64,
    pub result: String,
    /// The state change, the provider's reason for a rejection, or the failure.
    pub outcome: String,
    pub transaction_id: Option<i64>,
}

pub struct NewWebhookLog<'a> {
    pub integration_id: i64,
    pub transaction_id: Option<i64>,
    pub received_at: &'a str,
    pub event_type: Option<&'a str>,
    pub signature_valid: bool,
    pub result: AttemptResult,
    pub outcome: &'a str,
}

pub async fn insert<'e>(exec: impl Exec<'e>, entry: &NewWebhookLog<'_>) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO webhook_log (integration_id, transaction_id, received_at, event_type, signature_valid, result, outcome)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entry.integration_id)
    .bind(entry.transaction_id)
    .bind(entry.received_at)
    .bind(entry.event_type)
    .bind(i64::from(entry.signature_valid))
    .bind(entry.result.as_str())
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

/// An integration's attempts, newest first, optionally of one result.
pub async fn for_integration<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    result: Option<AttemptResult>,
    limit: i64,
) -> DbResult<Vec<AttemptRow>> {
    sqlx::query_as(
        "SELECT id, received_at, event_type, signature_valid, result, outcome, transaction_id FROM webhook_log
         WHERE integration_id = $1 AND ($2 IS NULL OR result = $2) ORDER BY id DESC LIMIT $3",
    )
    .bind(integration_id)
    .bind(result.map(AttemptResult::as_str))
    .bind(limit)
    .fetch_all(exec)
    .await
}
