//! Host-wide settings (the admin key's hash).

use super::{DbResult, Exec};

pub async fn get<'e>(exec: impl Exec<'e>, key: &str) -> DbResult<Option<String>> {
    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(exec).await
}

/// Stores `value` unless `key` has one; true when this call stored it (of two racing hosts,
/// exactly one).
pub async fn set_if_absent<'e>(exec: impl Exec<'e>, key: &str, value: &str) -> DbResult<bool> {
    let inserted = sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
        .bind(key)
        .bind(value)
        .execute(exec)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

pub async fn set<'e>(exec: impl Exec<'e>, key: &str, value: &str) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(exec)
    .await?;
    Ok(())
}
