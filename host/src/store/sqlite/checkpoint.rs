//! WAL checkpoints off the writer's path.
//!
//! SQLite's own auto-checkpoint runs inside the COMMIT that takes the log past 1,000 pages:
//! that writer copies the log into the database file and syncs both while every other writer
//! waits behind it. Measured under webhook load (BENCHMARKS.md, issue 14), it was more than
//! half the time the writer was held. Here the writer connection's WAL hook instead wakes a
//! thread of the file's own with a connection of its own, which runs the same checkpoint
//! (`PASSIVE`, with the same syncs under `synchronous = NORMAL`) beside the writers: a
//! checkpoint never stops a write, and a write never waits for a checkpoint.
//!
//! Durability is what it was: a commit is in the log when COMMIT returns, and the log is
//! synced by the next checkpoint, which starts at the same 1,000 pages SQLite's would. As a
//! backstop that bounds the log whatever the checkpointer manages (a checkpoint that runs
//! beside writers cannot let the writer restart the log from its start), the writer
//! checkpoints itself, as SQLite would, once the log holds [`INLINE_AT`] pages.

use std::ffi::{c_char, c_int, c_void};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;

use rusqlite::{ffi, Connection};

/// Log pages after a commit at which the checkpointer is woken (SQLite's auto-checkpoint
/// threshold).
pub(super) const BACKGROUND_AT: c_int = 1_000;
/// Log pages after a commit at which the committing writer checkpoints itself (~40 MB of
/// 4 KiB pages).
pub(super) const INLINE_AT: c_int = 10_000;

/// Checkpoints done, by who did them.
#[derive(Debug, Default)]
pub struct CheckpointCounts {
    pub background: AtomicU64,
    pub inline: AtomicU64,
}

/// What the WAL hook of a writer connection reads: whom to wake, what to count.
struct HookContext {
    wake: SyncSender<()>,
    counts: Arc<CheckpointCounts>,
}

/// A writer connection with its WAL hook installed. The hook's context lives here and is
/// freed after the connection is closed (fields drop in order).
pub struct HookedConnection {
    conn: Connection,
    _context: Box<HookContext>,
}

impl std::ops::Deref for HookedConnection {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        &self.conn
    }
}

/// The file's checkpointer: a thread that checkpoints when a writer's hook wakes it, and
/// ends when the last hooked connection and this handle are gone.
pub struct Checkpointer {
    wake: SyncSender<()>,
    counts: Arc<CheckpointCounts>,
}

impl Checkpointer {
    /// Starts the thread for the file at `path`.
    pub fn start(path: PathBuf) -> std::io::Result<Self> {
        // One wake-up pending at most: commits while a checkpoint runs are covered by the next.
        let (wake, woken) = mpsc::sync_channel(1);
        let counts = Arc::new(CheckpointCounts::default());
        let done = counts.clone();
        std::thread::Builder::new()
            .name("sqlite-checkpoint".into())
            .spawn(move || checkpoint_when_woken(&path, &woken, &done))?;
        Ok(Self { wake, counts })
    }

    /// Installs the WAL hook on a writer connection (instead of SQLite's auto-checkpoint).
    pub fn hook(&self, conn: Connection) -> HookedConnection {
        let context = Box::new(HookContext { wake: self.wake.clone(), counts: self.counts.clone() });
        let raw = std::ptr::from_ref::<HookContext>(&context).cast_mut().cast::<c_void>();
        // SAFETY: the handle is this open connection's; the hook only reads the context
        // through `raw`, which stays valid until `HookedConnection` drops the box, after the
        // connection is closed. `sqlite3_wal_hook` replaces the auto-checkpoint hook.
        unsafe {
            ffi::sqlite3_wal_hook(conn.handle(), Some(after_commit), raw);
        }
        HookedConnection { conn, _context: context }
    }

    pub fn counts(&self) -> &CheckpointCounts {
        &self.counts
    }
}

