//! Persistence with sqlx. SQLite (WAL, one file) by default. Queries use `$N` placeholders,
//! integer booleans, text timestamps and `RETURNING`, which SQLite and PostgreSQL share, so a
//! PostgreSQL backend needs its own migrations folder and no query rewrites. One file per
//! table family; every function takes an executor, never a [`Db`].
//!
//! One way to read, one way to write: services read through [`Db::read`] and write only in a
//! [`WriteTx`] from [`Db::tx`], committed with [`WriteTx::commit`]. Which pool or connection
//! that is, and how the backend serialises writers, is this module's business alone (on
//! SQLite the read connections are `query_only`, so a write sent to them fails loudly).

pub mod api_keys;
pub mod credentials;
pub mod data_keys;
pub mod events;
mod executors;
mod fault;
pub mod idempotency;
pub mod integrations;
pub mod mappings;
pub mod messages;
pub mod modules;
pub mod payment_links;
pub mod payment_methods;
pub mod payment_operations;
pub mod payments;
pub mod refunds;
pub mod settings;
mod sqlite;
pub mod transactions;
pub mod webhook_log;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, Executor};

use crate::metrics::DbMeters;
pub use executors::{Reader, WriteConn};
#[doc(hidden)]
pub use fault::StorageFault;
use sqlite::SqliteFile;

pub type DbResult<T> = Result<T, sqlx::Error>;

/// Anything queries can run on: `db.read()` or `&mut *tx`.
pub trait Exec<'e>: Executor<'e, Database = Any> {}
impl<'e, T: Executor<'e, Database = Any>> Exec<'e> for T {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The database handle shared by the whole host. On SQLite, queries run on the calling
/// thread ([`sqlite`]), writes through one writer connection: writers queue in the host (first
/// come, first served) instead of polling SQLite's lock with its sleeping busy handler, and
/// readers never wait for them (WAL). On PostgreSQL, one sqlx pool.
///
/// A storage fault (disk full, read-only file, I/O error) fails the write that meets it and
/// nothing else: a writer connection a failed statement or COMMIT left inside a transaction
/// is closed, and the next write opens a fresh one, so the host recovers the moment storage
/// works again.
#[derive(Clone)]
pub struct Db {
    reader: Arc<Reader>,
    /// The PostgreSQL URL, for connections of their own (`LISTEN`); None on SQLite.
    postgres_url: Option<String>,
    meters: DbMeters,
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

/// Connections to PostgreSQL when the operator names no number (`--database-pool`).
pub const DEFAULT_POSTGRES_POOL: u32 = 16;

/// The longest `/readyz` waits for its write to be taken.
pub const WRITE_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

const WRITE_PROBE_SETTING: &str = "write_probe";

impl Db {
    /// Opens (creating if missing) the database and runs migrations.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        Self::connect_with(url, None).await
    }

