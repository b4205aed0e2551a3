//! A test seam: real SQLite faults on the writer connection, switched on and off while the
//! host runs, so a test can show what a full disk, a read-only file or a failing COMMIT
//! answers and that the host recovers by itself when the fault goes. No flag, setting or
//! route reaches it; only code holding the `Db` (a test with the host's `App`) can.

use std::sync::Mutex;

use rusqlite::Connection;

use super::sqlite::from_rusqlite;
use super::DbResult;

/// A fault SQLite itself raises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    /// The file's free pages given back (`VACUUM`), then `PRAGMA max_page_count` pinned at
    /// its size: a write that needs a new page fails with `SQLITE_FULL`, exactly as on a full
    /// disk (SQLite rolls the transaction back itself).
    Full,
    /// `PRAGMA query_only`: every write, and `BEGIN IMMEDIATE`, fails with
    /// `SQLITE_READONLY`, as on a read-only database file.
    ReadOnly,
    /// Every write breaks a deferred foreign key (temporary triggers on every table), so
    /// every COMMIT fails, and so does a write outside a transaction when it ends.
    FailingCommits,
}

/// The fault switched on, read again by every new writer connection.
#[derive(Default)]
pub(super) struct FaultSwitch(Mutex<Option<StorageFault>>);

impl FaultSwitch {
    pub(super) fn get(&self) -> Option<StorageFault> {
        *self.0.lock().expect("fault switch")
    }

    /// Switches to `fault`; returns the one it replaces.
    pub(super) fn set(&self, fault: Option<StorageFault>) -> Option<StorageFault> {
        std::mem::replace(&mut *self.0.lock().expect("fault switch"), fault)
    }
}

/// SQLite's largest page count, its default limit.
const MAX_PAGE_COUNT: u32 = 4_294_967_294;

