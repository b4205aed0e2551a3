//! Group commit: write units that end while other units wait for the writer share one SQLite
//! transaction, so N concurrent writes cost one COMMIT, and one log frame for each page they
//! share, instead of N.
//!
//! Each unit ([`WriteConnection`](super::WriteConnection)) runs inside a savepoint of the
//! writer's transaction: a unit that fails or is dropped rolls back to its savepoint and undoes
//! only itself. A unit that commits while other units wait for the writer releases its
//! savepoint and *parks*: it hands the writer, transaction open, to the next unit and waits
//! for the COMMIT that holds its change. The unit that commits with nobody waiting, or with the
//! batch full, commits the transaction, and every parked unit gets that COMMIT's outcome. So a
//! caller is answered only once its change is committed, exactly as durable as a lone commit
//! (WAL, `synchronous = NORMAL`), and a COMMIT that fails fails every unit it held.
//!
//! Nothing parked is left waiting:
//! - a unit that rolls back (or a writer dropped mid-unit) while units are parked commits them
//!   first: it may have read their changes, and its caller goes on from what it read;
//! - a waiter that gives up before it gets the writer (its request was cancelled) commits the
//!   batch when it was the last waiter the parked units counted on;
//! - any other user of the writer (a checkpoint, VACUUM, a fault switch) commits it first;
//! - a statement after which SQLite rolled the whole transaction back (a full disk, an I/O
//!   error) fails the parked units with its error, and the unit that met it runs nothing more.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{ready, Context, Poll};

use prometheus_client::metrics::histogram::Histogram;
use tokio::sync::{oneshot, OwnedMutexGuard};

use super::checkpoint::HookedConnection;
use super::error::{duplicate, from_rusqlite};
use super::Writer;
use crate::store::DbResult;

/// The writer connection's place: None after a fault closed it, until the next writer opens one.
pub(super) type Slot = Option<HookedConnection>;

/// The most units one COMMIT holds: the unit that would be one more commits instead of
/// parking, so the first caller of a batch waits for at most this many others.
const MOST_UNITS: usize = 32;

/// The units parked in the writer's open transaction and the units waiting for the writer.
pub(super) struct Batch {
    state: Mutex<State>,
    /// Units per COMMIT (`integrations_db_writes_per_commit`).
    writes_per_commit: Histogram,
}

#[derive(Default)]
struct State {
    /// Units waiting for the writer (what a committing unit parks for).
    waiting: usize,
    /// Units whose change is in the open transaction, each waiting for its COMMIT.
    parked: Vec<oneshot::Sender<DbResult<()>>>,
}

/// How a unit's commit ended.
pub(super) enum Ending {
    /// Its change waits in the open transaction; the answer comes with the COMMIT.
    Parked(oneshot::Receiver<DbResult<()>>),
    Committed(DbResult<()>),
}

impl Batch {
    pub(super) fn new(writes_per_commit: Histogram) -> Self {
        Self { state: Mutex::new(State::default()), writes_per_commit }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is a count and a list, never left half-changed by a panic.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Commits the open transaction for `own` units of the caller's and the `parked` ones,
    /// and answers each parked unit with the outcome. The connection is left outside any
    /// transaction (closed if it cannot be).
    fn commit(&self, slot: &mut Slot, parked: Vec<oneshot::Sender<DbResult<()>>>, own: usize) -> DbResult<()> {
        let outcome = match slot.as_deref() {
            Some(conn) => conn.execute_batch("COMMIT").map_err(from_rusqlite),
            None => Err(sqlx::Error::Protocol("the writer connection was closed before its COMMIT".into())),
        };
        if outcome.is_ok() {
            self.writes_per_commit.observe((parked.len() + own) as f64);
        }
        answer(parked, &outcome);
        settle(slot);
        outcome
    }
}

/// Sends `outcome` to every parked unit (one whose caller gave up is not waiting any more).
fn answer(parked: Vec<oneshot::Sender<DbResult<()>>>, outcome: &DbResult<()>) {
    for unit in parked {
        let _ = unit.send(outcome.as_ref().map(|_| ()).map_err(duplicate));
    }
}

/// Leaves the connection out of any transaction; one that cannot be is closed, and the next
/// writer opens a fresh connection.
pub(super) fn settle(slot: &mut Slot) {
    let Some(conn) = slot.as_deref() else { return };
    if conn.is_autocommit() {
        return;
    }
    if conn.execute_batch("ROLLBACK").is_err() || !conn.is_autocommit() {
        tracing::warn!("replacing a database connection left inside a failed transaction");
        *slot = None;
    }
}

impl Writer {
    /// Ends the writer's open transaction before the writer goes to anyone else: parked
    /// units are committed; a transaction holding none (a unit's savepoint already undone) is
    /// rolled back.
    pub(super) fn finish_batch(&mut self) {
        let Some(guard) = self.guard.as_mut() else { return };
        if guard.as_deref().is_none_or(|conn| conn.is_autocommit()) {
            return;
        }
        let parked = std::mem::take(&mut self.batch.state().parked);
        if parked.is_empty() {
            settle(guard);
        } else {
            let _ = self.batch.commit(guard, parked, 0);
        }
    }

