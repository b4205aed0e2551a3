//! Credential values, company-scoped, one row per (integration, name), sealed under the
//! company's data key with the row's identity (integration, company, name) as associated
//! data, so a sealed value copied into another row does not open. Each row also records
//! whether the value was stored as a secret.

use std::collections::HashMap;
use std::fmt;

use zeroize::Zeroizing;

use super::{now, DbResult, Exec};
use crate::secrets::{row_identity, DataKey, Keyring, Scope, SealedValue, SecretsError};

/// One credential as stored: its value, and whether it was written as a secret (the
/// manifest's `secret: true` of the version live then, or of any version live when an earlier
/// value of it was written: replacing a secret's value keeps it secret). `Debug` never shows
/// the value.
#[derive(Clone)]
pub struct StoredCredential {
    pub value: Zeroizing<String>,
    pub secret: bool,
}

impl fmt::Debug for StoredCredential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredCredential").field("secret", &self.secret).finish_non_exhaustive()
    }
}

fn associated_data(integration_id: i64, company_id: i64, name: &str) -> Vec<u8> {
    row_identity("integrations-host credential v1", &[Some(integration_id), Some(company_id)], name)
}

/// Every credential of an integration, decrypted. A value that does not open is an error
/// naming the integration and the credential.
pub async fn all<'e>(
    exec: impl Exec<'e>,
    keys: &Keyring,
    integration_id: i64,
) -> Result<HashMap<String, StoredCredential>, SecretsError> {
    let rows: Vec<(String, i64, Option<Vec<u8>>, i64)> =
        sqlx::query_as("SELECT name, company_id, sealed, secret FROM credentials WHERE integration_id = $1")
            .bind(integration_id)
            .fetch_all(exec)
            .await?;
    let mut values = HashMap::with_capacity(rows.len());
    for (name, company_id, sealed, secret) in rows {
        let which = || SealedValue::Credential { integration_id, name: name.clone() };
        let sealed = sealed.ok_or_else(|| SecretsError::NotSealed(which()))?;
        let key = keys.existing_data_key(Scope::Company(company_id)).await?;
        let value = key
            .open(&associated_data(integration_id, company_id, &name), &sealed)
            .map_err(|_| SecretsError::Undecryptable(which()))?;
        values.insert(name, StoredCredential { value, secret: secret != 0 });
    }
    Ok(values)
}

/// The names of the credentials that have a value (nothing is decrypted).
pub async fn names<'e>(exec: impl Exec<'e>, integration_id: i64) -> DbResult<Vec<String>> {
    sqlx::query_scalar("SELECT name FROM credentials WHERE integration_id = $1")
        .bind(integration_id)
        .fetch_all(exec)
        .await
}

/// Sets a value sealed under `key` (the company's data key), or clears it with `None`.
pub async fn set<'e>(
    exec: impl Exec<'e>,
    key: &DataKey,
    integration_id: i64,
    company_id: i64,
    name: &str,
    value: Option<&str>,
    secret: bool,
) -> DbResult<()> {
    assert_eq!(key.scope(), Scope::Company(company_id), "a credential is sealed under its company's data key");
    match value {
        Some(value) => {
            sqlx::query(
                "INSERT INTO credentials (integration_id, company_id, name, value, sealed, secret, updated_at)
             VALUES ($1, $2, $3, '', $4, $5, $6)
             ON CONFLICT (integration_id, name) DO UPDATE SET company_id = excluded.company_id, value = '',
                 sealed = excluded.sealed, updated_at = excluded.updated_at,
                 secret = CASE WHEN credentials.secret = 1 OR excluded.secret = 1 THEN 1 ELSE 0 END",
            )
            .bind(integration_id)
            .bind(company_id)
            .bind(name)
            .bind(key.seal(&associated_data(integration_id, company_id, name), value))
            .bind(i64::from(secret))
            .bind(now())
            .execute(exec)
            .await?
        }
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

/// A credential an older version stored in plain text.
pub(crate) struct PlainCredential {
    integration_id: i64,
    pub(crate) company_id: i64,
    name: String,
    value: Zeroizing<String>,
}

pub(crate) async fn plain_rows(conn: &mut crate::store::WriteConn) -> DbResult<Vec<PlainCredential>> {
    let rows: Vec<(i64, i64, String, String)> =
        sqlx::query_as("SELECT integration_id, company_id, name, value FROM credentials WHERE sealed IS NULL")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(integration_id, company_id, name, value)| PlainCredential {
            integration_id,
            company_id,
            name,
            value: Zeroizing::new(value),
        })
        .collect())
}

/// Seals a plain row in place (and empties its plain column).
pub(crate) async fn seal_plain(
    conn: &mut crate::store::WriteConn,
    key: &DataKey,
    row: &PlainCredential,
) -> DbResult<()> {
    let sealed = key.seal(&associated_data(row.integration_id, row.company_id, &row.name), &row.value);
    sqlx::query(
        "UPDATE credentials SET sealed = $3, value = '' WHERE integration_id = $1 AND name = $2 AND sealed IS NULL",
    )
    .bind(row.integration_id)
    .bind(&row.name)
    .bind(sealed)
    .execute(conn)
    .await?;
    Ok(())
}
