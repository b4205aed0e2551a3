//! Messages (outbound and inbound) and their state history. State changes are
//! compare-and-set on the current state, like transactions.

use super::{now, DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MessageRow {
    pub id: i64,
    pub integration_id: i64,
    pub company_id: i64,
    pub direction: String,
    pub to_number: String,
    pub from_number: Option<String>,
    pub body: String,
    pub state: String,
    pub remote_id: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub document_model: Option<String>,
    pub document_id: Option<i64>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HistoryRow {
    pub state: String,
    pub at: String,
}

const COLUMNS: &str = "id, integration_id, company_id, direction, to_number, from_number, body, state, remote_id, \
    error_code, error_message, document_model, document_id, created_at, updated_at";

/// Inserts a message with its first history entry. With a `remote_id` already stored for the
/// integration (an inbound retry), inserts nothing and returns None.
pub async fn insert(conn: &mut crate::store::WriteConn, row: &MessageRow) -> DbResult<Option<MessageRow>> {
    let now = now();
    let inserted: Option<MessageRow> = sqlx::query_as(&format!(
        "INSERT INTO messages (integration_id, company_id, direction, to_number, from_number, body, state, remote_id,
            error_code, error_message, document_model, document_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
         ON CONFLICT (integration_id, remote_id) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(row.integration_id)
    .bind(row.company_id)
    .bind(&row.direction)
    .bind(&row.to_number)
    .bind(&row.from_number)
    .bind(&row.body)
    .bind(&row.state)
    .bind(&row.remote_id)
    .bind(&row.error_code)
    .bind(&row.error_message)
    .bind(&row.document_model)
    .bind(row.document_id)
    .bind(&now)
    .fetch_all(&mut *conn)
    .await
    .map(|rows| rows.into_iter().next())?;
    if let Some(message) = &inserted {
        add_history(&mut *conn, message.id, &message.state, &now).await?;
    }
    Ok(inserted)
}

async fn add_history<'e>(exec: impl Exec<'e>, message_id: i64, state: &str, at: &str) -> DbResult<()> {
    sqlx::query("INSERT INTO message_history (message_id, state, at) VALUES ($1, $2, $3)")
        .bind(message_id)
        .bind(state)
        .bind(at)
        .execute(exec)
        .await?;
    Ok(())
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<MessageRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE id = $1")).bind(id).fetch_optional(exec).await
}

pub async fn by_remote_id<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    remote_id: &str,
) -> DbResult<Option<MessageRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM messages WHERE integration_id = $1 AND remote_id = $2"))
        .bind(integration_id)
        .bind(remote_id)
        .fetch_optional(exec)
        .await
}

pub async fn history<'e>(exec: impl Exec<'e>, message_id: i64) -> DbResult<Vec<HistoryRow>> {
    sqlx::query_as("SELECT state, at FROM message_history WHERE message_id = $1 ORDER BY id")
        .bind(message_id)
        .fetch_all(exec)
        .await
}

/// Messages of a company (all companies when None), newest first.
pub async fn list<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    direction: Option<&str>,
    limit: i64,
) -> DbResult<Vec<MessageRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM messages WHERE ($1 IS NULL OR company_id = $1) AND ($2 IS NULL OR direction = $2)
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(company_id)
    .bind(direction)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// Writes a message's mutable fields if its state is still `expected_state`, recording the
/// new state in its history when it changed. False when another writer got there first.
pub async fn update_if_state(
    conn: &mut crate::store::WriteConn,
    row: &MessageRow,
    expected_state: &str,
) -> DbResult<bool> {
    let now = now();
    let result = sqlx::query(
        "UPDATE messages SET state = $3, remote_id = $4, error_code = $5, error_message = $6, updated_at = $7
         WHERE id = $1 AND state = $2",
    )
    .bind(row.id)
    .bind(expected_state)
    .bind(&row.state)
    .bind(&row.remote_id)
    .bind(&row.error_code)
    .bind(&row.error_message)
    .bind(&now)
    .execute(&mut *conn)
    .await?;
    let updated = result.rows_affected() == 1;
    if updated && row.state != expected_state {
        add_history(&mut *conn, row.id, &row.state, &now).await?;
    }
    Ok(updated)
}
