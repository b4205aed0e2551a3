//! Payment methods a gateway saved for merchant-initiated charges, per company and ERP
//! contact. The gateway's token (its customer and method ids) is sealed under the company's
//! data key with the row's identity (company, integration, the transaction that saved it) as
//! associated data; only the label ("Visa •••• 4242") and expiry are stored readable. A
//! transaction saves at most one method (unique), so a repeated webhook saves nothing twice.

use zeroize::Zeroizing;

use super::{now, DbResult, Exec};
use crate::secrets::{row_identity, DataKey, Keyring, Scope, SealedValue, SecretsError};

/// A saved method as listed: never its token.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentMethodRow {
    pub id: i64,
    pub company_id: i64,
    pub integration_id: i64,
    pub contact_id: String,
    pub label: String,
    pub expires: Option<String>,
    pub transaction_id: i64,
    pub created_at: String,
}

/// A method to save.
pub struct NewPaymentMethod<'a> {
    pub company_id: i64,
    pub integration_id: i64,
    pub contact_id: &'a str,
    pub token: &'a str,
    pub label: &'a str,
    pub expires: Option<&'a str>,
    pub transaction_id: i64,
}

const COLUMNS: &str = "id, company_id, integration_id, contact_id, label, expires, transaction_id, created_at";

fn associated_data(company_id: i64, integration_id: i64, transaction_id: i64) -> Vec<u8> {
    row_identity(
        "integrations-host payment method v1",
        &[Some(company_id), Some(integration_id)],
        &transaction_id.to_string(),
    )
}

/// Saves a method sealed under `key` (its company's); None when its transaction saved one
/// already.
pub async fn insert(
    conn: &mut crate::store::WriteConn,
    key: &DataKey,
    method: &NewPaymentMethod<'_>,
) -> DbResult<Option<PaymentMethodRow>> {
    assert_eq!(key.scope(), Scope::Company(method.company_id), "a token is sealed under its company's data key");
    let sealed =
        key.seal(&associated_data(method.company_id, method.integration_id, method.transaction_id), method.token);
    let rows: Vec<PaymentMethodRow> = sqlx::query_as(&format!(
        "INSERT INTO payment_methods (company_id, integration_id, contact_id, sealed, label, expires, transaction_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (transaction_id) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(method.company_id)
    .bind(method.integration_id)
    .bind(method.contact_id)
    .bind(sealed)
    .bind(method.label)
    .bind(method.expires)
    .bind(method.transaction_id)
    .bind(now())
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().next())
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<PaymentMethodRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM payment_methods WHERE id = $1")).bind(id).fetch_optional(exec).await
}

/// Most methods one listing answers.
pub const LISTED: i64 = 1000;

/// A company's (or every company's) methods, of one contact when given, newest first.
pub async fn list<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    contact_id: Option<&str>,
) -> DbResult<Vec<PaymentMethodRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM payment_methods WHERE ($1 IS NULL OR company_id = $1) AND ($2 IS NULL OR contact_id = $2)
         ORDER BY id DESC LIMIT $3"
    ))
    .bind(company_id)
    .bind(contact_id)
    .bind(LISTED)
    .fetch_all(exec)
    .await
}

/// The gateway token of a saved method, opened.
pub async fn token<'e>(
    exec: impl Exec<'e>,
    keys: &Keyring,
    row: &PaymentMethodRow,
) -> Result<Zeroizing<String>, SecretsError> {
    let which = || SealedValue::PaymentMethod { id: row.id };
    let sealed: Option<Vec<u8>> = sqlx::query_scalar("SELECT sealed FROM payment_methods WHERE id = $1")
        .bind(row.id)
        .fetch_optional(exec)
        .await?;
    let sealed = sealed.ok_or_else(|| SecretsError::NotSealed(which()))?;
    let key = keys.existing_data_key(Scope::Company(row.company_id)).await?;
    key.open(&associated_data(row.company_id, row.integration_id, row.transaction_id), &sealed)
        .map_err(|_| SecretsError::Undecryptable(which()))
}

/// Deletes a method; false if it was gone.
pub async fn delete<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<bool> {
    let done = sqlx::query("DELETE FROM payment_methods WHERE id = $1").bind(id).execute(exec).await?;
    Ok(done.rows_affected() == 1)
}
