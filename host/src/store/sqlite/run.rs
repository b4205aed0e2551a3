//! One sqlx query (its SQL and its `Any` arguments) run to its end on a rusqlite connection,
//! on the calling thread, with the answer shaped as sqlx's own SQLite driver shapes it for the
//! `Any` backend: `$N` and `?N` parameters by number, plain `?` in order; values by their
//! runtime type (INTEGER as BIGINT, REAL as DOUBLE, TEXT, BLOB, NULL); no last insert id.

use std::borrow::Cow;
use std::sync::Arc;

use rusqlite::types::{Null, ValueRef};
use rusqlite::{Batch, Connection, Statement};
use sqlx::any::{AnyArguments, AnyQueryResult, AnyRow, AnyTypeInfo, AnyTypeInfoKind, AnyValue};
use sqlx::Either;
use sqlx_core::any::{AnyColumn, AnyValueKind};
use sqlx_core::ext::ustr::UStr;

use super::error::from_rusqlite;

/// What a query gives back, in order: rows, and a result after each statement.
pub type Step = Either<AnyQueryResult, AnyRow>;

/// How much of a read-only statement to step through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rows {
    All,
    /// Only the first row of a read-only statement (`fetch_optional`). A statement that
    /// writes always runs to its end, so what fails at its end (a constraint checked then)
    /// is an error, never a row for a change that did not happen.
    First,
}

/// Runs `sql` (one statement, or several separated by `;`) with `arguments`.
pub fn run(
    conn: &Connection,
    sql: &str,
    arguments: Option<AnyArguments<'_>>,
    rows: Rows,
) -> Result<Vec<Step>, sqlx::Error> {
    let values = arguments.map(|arguments| arguments.values.0).unwrap_or_default();
    let mut steps = Vec::new();
    let mut next_positional = 0;
    match conn.prepare_cached(sql) {
        Ok(mut statement) => step(conn, &mut statement, &values, &mut next_positional, rows, &mut steps)?,
        Err(rusqlite::Error::MultipleStatement) => {
            let mut batch = Batch::new(conn, sql);
            while let Some(mut statement) = batch.next().map_err(from_rusqlite)? {
                step(conn, &mut statement, &values, &mut next_positional, Rows::All, &mut steps)?;
            }
        }
        Err(error) => return Err(from_rusqlite(error)),
    }
    Ok(steps)
}

fn step(
    conn: &Connection,
    statement: &mut Statement<'_>,
    values: &[AnyValueKind<'_>],
    next_positional: &mut usize,
    rows: Rows,
    steps: &mut Vec<Step>,
) -> Result<(), sqlx::Error> {
    bind(statement, values, next_positional)?;
    let readonly = statement.readonly();
    let count = statement.column_count();
    let mut names = sqlx_core::HashMap::with_capacity(count);
    let mut columns = Vec::with_capacity(count);
    for ordinal in 0..count {
        let name = UStr::new(statement.column_name(ordinal).map_err(from_rusqlite)?);
        names.insert(name.clone(), ordinal);
        columns.push(AnyColumn { ordinal, name, type_info: AnyTypeInfo { kind: AnyTypeInfoKind::Null } });
    }
    let names = Arc::new(names);
    let mut results = statement.raw_query();
    while let Some(row) = results.next().map_err(from_rusqlite)? {
        let mut values = Vec::with_capacity(count);
        for index in 0..count {
            values.push(AnyValue { kind: value(row.get_ref(index).map_err(from_rusqlite)?)? });
        }
        steps.push(Either::Right(AnyRow { column_names: names.clone(), columns: columns.clone(), values }));
        if rows == Rows::First && readonly {
            break;
        }
    }
    drop(results);
    let rows_affected = if readonly { 0 } else { conn.changes() };
    steps.push(Either::Left(AnyQueryResult { rows_affected, last_insert_id: None }));
    Ok(())
}

/// Binds each parameter of `statement` to its argument (an unbound one stays NULL, as in
/// sqlx's driver).
fn bind(
    statement: &mut Statement<'_>,
    values: &[AnyValueKind<'_>],
    next_positional: &mut usize,
) -> Result<(), sqlx::Error> {
    for index in 1..=statement.parameter_count() {
        let number = match statement.parameter_name(index) {
            Some(name) => {
                let digits = name.strip_prefix('$').or_else(|| name.strip_prefix('?'));
                digits.and_then(|digits| digits.parse::<usize>().ok()).ok_or_else(|| {
                    sqlx::Error::Protocol(format!("unsupported SQL parameter `{name}`: use $1, $2, …"))
                })?
            }
            None => {
                *next_positional += 1;
                *next_positional
            }
        };
        let Some(value) = number.checked_sub(1).and_then(|at| values.get(at)) else { continue };
        let bound = match value {
            AnyValueKind::Null(_) => statement.raw_bind_parameter(index, Null),
            AnyValueKind::Bool(b) => statement.raw_bind_parameter(index, i64::from(*b)),
            AnyValueKind::SmallInt(i) => statement.raw_bind_parameter(index, i64::from(*i)),
            AnyValueKind::Integer(i) => statement.raw_bind_parameter(index, i64::from(*i)),
            AnyValueKind::BigInt(i) => statement.raw_bind_parameter(index, *i),
            AnyValueKind::Real(r) => statement.raw_bind_parameter(index, f64::from(*r)),
            AnyValueKind::Double(d) => statement.raw_bind_parameter(index, *d),
            AnyValueKind::Text(text) => statement.raw_bind_parameter(index, text.as_ref()),
            AnyValueKind::Blob(bytes) => statement.raw_bind_parameter(index, bytes.as_ref()),
            other => return Err(sqlx::Error::Protocol(format!("an argument SQLite cannot take: {other:?}"))),
        };
        bound.map_err(from_rusqlite)?;
    }
    Ok(())
}

/// A column's value by its runtime type, as sqlx's driver maps it for `Any`.
fn value(value: ValueRef<'_>) -> Result<AnyValueKind<'static>, sqlx::Error> {
    Ok(match value {
        ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
        ValueRef::Integer(i) => AnyValueKind::BigInt(i),
        ValueRef::Real(r) => AnyValueKind::Double(r),
        ValueRef::Text(bytes) => AnyValueKind::Text(Cow::Owned(
            std::str::from_utf8(bytes).map_err(|error| sqlx::Error::Decode(Box::new(error)))?.to_owned(),
        )),
        ValueRef::Blob(bytes) => AnyValueKind::Blob(Cow::Owned(bytes.to_vec())),
    })
}
