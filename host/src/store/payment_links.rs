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
    pub revoked_at: Option<String>,
}

/// A transaction started from a link, as the link's status and page need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct LinkTransaction {
    pub link_id: i64,
    pub transaction_id: i64,
    pub reference: String,
    pub state: String,
    pub integration_id: i64,
    pub created_at: String,
    /// Where its payer was sent (a redirect session), once the gateway answered.
    pub redirect_url: Option<String>,
}

const COLUMNS: &str = "id, token, company_id, document_model, document_id, amount_minor, currency, description, \
                       expires_at, created_at, revoked_at";

/// Inserts a link (its `id`, `created_at` and `revoked_at` are ignored) and returns it as
/// stored.
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

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<PaymentLinkRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_links WHERE id = $1")).bind(id).fetch_optional(exec).await
}

/// A company's links (every company's with None), newest first: at most `limit`, with ids
/// below `before` when given.
pub async fn list<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    before: Option<i64>,
    limit: i64,
) -> DbResult<Vec<PaymentLinkRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_links
         WHERE ($1 IS NULL OR company_id = $1) AND ($2 IS NULL OR id < $2)
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(company_id)
    .bind(before)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// Marks a link revoked at `at` unless it already is; true when this call revoked it.
pub async fn revoke<'e>(exec: impl Exec<'e>, id: i64, at: &str) -> DbResult<bool> {
    let done = sqlx::query("UPDATE payment_links SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL")
        .bind(id)
        .bind(at)
        .execute(exec)
        .await?;
    Ok(done.rows_affected() == 1)
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

/// Keeps where the payer of `transaction_id` was sent, for a second payer of the same link.
pub async fn set_redirect_url<'e>(exec: impl Exec<'e>, transaction_id: i64, url: &str) -> DbResult<()> {
    sqlx::query("UPDATE payment_link_transactions SET redirect_url = $2 WHERE transaction_id = $1")
        .bind(transaction_id)
        .bind(url)
        .execute(exec)
        .await?;
    Ok(())
}

const TRANSACTION_COLUMNS: &str =
    "l.link_id, t.id AS transaction_id, t.reference, t.state, t.integration_id, t.created_at, l.redirect_url";

/// Every transaction of a link, oldest first.
pub async fn transactions<'e>(exec: impl Exec<'e>, link_id: i64) -> DbResult<Vec<LinkTransaction>> {
    sqlx::query_as(&format!(
        "SELECT {TRANSACTION_COLUMNS} FROM payment_link_transactions l
         JOIN transactions t ON t.id = l.transaction_id
         WHERE l.link_id = $1 ORDER BY t.id"
    ))
    .bind(link_id)
    .fetch_all(exec)
    .await
}

/// Every transaction of the links `from..=to` (ids) of `company_id` (every company's with
/// None), for a page of the list: with the page's own filter, exactly the page's links.
pub async fn transactions_of_range<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    from: i64,
    to: i64,
) -> DbResult<Vec<LinkTransaction>> {
    sqlx::query_as(&format!(
        "SELECT {TRANSACTION_COLUMNS} FROM payment_link_transactions l
         JOIN transactions t ON t.id = l.transaction_id
         JOIN payment_links p ON p.id = l.link_id
         WHERE l.link_id BETWEEN $1 AND $2 AND ($3 IS NULL OR p.company_id = $3) ORDER BY t.id"
    ))
    .bind(from)
    .bind(to)
    .bind(company_id)
    .fetch_all(exec)
    .await
}
