//! Refunds. An amount is reserved (`pending`) before the gateway is called and confirmed
//! (`succeeded`) or released after, so racing refunds never exceed what was captured.

use super::{now, returned, DbResult, Exec};

/// Minor units reserved or refunded for a transaction.
pub async fn committed_total<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<i64> {
    let total: Option<i64> =
        sqlx::query_scalar("SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds WHERE transaction_id = $1")
            .bind(transaction_id)
            .fetch_one(exec)
            .await?;
    Ok(total.unwrap_or(0))
}

pub async fn reserve<'e>(exec: impl Exec<'e>, transaction_id: i64, amount_minor: i64) -> DbResult<i64> {
    let now = now();
    sqlx::query_scalar(
        "INSERT INTO refunds (transaction_id, amount_minor, state, created_at, updated_at) VALUES ($1, $2, 'pending', $3, $3) RETURNING id",
    )
    .bind(transaction_id)
    .bind(amount_minor)
    .bind(now)
    .fetch_all(exec)
    .await
    .and_then(returned)
}

pub async fn confirm<'e>(exec: impl Exec<'e>, id: i64, refund_reference: &str) -> DbResult<()> {
    sqlx::query("UPDATE refunds SET state = 'succeeded', refund_reference = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(refund_reference)
        .bind(now())
        .execute(exec)
        .await?;
    Ok(())
}

pub async fn release<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<()> {
    sqlx::query("DELETE FROM refunds WHERE id = $1").bind(id).execute(exec).await?;
    Ok(())
}
