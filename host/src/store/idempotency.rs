//! Idempotency keys: the first request with a key runs and its response is kept; a retry
//! with the same body gets that response again, a different body is a conflict.

use super::{is_unique_violation, now, DbResult, Exec};

pub enum Claim {
    /// This request owns the key: run it, then `complete` or `release`.
    Owned,
    /// The key already answered this request.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running.
    InProgress,
}

pub async fn claim<'e, E: Exec<'e> + Copy>(exec: E, scope: &str, key: &str, request_hash: &str) -> DbResult<Claim> {
    let inserted =
        sqlx::query("INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)")
            .bind(scope)
            .bind(key)
            .bind(request_hash)
            .bind(now())
            .execute(exec)
            .await;
    match inserted {
        Ok(_) => return Ok(Claim::Owned),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let (hash, status, body): (String, Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT request_hash, status_code, response FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_one(exec)
    .await?;
    Ok(match (hash == request_hash, status, body) {
        (false, _, _) => Claim::Mismatch,
        (true, Some(status), Some(body)) => Claim::Replay {
            status: status as u16,
            body,
        },
        (true, _, _) => Claim::InProgress,
    })
}

pub async fn complete<'e>(exec: impl Exec<'e>, scope: &str, key: &str, status: u16, body: &str) -> DbResult<()> {
    sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(exec)
        .await?;
    Ok(())
}

/// Forgets a key whose request failed in a way worth retrying.
pub async fn release<'e>(exec: impl Exec<'e>, scope: &str, key: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status_code IS NULL")
        .bind(scope)
        .bind(key)
        .execute(exec)
        .await?;
    Ok(())
}
