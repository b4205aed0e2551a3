//! The IntegrationMapper: local id ↔ remote id per model and integration.

use super::{now, DbResult, Exec};

pub async fn remote_id<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    model: &str,
    local_id: &str,
) -> DbResult<Option<String>> {
    sqlx::query_scalar("SELECT remote_id FROM mappings WHERE integration_id = $1 AND model = $2 AND local_id = $3")
        .bind(integration_id)
        .bind(model)
        .bind(local_id)
        .fetch_optional(exec)
        .await
}

pub async fn local_id<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    model: &str,
    remote_id: &str,
) -> DbResult<Option<String>> {
    sqlx::query_scalar("SELECT local_id FROM mappings WHERE integration_id = $1 AND model = $2 AND remote_id = $3 ORDER BY created_at LIMIT 1")
        .bind(integration_id)
        .bind(model)
        .bind(remote_id)
        .fetch_optional(exec)
        .await
}

/// Creates or replaces the mapping of `local_id`, unless that would give the integration more
/// than `max_entries` mappings. Returns whether it was stored. One statement; on PostgreSQL
/// two writers can still both count below the quota, so run it in a transaction that holds
/// [`super::WriteTx::lock_integration`].
pub async fn put_within<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    model: &str,
    local_id: &str,
    remote_id: &str,
    max_entries: i64,
) -> DbResult<bool> {
    let result = sqlx::query(
        "INSERT INTO mappings (integration_id, model, local_id, remote_id, created_at)
         SELECT $1, $2, $3, $4, $5
         WHERE (SELECT COUNT(*) FROM mappings WHERE integration_id = $1) < $6
            OR EXISTS (SELECT 1 FROM mappings WHERE integration_id = $1 AND model = $2 AND local_id = $3)
         ON CONFLICT (integration_id, model, local_id) DO UPDATE SET remote_id = excluded.remote_id",
    )
    .bind(integration_id)
    .bind(model)
    .bind(local_id)
    .bind(remote_id)
    .bind(now())
    .bind(max_entries)
    .execute(exec)
    .await?;
    Ok(result.rows_affected() > 0)
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MappingRow {
    pub model: String,
    pub local_id: String,
    pub remote_id: String,
    pub created_at: String,
}

/// An integration's mappings, by model then local id.
pub async fn list<'e>(exec: impl Exec<'e>, integration_id: i64) -> DbResult<Vec<MappingRow>> {
    sqlx::query_as("SELECT model, local_id, remote_id, created_at FROM mappings WHERE integration_id = $1 ORDER BY model, local_id")
        .bind(integration_id)
        .fetch_all(exec)
        .await
}
