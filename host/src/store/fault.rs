//! A test seam: real SQLite faults on the writer connection, switched on and off while the
//! host runs, so a test can show what a full disk, a read-only file or a failing COMMIT
//! answers and that the host recovers by itself when the fault goes. No flag, setting or
//! route reaches it; only code holding the `Db` (a test with the host's `App`) can.

use std::sync::Mutex;

use sqlx::{AnyConnection, Executor};

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

pub(super) async fn apply(conn: &mut AnyConnection, fault: StorageFault) -> DbResult<()> {
    match fault {
        // SQLite never sets the limit below the current size, so 1 pins it there.
        StorageFault::Full => conn.execute("VACUUM; PRAGMA max_page_count = 1;").await.map(drop),
        StorageFault::ReadOnly => conn.execute("PRAGMA query_only = ON").await.map(drop),
        StorageFault::FailingCommits => {
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS storage_fault_parent (id INTEGER PRIMARY KEY);
                 CREATE TEMP TABLE IF NOT EXISTS storage_fault_child (
                     parent INTEGER REFERENCES storage_fault_parent (id) DEFERRABLE INITIALLY DEFERRED);",
            )
            .await?;
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM main.sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&mut *conn)
            .await?;
            for table in tables {
                for operation in ["INSERT", "UPDATE", "DELETE"] {
                    conn.execute(
                        format!(
                            "CREATE TEMP TRIGGER IF NOT EXISTS storage_fault_{table}_{operation} AFTER {operation} ON main.\"{table}\"
                             BEGIN INSERT INTO storage_fault_child (parent) VALUES (1); END"
                        )
                        .as_str(),
                    )
                    .await?;
                }
            }
            Ok(())
        }
    }
}

pub(super) async fn lift(conn: &mut AnyConnection, fault: StorageFault) -> DbResult<()> {
    match fault {
        StorageFault::Full => {
            conn.execute(format!("PRAGMA max_page_count = {MAX_PAGE_COUNT}").as_str()).await.map(drop)
        }
        StorageFault::ReadOnly => conn.execute("PRAGMA query_only = OFF").await.map(drop),
        StorageFault::FailingCommits => {
            let triggers: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM temp.sqlite_master WHERE type = 'trigger' AND name LIKE 'storage_fault_%'",
            )
            .fetch_all(&mut *conn)
            .await?;
            for trigger in triggers {
                conn.execute(format!("DROP TRIGGER temp.\"{trigger}\"").as_str()).await?;
            }
            conn.execute(
                "DROP TABLE IF EXISTS temp.storage_fault_child; DROP TABLE IF EXISTS temp.storage_fault_parent;",
            )
            .await
            .map(drop)
        }
    }
}
