//! SQLite on the calling thread. Each query runs to its end right where the store calls it
//! (rusqlite over the same SQLite library sqlx links), instead of crossing to a driver thread
//! and back once per statement: a write transaction of eight statements is eight function
//! calls, not sixteen thread hand-offs. Statements are prepared once per connection and
//! cached.
//!
//! One writer connection, behind an async lock (writers queue in the host, first come first
//! served, and never poll SQLite's lock); readers are connections of their own that never wait
//! for the writer (WAL), opened as needed and kept idle for the next read. A query here takes
//! microseconds: the store's queries use indexes and bounded pages, so a tokio worker is never
//! held for long.
//!
//! Concurrent write units share a COMMIT ([`batch`]), each in a savepoint of its own.
//!
//! WAL checkpoints run on a thread of their own beside the writers ([`checkpoint`]).
//!
//! A storage fault (disk full, read-only file, I/O error) fails the statement that meets it:
//! a writer connection left inside a transaction that cannot be rolled back is closed, and the
//! next write opens a fresh one, so the host recovers the moment storage works again.

mod batch;
mod checkpoint;
mod error;
mod run;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use prometheus_client::metrics::histogram::Histogram;
use rusqlite::{Connection, OpenFlags};
use sqlx::any::AnyArguments;
use tokio::sync::OwnedMutexGuard;

use super::fault::{self, FaultSwitch, StorageFault};
use super::DbResult;
use batch::{Batch, Ending, Slot, WaitForWriter};
pub use checkpoint::CheckpointCounts;
use checkpoint::Checkpointer;
use error::duplicate;
pub use error::from_rusqlite;
pub use run::{Rows, Step};

/// Idle read connections kept open (more are opened when more readers run at once).
const IDLE_READERS: usize = 8;
/// Prepared statements kept per connection (the store has about 150 distinct queries).
const STATEMENT_CACHE: usize = 256;
/// How long a statement waits for a lock another process holds (a backup, the CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// One SQLite database file: its writer and its readers.
pub struct SqliteFile {
    path: PathBuf,
    writer: Arc<tokio::sync::Mutex<Slot>>,
    batch: Arc<Batch>,
    readers: Mutex<Vec<Connection>>,
    readers_in_use: AtomicU32,
    fault: FaultSwitch,
    checkpointer: Checkpointer,
}

impl std::fmt::Debug for SqliteFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteFile").field("path", &self.path).finish_non_exhaustive()
    }
}

impl SqliteFile {
    /// Opens the file (which must exist, its schema migrated) and its writer connection;
    /// `writes_per_commit` counts the units each COMMIT holds.
    pub fn open(path: &Path, writes_per_commit: Histogram) -> DbResult<Self> {
        let checkpointer = Checkpointer::start(path.to_path_buf())?;
        let file = Self {
            path: path.to_path_buf(),
            writer: Arc::new(tokio::sync::Mutex::new(None)),
            batch: Arc::new(Batch::new(writes_per_commit)),
            readers: Mutex::new(Vec::new()),
            readers_in_use: AtomicU32::new(0),
            fault: FaultSwitch::default(),
            checkpointer,
        };
        *file.writer.try_lock().expect("a new writer lock") = Some(file.connect_writer()?);
        Ok(file)
    }

    fn connect_writer(&self) -> DbResult<checkpoint::HookedConnection> {
        let conn = connect(&self.path).map_err(from_rusqlite)?;
        if let Some(active) = self.fault.get() {
            fault::apply(&conn, active)?;
        }
        Ok(self.checkpointer.hook(conn))
    }

    fn connect_reader(&self) -> DbResult<Connection> {
        let conn = connect(&self.path).map_err(from_rusqlite)?;
        // A write sent here by mistake is refused, not raced.
        conn.execute_batch("PRAGMA query_only = ON;").map_err(from_rusqlite)?;
        Ok(conn)
    }

    /// Runs one query on a read connection.
    pub fn read(&self, sql: &str, arguments: Option<AnyArguments<'_>>, rows: Rows) -> DbResult<Vec<Step>> {
        let idle = self.readers.lock().expect("readers").pop();
        let conn = match idle {
            Some(conn) => conn,
            None => self.connect_reader()?,
        };
        self.readers_in_use.fetch_add(1, Ordering::Relaxed);
        let steps = run::run(&conn, sql, arguments, rows);
        self.readers_in_use.fetch_sub(1, Ordering::Relaxed);
        let mut idle = self.readers.lock().expect("readers");
        if conn.is_autocommit() && idle.len() < IDLE_READERS {
            idle.push(conn);
        }
        steps
    }

    /// Waits for the writer connection (reopening it if a fault closed it), for work that is
    /// not a unit of its own (a checkpoint, VACUUM): the batch of units parked in its open
    /// transaction is committed first.
    pub async fn writer(&self) -> DbResult<Writer> {
        let guard = self.writer.clone().lock_owned().await;
        let mut writer = Writer { guard: Some(guard), batch: self.batch.clone() };
        writer.finish_batch();
        self.reconnect(&mut writer)?;
        Ok(writer)
    }

    fn reconnect(&self, writer: &mut Writer) -> DbResult<()> {
        let slot = writer.guard.as_mut().expect("a writer held");
        if slot.is_none() {
            **slot = Some(self.connect_writer()?);
        }
        Ok(())
    }

