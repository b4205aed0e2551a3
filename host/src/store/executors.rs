//! The two things store queries run on, as sqlx executors over both backends: [`Reader`]
//! (`Db::read()`) and [`WriteConn`] (`&mut *tx` of a [`super::WriteTx`]). On PostgreSQL they
//! are sqlx's pool and transaction; on SQLite they run the query on the calling thread
//! ([`super::sqlite`]). Store functions take any `Exec`, so one query text serves both.

use futures_util::future::BoxFuture;
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyStatement, AnyTypeInfo};
use sqlx::{Any, AnyConnection, AnyPool, Either, Execute, Executor};
use sqlx_core::describe::Describe;

use super::sqlite::{Rows, SqliteFile, Step, WriteConnection};

/// Where reads run.
pub enum Reader {
    Sqlite(std::sync::Arc<SqliteFile>),
    Postgres(AnyPool),
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reader::Sqlite(file) => f.debug_tuple("Reader::Sqlite").field(file).finish(),
            Reader::Postgres(_) => f.write_str("Reader::Postgres"),
        }
    }
}

/// The connection of a write transaction.
pub enum WriteConn {
    Sqlite(WriteConnection),
    Postgres(sqlx::Transaction<'static, Any>),
}

impl WriteConn {
    pub fn is_postgres(&self) -> bool {
        matches!(self, WriteConn::Postgres(_))
    }
}

impl std::fmt::Debug for WriteConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteConn::Sqlite(conn) => f.debug_tuple("WriteConn::Sqlite").field(conn).finish(),
            WriteConn::Postgres(_) => f.write_str("WriteConn::Postgres"),
        }
    }
}

/// Where one query of an executor goes: run here on SQLite, or handed to sqlx.
enum Route<'c, S> {
    Sqlite(SqliteTarget<'c>),
    Sqlx(S),
}

/// The SQLite connections a query runs on.
enum SqliteTarget<'c> {
    Readers(&'c SqliteFile),
    Writer(&'c mut WriteConnection),
}

impl SqliteTarget<'_> {
    fn run(&mut self, sql: &str, arguments: Option<AnyArguments<'_>>, rows: Rows) -> Result<Vec<Step>, sqlx::Error> {
        match self {
            SqliteTarget::Readers(file) => file.read(sql, arguments, rows),
            SqliteTarget::Writer(conn) => conn.run(sql, arguments, rows),
        }
    }
}

/// The executors whose queries are routed.
trait Routed<'c> {
    type Sqlx: Executor<'c, Database = Any>;
    fn route(self) -> Route<'c, Self::Sqlx>;
}

impl<'c> Routed<'c> for &'c Reader {
    type Sqlx = &'c AnyPool;

    fn route(self) -> Route<'c, &'c AnyPool> {
        match self {
            Reader::Sqlite(file) => Route::Sqlite(SqliteTarget::Readers(file)),
            Reader::Postgres(pool) => Route::Sqlx(pool),
        }
    }
}

impl<'c> Routed<'c> for &'c mut WriteConn {
    type Sqlx = &'c mut AnyConnection;

    fn route(self) -> Route<'c, &'c mut AnyConnection> {
        match self {
            WriteConn::Sqlite(conn) => Route::Sqlite(SqliteTarget::Writer(conn)),
            WriteConn::Postgres(tx) => Route::Sqlx(&mut **tx),
        }
    }
}

/// The query's arguments, taken once.
fn arguments<'q, E: Execute<'q, Any>>(query: &mut E) -> Result<Option<AnyArguments<'q>>, sqlx::Error> {
    query.take_arguments().map_err(sqlx::Error::Encode)
}

/// The steps of a query, run when the stream is first polled.
fn steps<'e>(
    run: impl std::future::Future<Output = Result<Vec<Step>, sqlx::Error>> + Send + 'e,
) -> BoxStream<'e, Result<Step, sqlx::Error>> {
    stream::once(run)
        .flat_map(|ran| {
            let steps: Vec<Result<Step, sqlx::Error>> = match ran {
                Ok(steps) => steps.into_iter().map(Ok).collect(),
                Err(error) => vec![Err(error)],
            };
            stream::iter(steps)
        })
        .boxed()
}

fn not_offered<'e, T: Send + 'e>() -> BoxFuture<'e, Result<T, sqlx::Error>> {
    Box::pin(async { Err(sqlx::Error::Protocol("prepare and describe are not offered on SQLite here".into())) })
}

/// `Executor` for each routed type: SQLite runs the query lazily (when first polled), sqlx
/// gets it as it came.
macro_rules! routed_executor {
    ($($target:ty),*) => {$(
        impl<'c> Executor<'c> for $target {
            type Database = Any;

            fn fetch_many<'e, 'q: 'e, E>(
                self,
                mut query: E,
            ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
            where
                'c: 'e,
                E: 'q + Execute<'q, Any>,
            {
                match self.route() {
                    Route::Sqlx(sqlx) => sqlx.fetch_many(query),
                    Route::Sqlite(mut conn) => steps(async move { conn.run(query.sql(), arguments(&mut query)?, Rows::All) }),
                }
            }

            fn fetch_optional<'e, 'q: 'e, E>(self, mut query: E) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
            where
                'c: 'e,
                E: 'q + Execute<'q, Any>,
            {
                match self.route() {
                    Route::Sqlx(sqlx) => sqlx.fetch_optional(query),
                    Route::Sqlite(mut conn) => Box::pin(async move {
                        let steps = conn.run(query.sql(), arguments(&mut query)?, Rows::First)?;
                        Ok(steps.into_iter().find_map(|step| step.right()))
                    }),
                }
            }

            fn prepare_with<'e, 'q: 'e>(
                self,
                sql: &'q str,
                parameters: &'e [AnyTypeInfo],
            ) -> BoxFuture<'e, Result<AnyStatement<'q>, sqlx::Error>>
            where
                'c: 'e,
            {
                match self.route() {
                    Route::Sqlx(sqlx) => sqlx.prepare_with(sql, parameters),
                    Route::Sqlite(_) => not_offered(),
                }
            }

            fn describe<'e, 'q: 'e>(self, sql: &'q str) -> BoxFuture<'e, Result<Describe<Any>, sqlx::Error>>
            where
                'c: 'e,
            {
                match self.route() {
                    Route::Sqlx(sqlx) => sqlx.describe(sql),
                    Route::Sqlite(_) => not_offered(),
                }
            }
        }
    )*};
}

routed_executor!(&'c Reader, &'c mut WriteConn);
