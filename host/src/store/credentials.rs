//! Credential values, company-scoped, one row per (integration, name).

use std::collections::HashMap;

use super::{now, DbResult, Exec};

pub async fn all<'e>(exec: impl Exec<'e>, integration_id: i64) -> DbResult<HashMap<String, String>> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT name, value FROM credentials WHERE integration_id = $1")
        .bind(integration_id)
        .fetch_all(exec)
        .await?;
    Ok(rows.into_iter().collect())
}

/// Sets a value, or clears it with `None`.
pub async fn set<'e>(
    exec: impl Exec<'e>,
    integration_id: i64,
    company_id: i64,
    name: &str,
    value: Option<&str>,
) -> DbResult<()> {
    match value {
        Some(value) => sqlx::query(
            "INSERT INTO credentials (integration_id, company_id, name, value, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (integration_id, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        )
        .bind(integration_id)
        .bind(company_id)
        .bind(name)
        .bind(value)
        .bind(now())
        .execute(exec)
        .await?,
        None => {
            sqlx::query("DELETE FROM credentials WHERE integration_id = $1 AND name = $2")
                .bind(integration_id)
                .bind(name)
                .execute(exec)
                .await?
        }
    };
    Ok(())
}