    /// [`Db::connect`] with `pool` connections to PostgreSQL (None: [`DEFAULT_POSTGRES_POOL`]);
    /// SQLite keeps its one writer and eight readers whatever `pool` says.
    pub async fn connect_with(url: &str, pool: Option<u32>) -> anyhow::Result<Self> {
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
            // The schema is sqlx's business (its migrations); the queries then run on
            // connections of this host's own.
            let migrating = AnyPoolOptions::new().max_connections(1).connect_with(options).await?;
            migrating.execute("PRAGMA journal_mode = WAL;").await?;
            SQLITE_MIGRATIONS.run(&migrating).await?;
            migrating.close().await;
            let meters = DbMeters::default();
            let file = SqliteFile::open(Path::new(file), meters.writes_per_commit.clone())?;
            return Ok(Self { reader: Arc::new(Reader::Sqlite(Arc::new(file))), postgres_url: None, meters });
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Self::connect_postgres(url, pool.unwrap_or(DEFAULT_POSTGRES_POOL)).await;
        }
        anyhow::bail!("--database: `{url}` is neither a sqlite:// nor a postgres:// URL")
    }

    /// PostgreSQL: one pool for reads and writes (every writer its own connection; the
    /// invariants hold by row locks and constraints, not by a single writer).
    async fn connect_postgres(url: &str, connections: u32) -> anyhow::Result<Self> {
        let options = AnyConnectOptions::from_str(url).map_err(|e| anyhow::anyhow!("--database: {e}"))?;
        let pool = AnyPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options)
            .await
            .map_err(|e| anyhow::anyhow!("--database: cannot connect to PostgreSQL: {e}"))?;
        POSTGRES_MIGRATIONS.run(&pool).await?;
        Ok(Self {
            reader: Arc::new(Reader::Postgres(pool)),
            postgres_url: Some(url.to_string()),
            meters: DbMeters::default(),
        })
    }

    pub fn backend(&self) -> Backend {
        match &*self.reader {
            Reader::Sqlite(_) => Backend::Sqlite,
            Reader::Postgres(_) => Backend::Postgres,
        }
    }

    /// Module state changes announced by any host on this database; None on SQLite (one
    /// host per file).
    pub async fn module_state_changes(&self) -> Option<DbResult<modules::StateChanges>> {
        let url = self.postgres_url.as_deref()?;
        Some(modules::StateChanges::listen(url).await)
    }

    /// Where reads run (on SQLite a pool of read-only connections that never wait for the
    /// writer; on PostgreSQL the one pool). A read here sees every committed write.
    pub fn read(&self) -> &Reader {
        &self.reader
    }

    fn sqlite(&self) -> Option<&SqliteFile> {
        match &*self.reader {
            Reader::Sqlite(file) => Some(file),
            Reader::Postgres(_) => None,
        }
    }

    /// Rewrites the database file so no freed page and no old WAL frame keeps deleted
    /// content (after plain values were sealed). SQLite only; slow on a large file, so only
    /// for the one-off sealing at the first start after an upgrade.
    pub async fn compact(&self) -> DbResult<()> {
        if let Some(file) = self.sqlite() {
            let writer = file.writer().await?;
            writer.execute_batch("VACUUM")?;
            if writer.checkpoint()? {
                tracing::warn!(
                    "the write-ahead log could not be truncated (readers active); it is on the next checkpoint"
                );
            }
        }
        Ok(())
    }

    /// Starts a write transaction: the one way anything writes. On SQLite it takes the write
    /// lock at once (`BEGIN IMMEDIATE` on the one writer connection), so two writers queue
    /// instead of failing when one upgrades a read lock. The wait is measured
    /// (`integrations_db_write_wait_seconds`). Dropped without [`WriteTx::commit`], it rolls back.
    pub async fn tx(&self) -> DbResult<WriteTx> {
        let started = Instant::now();
        let conn = match &*self.reader {
            Reader::Sqlite(file) => file.begin().await.map(WriteConn::Sqlite),
            Reader::Postgres(pool) => pool.begin().await.map(WriteConn::Postgres),
        };
        self.meters.write_wait_seconds.observe(started.elapsed().as_secs_f64());
        Ok(WriteTx { conn: conn?, meters: self.meters.clone() })
    }

    /// The database's timings, for `/metrics`.
    pub fn meters(&self) -> &DbMeters {
        &self.meters
    }

    /// (pool, connections open, connections idle) of both pools, for `/metrics`.
    pub fn pool_usage(&self) -> Vec<(&'static str, u32, u32)> {
        let [(reader_open, reader_idle), (writer_open, writer_idle)] = match &*self.reader {
            Reader::Sqlite(file) => file.usage(),
            Reader::Postgres(pool) => {
                // One pool serves both.
                let usage = (pool.size(), pool.num_idle() as u32);
                [usage, usage]
            }
        };
        vec![("reader", reader_open, reader_idle), ("writer", writer_open, writer_idle)]
    }

    /// Whether the database takes a write now: one small row is written and committed (a
    /// full disk, a read-only file or a failing device refuse it), within
    /// [`WRITE_PROBE_TIMEOUT`] (writes queue for the one writer connection).
    pub async fn probe_writes(&self) -> DbResult<()> {
        let write = async {
            let mut tx = self.tx().await?;
            settings::set(&mut *tx, WRITE_PROBE_SETTING, &now()).await?;
            tx.commit().await
        };
        match tokio::time::timeout(WRITE_PROBE_TIMEOUT, write).await {
            Ok(result) => result,
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    /// Closes both pools, waiting for the connections in use to come back; SQLite then
    /// checkpoints the WAL into the database file.
    pub async fn close(&self) {
        // Everything committed moves into the database file now, even if a reader is still
        // open somewhere (the last connection to close would otherwise do it, and delete the WAL).
        match &*self.reader {
            Reader::Sqlite(file) => {
                file.close_readers();
                match file.writer().await.and_then(|writer| writer.checkpoint()) {
                    Ok(false) => {}
                    Ok(true) => {
                        tracing::warn!("the write-ahead log was not fully checkpointed at close (readers active)")
                    }
                    Err(error) => tracing::warn!(%error, "the write-ahead log was not checkpointed at close"),
                }
            }
            Reader::Postgres(pool) => pool.close().await,
        }
    }

    /// Switches a real SQLite fault on (or off, with None) on the writer connection, and on
    /// any writer connection opened while it is on. For tests: the host has no way to call it.
    #[doc(hidden)]
    pub async fn set_storage_fault(&self, fault: Option<StorageFault>) -> DbResult<()> {
        match self.sqlite() {
            Some(file) => file.set_fault(fault).await,
            None => Err(sqlx::Error::Protocol("storage faults are SQLite's".into())),
        }
    }
}

/// A write transaction from [`Db::tx`]: queries run on `&mut *tx`.
pub struct WriteTx {
    conn: WriteConn,
    meters: DbMeters,
}

impl std::ops::Deref for WriteTx {
    type Target = WriteConn;

    fn deref(&self) -> &Self::Target {
        &self.conn
    }
}

impl std::ops::DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.conn
    }
}