    /// After a unit released its savepoint: parks it when another unit waits for the writer
    /// and the batch has room (handing the writer over, transaction open), or commits the
    /// batch.
    pub(super) fn park_or_commit(&mut self) -> Ending {
        let mut guard = self.guard.take().expect("a unit's writer is held until it commits");
        let mut state = self.batch.state();
        if state.waiting > 0 && state.parked.len() + 1 < MOST_UNITS {
            let (unit, answer) = oneshot::channel();
            state.parked.push(unit);
            // Released while the state is held, so a waiter that gives up and finds itself
            // the last one can take the writer and commit (`WaitForWriter`'s drop).
            drop(guard);
            return Ending::Parked(answer);
        }
        let parked = std::mem::take(&mut state.parked);
        drop(state);
        let outcome = self.batch.commit(&mut guard, parked, 1);
        Ending::Committed(outcome)
    }

    /// After a statement failed and SQLite rolled the whole transaction back by itself (a
    /// full disk, an I/O error): the parked units' changes are gone, and they are told so.
    pub(super) fn fail_parked(&self, error: &sqlx::Error) {
        let parked = std::mem::take(&mut self.batch.state().parked);
        answer(parked, &Err(duplicate(error)));
    }

    /// A unit's savepoint could not be undone: the whole transaction is rolled back, the
    /// parked units with it, so none of the unit's half is ever committed.
    pub(super) fn abandon(&mut self, error: &sqlx::Error) {
        self.fail_parked(error);
        if let Some(guard) = self.guard.as_mut() {
            settle(guard);
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.finish_batch();
    }
}

/// A unit waiting for the writer, counted in the batch's `waiting` until it has it.
pub(super) struct WaitForWriter {
    acquire: Option<Pin<Box<dyn Future<Output = OwnedMutexGuard<Slot>> + Send>>>,
    slot: Arc<tokio::sync::Mutex<Slot>>,
    batch: Arc<Batch>,
}

impl WaitForWriter {
    pub(super) fn new(slot: Arc<tokio::sync::Mutex<Slot>>, batch: Arc<Batch>) -> Self {
        batch.state().waiting += 1;
        let acquire = Box::pin(slot.clone().lock_owned());
        Self { acquire: Some(acquire), slot, batch }
    }
}

impl Future for WaitForWriter {
    type Output = OwnedMutexGuard<Slot>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let Some(acquire) = self.acquire.as_mut() else { panic!("WaitForWriter polled after it was ready") };
        let guard = ready!(acquire.as_mut().poll(cx));
        self.acquire = None;
        self.batch.state().waiting -= 1;
        Poll::Ready(guard)
    }
}

impl Drop for WaitForWriter {
    fn drop(&mut self) {
        let Some(acquire) = self.acquire.take() else { return };
        // Given up before it had the writer. The lock request goes first, so a writer already
        // handed to it is free again for the `try_lock` below.
        drop(acquire);
        let mut state = self.batch.state();
        state.waiting -= 1;
        if state.waiting > 0 || state.parked.is_empty() {
            return;
        }
        // The parked units counted on this waiter to take the writer after them. Whoever
        // holds the writer now ends the batch itself when it lets go.
        if let Ok(mut guard) = self.slot.clone().try_lock_owned() {
            let parked = std::mem::take(&mut state.parked);
            drop(state);
            let _ = self.batch.commit(&mut guard, parked, 0);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::Pin;

    use futures_util::poll;

    use crate::store::fault::StorageFault;
    use crate::store::sqlite::{Rows, SqliteFile, WriteConnection};
    use crate::store::DbResult;

    fn file() -> (tempfile::TempDir, SqliteFile) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db.sqlite");
        rusqlite::Connection::open(&path)
            .unwrap()
            .execute_batch("PRAGMA journal_mode = WAL; CREATE TABLE t (name TEXT PRIMARY KEY);")
            .unwrap();
        let file = SqliteFile::open(&path, crate::metrics::DbMeters::default().writes_per_commit).unwrap();
        (dir, file)
    }

    fn insert(unit: &mut WriteConnection, name: &str) -> DbResult<()> {
        unit.run(&format!("INSERT INTO t (name) VALUES ('{name}')"), None, Rows::All).map(drop)
    }

    /// The names committed, as a reader sees them.
    fn committed(file: &SqliteFile) -> Vec<String> {
        let steps = file.read("SELECT name FROM t ORDER BY name", None, Rows::All).unwrap();
        steps.into_iter().filter_map(|step| step.right()).map(|row| sqlx::Row::get::<String, _>(&row, 0)).collect()
    }

    /// Unit "a" inserted and committed while a second unit waits for the writer: the second
    /// unit's start, waiting, and the first unit's commit, parked.
    async fn a_b_waiting_behind_a_parked(
        file: &SqliteFile,
    ) -> (Pin<Box<impl Future<Output = DbResult<WriteConnection>> + '_>>, Pin<Box<impl Future<Output = DbResult<()>>>>)
    {
        let mut first = file.begin().await.unwrap();
        insert(&mut first, "a").unwrap();
        let mut waiting = Box::pin(file.begin());
        assert!(poll!(waiting.as_mut()).is_pending(), "the second unit waits for the writer");
        let mut parked = Box::pin(first.commit());
        assert!(poll!(parked.as_mut()).is_pending(), "the first unit parks for the second");
        (waiting, parked)
    }

    #[tokio::test]
    async fn a_unit_ending_while_another_waits_is_answered_by_the_later_commit() {
        let (_dir, file) = file();
        let (waiting, parked) = a_b_waiting_behind_a_parked(&file).await;
        assert!(committed(&file).is_empty(), "nothing is committed while the first unit is parked");

        let mut second = waiting.await.unwrap();
        insert(&mut second, "b").unwrap();
        second.commit().await.unwrap();
        assert_eq!(committed(&file), ["a", "b"]);
        parked.await.unwrap();
    }

    #[tokio::test]
    async fn a_unit_that_fails_undoes_only_itself_and_commits_the_parked_ones() {
        let (_dir, file) = file();
        let (waiting, parked) = a_b_waiting_behind_a_parked(&file).await;

        let mut second = waiting.await.unwrap();
        insert(&mut second, "b").unwrap();
        let duplicate = insert(&mut second, "a").unwrap_err();
        assert!(crate::store::is_unique_violation(&duplicate), "{duplicate}");
        drop(second);
        // The parked unit's change is committed before the failed unit's caller goes on.
        assert_eq!(committed(&file), ["a"]);
        parked.await.unwrap();

        let mut third = file.begin().await.unwrap();
        insert(&mut third, "c").unwrap();
        third.commit().await.unwrap();
        assert_eq!(committed(&file), ["a", "c"]);
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_commits_the_units_parked_for_it() {
        let (_dir, file) = file();
        let (waiting, parked) = a_b_waiting_behind_a_parked(&file).await;

        drop(waiting);
        assert_eq!(committed(&file), ["a"]);
        parked.await.unwrap();
        assert_eq!(file.batch.state().waiting, 0);
    }

    #[tokio::test]
    async fn a_failed_commit_fails_every_unit_it_held_and_leaves_nothing() {
        let (_dir, file) = file();
        file.set_fault(Some(StorageFault::FailingCommits)).await.unwrap();
        let (waiting, parked) = a_b_waiting_behind_a_parked(&file).await;

        let mut second = waiting.await.unwrap();
        insert(&mut second, "b").unwrap();
        let own = second.commit().await.unwrap_err();
        let theirs = parked.await.unwrap_err();
        assert_eq!(own.to_string(), theirs.to_string(), "the parked unit gets the COMMIT's own error");
        assert!(own.as_database_error().is_some_and(|e| e.code().as_deref() == Some("787")), "{own}");
        assert!(committed(&file).is_empty());

        file.set_fault(None).await.unwrap();
        let mut third = file.begin().await.unwrap();
        insert(&mut third, "c").unwrap();
        third.commit().await.unwrap();
        assert_eq!(committed(&file), ["c"]);
    }

    #[tokio::test]
    async fn other_users_of_the_writer_commit_the_parked_units_first() {
        let (_dir, file) = file();
        let mut first = file.begin().await.unwrap();
        insert(&mut first, "a").unwrap();
        let mut waiting = Box::pin(file.begin());
        assert!(poll!(waiting.as_mut()).is_pending());
        let mut checkpoint = Box::pin(file.writer());
        assert!(poll!(checkpoint.as_mut()).is_pending(), "queued behind the waiting unit");
        let mut parked = Box::pin(first.commit());
        assert!(poll!(parked.as_mut()).is_pending());

        // The unit ahead of the checkpoint gives up; the checkpoint gets the writer next.
        drop(waiting);
        let writer = checkpoint.await.unwrap();
        assert!(writer.conn().is_autocommit(), "the batch was ended before the writer was handed over");
        assert_eq!(committed(&file), ["a"]);
        drop(writer);
        parked.await.unwrap();
    }
}
