//! Every module version the host has seen, with its component bytes and hash, and which
//! version of each module is live.

use super::{now, DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VersionRow {
    pub identifier: String,
    pub version: String,
    pub sha256: String,
    pub installed_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ModuleStateRow {
    pub identifier: String,
    pub active_version: String,
    pub installed: i64,
}

/// Records a version (its manifest as YAML, its bytes); recording it again changes nothing.
pub async fn record<'e>(
    exec: impl Exec<'e>,
    identifier: &str,
    version: &str,
    manifest_yaml: &str,
    sha256: &str,
    component: &[u8],
) -> DbResult<()> {
    sqlx::query(
        "INSERT INTO modules (identifier, version, manifest, sha256, component, installed_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (identifier, version) DO NOTHING",
    )
    .bind(identifier)
    .bind(version)
    .bind(manifest_yaml)
    .bind(sha256)
    .bind(component)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(())
}

pub async fn versions<'e>(exec: impl Exec<'e>, identifier: &str) -> DbResult<Vec<VersionRow>> {
    sqlx::query_as("SELECT identifier, version, sha256, installed_at FROM modules WHERE identifier = $1 ORDER BY installed_at, version")
        .bind(identifier)
        .fetch_all(exec)
        .await
}

/// A stored version's manifest (YAML) and component bytes.
pub async fn load<'e>(exec: impl Exec<'e>, identifier: &str, version: &str) -> DbResult<Option<(String, Vec<u8>)>> {
    sqlx::query_as("SELECT manifest, component FROM modules WHERE identifier = $1 AND version = $2")
        .bind(identifier)
        .bind(version)
        .fetch_optional(exec)
        .await
}

/// A stored version's manifest (YAML) alone.
pub async fn manifest<'e>(exec: impl Exec<'e>, identifier: &str, version: &str) -> DbResult<Option<String>> {
    sqlx::query_scalar("SELECT manifest FROM modules WHERE identifier = $1 AND version = $2")
        .bind(identifier)
        .bind(version)
        .fetch_optional(exec)
        .await
}

/// Every recorded version's manifest (YAML), by version.
pub async fn manifests<'e>(exec: impl Exec<'e>, identifier: &str) -> DbResult<Vec<(String, String)>> {
    sqlx::query_as("SELECT version, manifest FROM modules WHERE identifier = $1").bind(identifier).fetch_all(exec).await
}

pub async fn states<'e>(exec: impl Exec<'e>) -> DbResult<Vec<ModuleStateRow>> {
    sqlx::query_as("SELECT identifier, active_version, installed FROM module_state ORDER BY identifier")
        .fetch_all(exec)
        .await
}

pub async fn state<'e>(exec: impl Exec<'e>, identifier: &str) -> DbResult<Option<ModuleStateRow>> {
    sqlx::query_as("SELECT identifier, active_version, installed FROM module_state WHERE identifier = $1")
        .bind(identifier)
        .fetch_optional(exec)
        .await
}

/// Records a module's live version (or its uninstall). On PostgreSQL the change is also
/// announced on [`STATE_CHANNEL`] when the transaction commits, so other hosts follow it at
/// once ([`StateChanges`]).
pub async fn set_state(
    conn: &mut crate::store::WriteConn,
    identifier: &str,
    active_version: &str,
    installed: bool,
) -> DbResult<()> {
    if conn.is_postgres() {
        sqlx::query("SELECT pg_notify($1, $2)").bind(STATE_CHANNEL).bind(identifier).execute(&mut *conn).await?;
    }
    sqlx::query(
        "INSERT INTO module_state (identifier, active_version, installed, updated_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (identifier) DO UPDATE SET active_version = excluded.active_version, installed = excluded.installed,
            updated_at = excluded.updated_at",
    )
    .bind(identifier)
    .bind(active_version)
    .bind(i64::from(installed))
    .bind(now())
    .execute(conn)
    .await?;
    Ok(())
}

/// The PostgreSQL channel on which module state changes are announced.
pub const STATE_CHANNEL: &str = "integrations_module_state";

/// Announcements of module state changes made by any host on the database (PostgreSQL
/// `LISTEN`). A notification can be missed while the connection is re-made, so a follower
/// still polls ([`states`]) now and then.
pub struct StateChanges(sqlx::postgres::PgListener);

impl StateChanges {
    /// Listens on the PostgreSQL database at `url`.
    pub async fn listen(url: &str) -> DbResult<Self> {
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen(STATE_CHANNEL).await?;
        Ok(Self(listener))
    }

    /// Waits for the next announcement: the identifier of the module whose state changed.
    pub async fn next(&mut self) -> DbResult<String> {
        Ok(self.0.recv().await?.payload().to_string())
    }
}
