//! Persistence with sqlx. SQLite (WAL, one file) by default. Queries use `$N` placeholders,
//! integer booleans, text timestamps and `RETURNING`, which SQLite and PostgreSQL share, so a
//! PostgreSQL backend needs its own migrations folder and no query rewrites. One file per
//! table family; functions take any executor (the pool or an open transaction).

pub mod api_keys;
pub mod credentials;
pub mod data_keys;
pub mod events;
pub mod idempotency;
pub mod integrations;
pub mod mappings;
pub mod messages;
pub mod modules;
pub mod payment_links;
pub mod payments;
pub mod refunds;
pub mod settings;
pub mod transactions;
pub mod webhook_log;

use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor};

pub type DbResult<T> = Result<T, sqlx::Error>;
pub type Tx = sqlx::Transaction<'static, Any>;

/// Anything queries can run on: `db.pool()` or `&mut *tx`.
pub trait Exec<'e>: Executor<'e, Database = Any> {}
impl<'e, T: Executor<'e, Database = Any>> Exec<'e> for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle shared by the whole host. On SQLite, writes go through one dedicated
/// connection: writers then queue in the host (first come, first served) instead of polling
/// SQLite's lock with its sleeping busy handler, and readers never wait for them (WAL).
#[derive(Clone)]
pub struct Db {
    pool: AnyPool,
    writer: AnyPool,
    backend: Backend,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");

impl Db {
    /// Opens (creating if missing) the database and runs migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        if let Some(path) = url.strip_prefix("sqlite://") {
            let (file, query) = path.split_once('?').unwrap_or((path, ""));
            if file != ":memory:" {
                if let Some(parent) = Path::new(file).parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(parent)
                        .map_err(|e| anyhow::anyhow!("cannot create the database folder {}: {e}", parent.display()))?;
                }
            }
            let query = if query.is_empty() { "mode=rwc".to_string() } else { query.to_string() };
            let options = AnyConnectOptions::from_str(&format!("sqlite://{file}?{query}"))?;
            let open = |connections: u32| {
                AnyPoolOptions::new()
                    .max_connections(connections)
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                            Ok(())
                        })
                    })
                    .connect_with(options.clone())
            };
            let writer = open(1).await?;
            SQLITE_MIGRATIONS.run(&writer).await?;
            let pool = open(8).await?;
            return Ok(Self { pool, writer, backend: Backend::Sqlite });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            anyhow::bail!("--database: PostgreSQL is not supported by this build yet; use a sqlite:// URL");
        }
        anyhow::bail!("--database: `{url}` is neither a sqlite:// nor a postgres:// URL")
    }

    /// For reads.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// For writes outside a transaction (single statements).
    pub fn writer(&self) -> &AnyPool {
        &self.writer
    }

    /// Rewrites the database file so no freed page and no old WAL frame keeps deleted
    /// content (after plain values were sealed). SQLite only; slow on a large file, so only
    /// for the one-off sealing at the first start after an upgrade.
    pub async fn compact(&self) -> DbResult<()> {
        if self.backend == Backend::Sqlite {
            sqlx::query("VACUUM").execute(&self.writer).await?;
            let (busy, _, _): (i64, i64, i64) =
                sqlx::query_as("PRAGMA wal_checkpoint(TRUNCATE)").fetch_one(&self.writer).await?;
            if busy != 0 {
                tracing::warn!(
                    "the write-ahead log could not be truncated (readers active); it is on the next checkpoint"
                );
            }
        }
        Ok(())
    }

    /// Starts a write transaction. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers queue instead of failing when one upgrades a read lock.
    pub async fn begin(&self) -> DbResult<Tx> {
        match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        }
    }
}

/// Now as RFC 3339 UTC with milliseconds: sortable as text.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// True when an error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}
