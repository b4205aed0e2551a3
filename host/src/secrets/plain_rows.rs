//! Sealing the values an older version stored in plain text, at start, in one write
//! transaction: a crash halfway leaves every row as it was (still plain, still readable by
//! this pass), and the next start finishes. Data keys created here are written in the same
//! transaction and kept in memory only once it committed. When anything was sealed, the
//! database file is then rewritten (`VACUUM`, WAL truncated), so no freed page or old WAL
//! frame keeps a plain value.

use std::collections::HashMap;
use std::sync::Arc;

use super::{DataKey, Keyring, Scope, SecretsError};
use crate::store::{credentials, events, Db};

/// Seals every plain credential and endpoint secret; answers how many of each.
pub(super) async fn seal_plain_rows(db: &Db, keys: &Keyring) -> Result<(usize, usize), SecretsError> {
    let mut tx = db.tx().await?;
    let plain_credentials = credentials::plain_rows(&mut tx).await?;
    let plain_endpoints = events::plain_secrets(&mut tx).await?;
    if plain_credentials.is_empty() && plain_endpoints.is_empty() {
        return Ok((0, 0));
    }
    let mut created: HashMap<Scope, Arc<DataKey>> = HashMap::new();
    for row in &plain_credentials {
        let key = key_for(keys, &mut tx, &mut created, Scope::Company(row.company_id)).await?;
        credentials::seal_plain(&mut tx, &key, row).await?;
    }
    for row in &plain_endpoints {
        let key = key_for(keys, &mut tx, &mut created, Scope::of(row.company_id)).await?;
        events::seal_plain_secret(&mut tx, &key, row).await?;
    }
    tx.commit().await?;
    for key in created.into_values() {
        keys.remember(key);
    }
    db.compact().await?;
    Ok((plain_credentials.len(), plain_endpoints.len()))
}

async fn key_for(
    keys: &Keyring,
    conn: &mut crate::store::WriteConn,
    created: &mut HashMap<Scope, Arc<DataKey>>,
    scope: Scope,
) -> Result<Arc<DataKey>, SecretsError> {
    if let Some(key) = keys.cached(scope).or_else(|| created.get(&scope).cloned()) {
        return Ok(key);
    }
    let (key, _) = keys.key_in_transaction(conn, scope).await?;
    created.insert(scope, key.clone());
    Ok(key)
}