pub(super) fn apply(conn: &Connection, fault: StorageFault) -> DbResult<()> {
    match fault {
        // SQLite never sets the limit below the current size, so 1 pins it there.
        StorageFault::Full => conn.execute_batch("VACUUM; PRAGMA max_page_count = 1;").map_err(from_rusqlite),
        StorageFault::ReadOnly => conn.execute_batch("PRAGMA query_only = ON").map_err(from_rusqlite),
        StorageFault::FailingCommits => {
            conn.execute_batch(
                "CREATE TEMP TABLE IF NOT EXISTS storage_fault_parent (id INTEGER PRIMARY KEY);
                 CREATE TEMP TABLE IF NOT EXISTS storage_fault_child (
                     parent INTEGER REFERENCES storage_fault_parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .map_err(from_rusqlite)?;
            for table in names(
                conn,
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
            )? {
                for operation in ["INSERT", "UPDATE", "DELETE"] {
                    conn.execute_batch(&format!(
                        "CREATE TEMP TRIGGER IF NOT EXISTS storage_fault_{table}_{operation} AFTER {operation} ON main.\"{table}\"
                         BEGIN INSERT INTO storage_fault_child (parent) VALUES (1); END"
                    ))
                    .map_err(from_rusqlite)?;
                }
            }
            Ok(())
        }
    }
}

pub(super) fn lift(conn: &Connection, fault: StorageFault) -> DbResult<()> {
    match fault {
        StorageFault::Full => {
            conn.execute_batch(&format!("PRAGMA max_page_count = {MAX_PAGE_COUNT}")).map_err(from_rusqlite)
        }
        StorageFault::ReadOnly => conn.execute_batch("PRAGMA query_only = OFF").map_err(from_rusqlite),
        StorageFault::FailingCommits => {
            for trigger in names(
                conn,
                "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'storage_fault_%'",
            )? {
                conn.execute_batch(&format!("DROP TRIGGER temp.\"{trigger}\"")).map_err(from_rusqlite)?;
            }
            conn.execute_batch(
                "DROP TABLE IF EXISTS temp.storage_fault_child; DROP TABLE IF EXISTS temp.storage_fault_parent;",
            )
            .map_err(from_rusqlite)
        }
    }
}

/// The first column of every row `sql` gives.
fn names(conn: &Connection, sql: &str) -> DbResult<Vec<String>> {
    let mut statement = conn.prepare(sql).map_err(from_rusqlite)?;
    let rows = statement.query_map([], |row| row.get::<_, String>(0)).map_err(from_rusqlite)?;
    rows.collect::<Result<_, _>>().map_err(from_rusqlite)
}

#[cfg(test)]
mod tests {
    use super::StorageFault;
    use crate::store::{api_keys, is_storage_fault, is_unique_violation, settings, Db};

    async fn db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}", dir.path().join("host.db").display())).await.unwrap();
        (dir, db)
    }

    /// One API key row, written and committed in a transaction of its own.
    async fn insert_key(db: &Db, hash: &str) -> crate::store::DbResult<()> {
        let mut tx = db.tx().await?;
        api_keys::insert(&mut *tx, 1, "erp", hash).await?;
        tx.commit().await
    }

    async fn keys(db: &Db) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM api_keys").fetch_one(db.read()).await.unwrap()
    }

    #[tokio::test]
    async fn a_connection_left_in_a_failed_transaction_is_replaced() {
        let (_dir, db) = db().await;
        db.set_storage_fault(Some(StorageFault::Full)).await.unwrap();
        for _ in 0..2 {
            let mut tx = db.tx().await.expect("BEGIN works on a full disk");
            let error = settings::set(&mut *tx, "bulk", &"x".repeat(100_000)).await.unwrap_err();
            assert!(is_storage_fault(&error), "{error}");
            // SQLite rolled back by itself; sqlx's ROLLBACK on drop fails and the connection
            // would refuse every BEGIN after it.
            drop(tx);
        }
        db.set_storage_fault(None).await.unwrap();
        let mut tx = db.tx().await.expect("a fresh writer connection");
        settings::set(&mut *tx, "bulk", &"x".repeat(100_000)).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(settings::get(db.read(), "bulk").await.unwrap().map(|v| v.len()), Some(100_000));
    }

    #[tokio::test]
    async fn an_insert_returning_surfaces_a_failed_commit() {
        let (_dir, db) = db().await;
        db.set_storage_fault(Some(StorageFault::FailingCommits)).await.unwrap();
        let mut tx = db.tx().await.unwrap();
        api_keys::insert(&mut *tx, 1, "erp", "hash-2").await.unwrap();
        let error = tx.commit().await.unwrap_err();
        assert!(!is_storage_fault(&error), "a constraint, not the disk: {error}");
        assert_eq!(keys(&db).await, 0, "nothing was stored");

        db.set_storage_fault(None).await.unwrap();
        insert_key(&db, "hash-1").await.unwrap();
        assert_eq!(keys(&db).await, 1);
    }

    #[tokio::test]
    async fn a_read_only_database_refuses_writes_and_the_probe_until_it_is_writable() {
        let (_dir, db) = db().await;
        db.probe_writes().await.unwrap();
        db.set_storage_fault(Some(StorageFault::ReadOnly)).await.unwrap();
        let error = db.probe_writes().await.unwrap_err();
        assert!(is_storage_fault(&error), "{error}");
        let error = insert_key(&db, "hash").await.unwrap_err();
        assert!(is_storage_fault(&error), "{error}");
        assert_eq!(settings::get(db.read(), "admin_key_sha256").await.unwrap(), None, "reads still work");
        db.set_storage_fault(None).await.unwrap();
        db.probe_writes().await.unwrap();
        insert_key(&db, "hash").await.unwrap();
        let again = insert_key(&db, "hash").await.unwrap_err();
        assert!(is_unique_violation(&again) && !is_storage_fault(&again), "{again}");
    }
}