/// SQLite calls this after each commit of a hooked connection, with the pages in the log.
unsafe extern "C" fn after_commit(
    context: *mut c_void,
    db: *mut ffi::sqlite3,
    name: *const c_char,
    pages: c_int,
) -> c_int {
    // SAFETY: `context` is the `HookContext` boxed in the `HookedConnection` being committed.
    let context = unsafe { &*context.cast::<HookContext>() };
    if pages >= INLINE_AT {
        // As SQLite's default hook does: the commit is done, and calling a checkpoint from
        // the hook is allowed. Its result is ignored as SQLite ignores it; a failure leaves
        // the log for the next one.
        // SAFETY: `db` and `name` are the ones SQLite passed for this commit.
        let done = unsafe {
            ffi::sqlite3_wal_checkpoint_v2(
                db,
                name,
                ffi::SQLITE_CHECKPOINT_PASSIVE,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        if done == ffi::SQLITE_OK {
            context.counts.inline.fetch_add(1, Ordering::Relaxed);
        }
    } else if pages >= BACKGROUND_AT {
        // Full: a wake-up is already pending. Gone: the file is closing.
        let _ = context.wake.try_send(());
    }
    ffi::SQLITE_OK
}

fn checkpoint_when_woken(path: &Path, woken: &Receiver<()>, counts: &CheckpointCounts) {
    let mut conn: Option<Connection> = None;
    let mut failing = false;
    while woken.recv().is_ok() {
        match checkpoint(path, &mut conn) {
            Ok(()) => {
                counts.background.fetch_add(1, Ordering::Relaxed);
                failing = false;
            }
            Err(error) => {
                // A storage fault: the next wake-up tries again on a fresh connection (and the
                // writer's own checkpoint at INLINE_AT still bounds the log).
                if !failing {
                    tracing::warn!(database = %path.display(), %error, "a WAL checkpoint failed; retrying at the next commit");
                }
                failing = true;
            }
        }
    }
}

/// One PASSIVE checkpoint on `conn`, opened first if need be; a connection that failed is
/// not kept.
fn checkpoint(path: &Path, conn: &mut Option<Connection>) -> rusqlite::Result<()> {
    let open = match conn.take() {
        Some(open) => open,
        None => super::connect(path)?,
    };
    open.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
    *conn = Some(open);
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;
    use std::time::{Duration, Instant};

    use super::{BACKGROUND_AT, INLINE_AT};
    use crate::store::sqlite::SqliteFile;

    /// A file with one table; `pages` rows of about a page each appended in one commit.
    async fn file_with_a_commit_of(pages: i64) -> (tempfile::TempDir, SqliteFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE t (b BLOB);").unwrap();
        let file = SqliteFile::open(&path, crate::metrics::DbMeters::default().writes_per_commit).unwrap();
        let writer = file.writer().await.unwrap();
        writer
            .conn()
            .execute(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
                 INSERT INTO t SELECT randomblob(4000) FROM n",
                [pages],
            )
            .unwrap();
        drop(writer);
        (dir, file)
    }

    #[tokio::test]
    async fn a_long_log_is_checkpointed_beside_the_writer_not_by_it() {
        let (dir, file) = file_with_a_commit_of(i64::from(BACKGROUND_AT) + 500).await;
        assert_eq!(file.checkpoints().inline.load(Ordering::Relaxed), 0, "the committing writer did not checkpoint");
        let deadline = Instant::now() + Duration::from_secs(20);
        while file.checkpoints().background.load(Ordering::Relaxed) == 0 {
            assert!(Instant::now() < deadline, "no background checkpoint within 20 s");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        // The rows are in the database file itself now, not only in the log.
        let copied = std::fs::metadata(dir.path().join("db.sqlite")).unwrap().len();
        assert!(copied > 1_500 * 4_000, "database file of {copied} bytes after the checkpoint");
    }

    #[tokio::test]
    async fn the_writer_checkpoints_itself_once_the_log_is_very_long() {
        let (_dir, file) = file_with_a_commit_of(i64::from(INLINE_AT) + 500).await;
        assert_eq!(file.checkpoints().inline.load(Ordering::Relaxed), 1);
    }
}