    /// Starts a write unit: a savepoint in the writer's transaction, which is begun with
    /// `BEGIN IMMEDIATE` (the write lock taken at once) unless units parked in it are waiting
    /// for its COMMIT ([`batch`]).
    pub async fn begin(&self) -> DbResult<WriteConnection> {
        let guard = WaitForWriter::new(self.writer.clone(), self.batch.clone()).await;
        let mut writer = Writer { guard: Some(guard), batch: self.batch.clone() };
        self.reconnect(&mut writer)?;
        let start = if writer.conn().is_autocommit() { "BEGIN IMMEDIATE; SAVEPOINT unit" } else { "SAVEPOINT unit" };
        writer.execute_batch(start)?;
        Ok(WriteConnection { writer, open: true, aborted: None })
    }

    /// Switches a real SQLite fault on the writer connection (and any opened while it is
    /// on), or off with None.
    pub async fn set_fault(&self, new: Option<StorageFault>) -> DbResult<()> {
        let writer = self.writer().await?;
        if let Some(previous) = self.fault.set(new) {
            fault::lift(writer.conn(), previous)?;
        }
        if let Some(new) = new {
            fault::apply(writer.conn(), new)?;
        }
        Ok(())
    }

    /// (connections open, connections idle) of the readers and of the writer.
    pub fn usage(&self) -> [(u32, u32); 2] {
        let idle = self.readers.lock().map(|idle| idle.len() as u32).unwrap_or_default();
        let readers = (idle + self.readers_in_use.load(Ordering::Relaxed), idle);
        let writer_idle = u32::from(self.writer.try_lock().is_ok());
        [readers, (1, writer_idle)]
    }

    /// Closes the read connections (the writer closes when the file is dropped).
    pub fn close_readers(&self) {
        self.readers.lock().expect("readers").clear();
    }

    /// The WAL checkpoints done so far, in the background and by the writer itself.
    pub fn checkpoints(&self) -> &CheckpointCounts {
        self.checkpointer.counts()
    }
}

/// A connection to the file with the settings every connection here has: WAL,
/// `synchronous = NORMAL` (a commit is in the log when it returns; the log is synced at each
/// checkpoint), foreign keys, a busy timeout and a statement cache.
fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
    Ok(conn)
}

/// The writer connection, held: no other write runs meanwhile. Let go, it ends the batch in
/// its open transaction ([`batch`]).
pub struct Writer {
    /// None once a parked unit handed the writer on.
    guard: Option<OwnedMutexGuard<Slot>>,
    batch: Arc<Batch>,
}

impl Writer {
    pub fn conn(&self) -> &Connection {
        self.guard.as_deref().and_then(Option::as_deref).expect("a writer connection while held")
    }

    /// Runs statements without arguments (PRAGMAs, VACUUM).
    pub fn execute_batch(&self, sql: &str) -> DbResult<()> {
        self.conn().execute_batch(sql).map_err(from_rusqlite)
    }

    /// `PRAGMA wal_checkpoint(TRUNCATE)`: moves the log into the file; true when readers kept
    /// part of it.
    pub fn checkpoint(&self) -> DbResult<bool> {
        let busy: i64 =
            self.conn().query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0)).map_err(from_rusqlite)?;
        Ok(busy != 0)
    }
}

/// One unit of write work: a savepoint in the writer's transaction. Dropped without
/// [`WriteConnection::commit`], it rolls back to its savepoint, undoing only itself.
pub struct WriteConnection {
    writer: Writer,
    open: bool,
    /// The error after which SQLite rolled the whole transaction back: the unit runs nothing
    /// more (a statement now would commit on its own).
    aborted: Option<sqlx::Error>,
}

impl std::fmt::Debug for WriteConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WriteConnection").field("open", &self.open).finish()
    }
}

impl WriteConnection {
    pub fn run(&mut self, sql: &str, arguments: Option<AnyArguments<'_>>, rows: Rows) -> DbResult<Vec<Step>> {
        if let Some(aborted) = &self.aborted {
            return Err(duplicate(aborted));
        }
        let steps = run::run(self.writer.conn(), sql, arguments, rows);
        if let Err(error) = &steps {
            if self.writer.conn().is_autocommit() {
                self.writer.fail_parked(error);
                self.aborted = Some(duplicate(error));
            }
        }
        steps
    }

    /// Commits: answered once the COMMIT that holds this unit's change is done, the
    /// unit's own or that of a later unit of its batch. A COMMIT that fails leaves nothing
    /// behind: the transaction is rolled back.
    pub async fn commit(mut self) -> DbResult<()> {
        self.open = false;
        if let Some(aborted) = &self.aborted {
            return Err(duplicate(aborted));
        }
        if let Err(error) = self.writer.execute_batch("RELEASE unit") {
            let _ = self.undo();
            return Err(error);
        }
        match self.writer.park_or_commit() {
            Ending::Parked(answer) => answer.await.unwrap_or_else(|_| {
                Err(sqlx::Error::Protocol("the batch holding this write ended without an answer".into()))
            }),
            Ending::Committed(outcome) => outcome,
        }
    }

    pub fn rollback(mut self) -> DbResult<()> {
        self.open = false;
        self.undo()
    }

    /// Rolls back to the unit's savepoint (nothing to do when SQLite rolled the whole
    /// transaction back by itself).
    fn undo(&mut self) -> DbResult<()> {
        if self.writer.conn().is_autocommit() {
            return Ok(());
        }
        let undone = self.writer.execute_batch("ROLLBACK TO unit; RELEASE unit");
        if let Err(error) = &undone {
            self.writer.abandon(error);
        }
        undone
    }
}

impl Drop for WriteConnection {
    fn drop(&mut self) {
        if self.open {
            let _ = self.undo();
        }
    }
}