impl WriteTx {
    /// Rolls back (as dropping it does), waiting for the rollback to finish.
    pub async fn rollback(self) -> DbResult<()> {
        match self.conn {
            WriteConn::Sqlite(conn) => conn.rollback(),
            WriteConn::Postgres(tx) => tx.rollback().await,
        }
    }

    /// Commits, measuring the commit (`integrations_db_commit_duration_seconds`).
    pub async fn commit(self) -> DbResult<()> {
        let started = Instant::now();
        let committed = match self.conn {
            WriteConn::Sqlite(conn) => conn.commit().await,
            WriteConn::Postgres(tx) => tx.commit().await,
        };
        self.meters.commit_seconds.observe(started.elapsed().as_secs_f64());
        committed
    }

    /// Locks payment transaction `id` for the rest of this transaction, so a
    /// read-modify-write of it (a refund's check and reservation, an update's refunded total)
    /// is one writer's at a time.
    pub async fn lock_transaction(&mut self, id: i64) -> DbResult<()> {
        self.lock_row("transactions", id).await
    }

    /// Locks integration `id` for the rest of this transaction, so a check-then-write over
    /// its rows (its mapping quota, an edit of its settings) is one writer's at a time.
    pub async fn lock_integration(&mut self, id: i64) -> DbResult<()> {
        self.lock_row("integrations", id).await
    }

    /// Locks payment link `id` for the rest of this transaction, so a check of its
    /// transactions and the start of a new one are one writer's at a time.
    pub async fn lock_payment_link(&mut self, id: i64) -> DbResult<()> {
        self.lock_row("payment_links", id).await
    }

    /// PostgreSQL takes the row lock (`FOR UPDATE`); SQLite's `BEGIN IMMEDIATE` already holds
    /// the whole database.
    async fn lock_row(&mut self, table: &'static str, id: i64) -> DbResult<()> {
        if let WriteConn::Postgres(_) = &self.conn {
            sqlx::query(&format!("SELECT id FROM {table} WHERE id = $1 FOR UPDATE"))
                .bind(id)
                .fetch_optional(&mut self.conn)
                .await?;
        }
        Ok(())
    }
}

/// `delay` from now, as [`now`] writes times.
pub fn time_after(delay: Duration) -> String {
    (chrono::Utc::now() + chrono::Duration::from_std(delay).unwrap_or(chrono::Duration::MAX))
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// `duration` ago, as [`now`] writes times (the far past for durations too long to say).
pub fn time_ago(duration: Duration) -> String {
    let back = chrono::Duration::from_std(duration).unwrap_or(chrono::Duration::MAX);
    let at = chrono::Utc::now().checked_sub_signed(back).unwrap_or(chrono::DateTime::<chrono::Utc>::MIN_UTC);
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Now as RFC 3339 UTC with milliseconds: sortable as text.
pub fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// True when an error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// True when an error says the storage cannot take the request now (disk full, read-only
/// file, I/O error, locked or unreachable database), as opposed to a query the host got
/// wrong. Such requests answer 503 `storage_unavailable` and may be retried.
pub fn is_storage_fault(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(e) => match e.code().map(|code| (code.parse::<u32>(), code)) {
            // SQLite: the primary code is the low byte of the extended one. BUSY, LOCKED,
            // NOMEM, READONLY, IOERR, CORRUPT, FULL, CANTOPEN, PROTOCOL, NOTADB.
            Some((Ok(sqlite), _)) => matches!(sqlite & 0xff, 5 | 6 | 7 | 8 | 10 | 11 | 13 | 14 | 15 | 26),
            // PostgreSQL SQLSTATE: insufficient resources, system error, read-only
            // transaction, operator intervention.
            Some((Err(_), sqlstate)) => ["53", "58", "25006", "57P"].iter().any(|p| sqlstate.starts_with(p)),
            None => false,
        },
        sqlx::Error::Io(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::WorkerCrashed => true,
        _ => false,
    }
}

/// The one row an `INSERT … RETURNING` gave back. Such statements are read with `fetch_all`,
/// never `fetch_one`/`fetch_optional`: those stop at the first row, and SQLite reports what
/// fails after it (the implicit COMMIT of a statement outside a transaction, a foreign key
/// checked at the statement's end) only when the statement runs to its end, so the row would
/// come back for a change that was rolled back.
pub fn returned<T>(rows: Vec<T>) -> DbResult<T> {
    rows.into_iter().next().ok_or(sqlx::Error::RowNotFound)
}
