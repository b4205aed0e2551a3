//! Wrapped data keys, one per scope (`company:<id>` or `host`), and the fingerprint of the
//! master key that wraps them all (setting `master_key_id`). Only `secrets/` calls these.

use super::{now, settings, DbResult, Exec};

/// The setting naming the master key every data key is wrapped under.
const MASTER_KEY_SETTING: &str = "master_key_id";

#[derive(Clone, sqlx::FromRow)]
pub struct WrappedKeyRow {
    pub scope: String,
    pub wrapped: Vec<u8>,
    pub master_key_id: String,
}

pub async fn all<'e>(exec: impl Exec<'e>) -> DbResult<Vec<WrappedKeyRow>> {
    sqlx::query_as("SELECT scope, wrapped, master_key_id FROM data_keys ORDER BY scope").fetch_all(exec).await
}

pub async fn get<'e>(exec: impl Exec<'e>, scope: &str) -> DbResult<Option<WrappedKeyRow>> {
    sqlx::query_as("SELECT scope, wrapped, master_key_id FROM data_keys WHERE scope = $1")
        .bind(scope)
        .fetch_optional(exec)
        .await
}

pub async fn insert<'e>(exec: impl Exec<'e>, scope: &str, wrapped: &[u8], master_key_id: &str) -> DbResult<()> {
    sqlx::query("INSERT INTO data_keys (scope, wrapped, master_key_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(scope)
        .bind(wrapped)
        .bind(master_key_id)
        .bind(now())
        .execute(exec)
        .await?;
    Ok(())
}

/// Replaces a data key's wrapping (rotation); the data key itself is unchanged.
pub async fn rewrap<'e>(exec: impl Exec<'e>, scope: &str, wrapped: &[u8], master_key_id: &str) -> DbResult<()> {
    sqlx::query("UPDATE data_keys SET wrapped = $2, master_key_id = $3, rewrapped_at = $4 WHERE scope = $1")
        .bind(scope)
        .bind(wrapped)
        .bind(master_key_id)
        .bind(now())
        .execute(exec)
        .await?;
    Ok(())
}

/// The advisory lock of the master key id on PostgreSQL (an arbitrary constant of this host);
/// SQLite's one writer already serialises.
const MASTER_KEY_LOCK: i64 = 0x1e7e_0002;

/// [`master_key_id`] for a write transaction that wraps a data key under it, records it or
/// changes it: until the transaction ends no other transaction does any of these, so a data
/// key is never wrapped under a master key another host is replacing (a rotation, or the
/// first start of a second host on an empty database).
pub async fn master_key_id_locked(conn: &mut crate::store::WriteConn) -> DbResult<Option<String>> {
    if conn.is_postgres() {
        sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(MASTER_KEY_LOCK).execute(&mut *conn).await?;
    }
    master_key_id(conn).await
}

/// The fingerprint of the master key the database is under, once one was recorded.
pub async fn master_key_id<'e>(exec: impl Exec<'e>) -> DbResult<Option<String>> {
    settings::get(exec, MASTER_KEY_SETTING).await
}

pub async fn set_master_key_id<'e>(exec: impl Exec<'e>, id: &str) -> DbResult<()> {
    settings::set(exec, MASTER_KEY_SETTING, id).await
}
