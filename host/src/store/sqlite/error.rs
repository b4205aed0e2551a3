//! SQLite's errors as sqlx errors: the store's callers see one error type on both backends
//! (`is_unique_violation`, `is_storage_fault` and the API's error mapping read the same codes
//! sqlx's own SQLite driver gives).

use std::borrow::Cow;
use std::fmt;

use sqlx::error::{DatabaseError, ErrorKind};

/// A failure SQLite reported, with its extended result code (as sqlx's driver reports it).
#[derive(Debug, Clone)]
pub struct SqliteError {
    code: i32,
    message: String,
}

impl fmt::Display for SqliteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(code: {}) {}", self.code, self.message)
    }
}

impl std::error::Error for SqliteError {}

impl DatabaseError for SqliteError {
    fn message(&self) -> &str {
        &self.message
    }

    fn code(&self) -> Option<Cow<'_, str>> {
        Some(Cow::Owned(self.code.to_string()))
    }

    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }

    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }

    fn kind(&self) -> ErrorKind {
        match self.code {
            // SQLITE_CONSTRAINT_UNIQUE, SQLITE_CONSTRAINT_PRIMARYKEY
            2067 | 1555 => ErrorKind::UniqueViolation,
            // SQLITE_CONSTRAINT_FOREIGNKEY
            787 => ErrorKind::ForeignKeyViolation,
            // SQLITE_CONSTRAINT_NOTNULL
            1299 => ErrorKind::NotNullViolation,
            // SQLITE_CONSTRAINT_CHECK
            275 => ErrorKind::CheckViolation,
            _ => ErrorKind::Other,
        }
    }
}

/// A rusqlite error as the sqlx error the store's callers expect.
pub fn from_rusqlite(error: rusqlite::Error) -> sqlx::Error {
    match error {
        rusqlite::Error::SqliteFailure(failure, message) => sqlx::Error::Database(Box::new(SqliteError {
            code: failure.extended_code,
            message: message.unwrap_or_else(|| failure.to_string()),
        })),
        rusqlite::Error::Utf8Error(error) => sqlx::Error::Decode(Box::new(error)),
        other => sqlx::Error::Protocol(other.to_string()),
    }
}

/// The same failure again, for each of several callers one failure ends (the units of a
/// batch whose COMMIT failed): a SQLite failure keeps its code, so it is classified alike.
pub fn duplicate(error: &sqlx::Error) -> sqlx::Error {
    match error {
        sqlx::Error::Database(database) => match database.try_downcast_ref::<SqliteError>() {
            Some(sqlite) => sqlx::Error::Database(Box::new(sqlite.clone())),
            None => sqlx::Error::Protocol(error.to_string()),
        },
        other => sqlx::Error::Protocol(other.to_string()),
    }
}
