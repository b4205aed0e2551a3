//! Company API keys, stored as SHA-256 hashes of the key.

use super::{now, returned, DbResult, Exec};

pub async fn insert<'e>(exec: impl Exec<'e>, company_id: i64, name: &str, key_hash: &str) -> DbResult<i64> {
    sqlx::query_scalar(
        "INSERT INTO api_keys (company_id, name, key_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(company_id)
    .bind(name)
    .bind(key_hash)
    .bind(now())
    .fetch_all(exec)
    .await
    .and_then(returned)
}

/// The (key id, company id) a key hash belongs to.
pub async fn find<'e>(exec: impl Exec<'e>, key_hash: &str) -> DbResult<Option<(i64, i64)>> {
    sqlx::query_as("SELECT id, company_id FROM api_keys WHERE key_hash = $1").bind(key_hash).fetch_optional(exec).await
}
