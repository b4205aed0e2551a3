//! The outbox: events recorded in the caller's database transaction, one delivery row per
//! matching endpoint, and every delivery attempt. Endpoint secrets are sealed under their
//! company's data key (the host's for endpoints without a company), with the endpoint's id
//! and company as associated data.

use zeroize::Zeroizing;

use super::{now, returned, DbResult, Exec};
use crate::secrets::{row_identity, DataKey, Keyring, Scope, SealedValue, SecretsError};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EventRow {
    pub id: i64,
    #[sqlx(rename = "type")]
    pub kind: String,
    pub company_id: i64,
    pub subject: String,
    pub data: String,
    pub created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub company_id: Option<i64>,
    pub types: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryRow {
    pub event_id: i64,
    pub endpoint_id: i64,
    pub subject: String,
    pub state: String,
    pub attempts: i64,
    pub next_attempt_at: String,
    pub created_at: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AttemptRow {
    pub endpoint_id: i64,
    pub attempted_at: String,
    pub status_code: Option<i64>,
    pub error: Option<String>,
    pub succeeded: i64,
}

const EVENT_COLUMNS: &str = "id, type, company_id, subject, data, created_at";
const ENDPOINT_COLUMNS: &str = "id, url, company_id, types, created_at";

/// The advisory lock that keeps the pull API from stepping past an event still being
/// written on PostgreSQL (an arbitrary constant of this host). Every transaction writing
/// events holds it shared, so any number of them run at once; [`committed_horizon`] takes it
/// exclusively for an instant.
const EVENT_ORDER_LOCK: i64 = 0x1e7e_0001;

/// An event just recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    /// Deliveries queued for it (0 when no endpoint wants it): only these need a delivery pass.
    pub deliveries: usize,
}

/// Records an event and queues it for every endpoint that wants it. Run it inside the
/// database transaction of the change the event reports.
pub async fn record(
    conn: &mut crate::store::WriteConn,
    kind: &str,
    company_id: i64,
    subject: &str,
    data: &serde_json::Value,
) -> DbResult<Recorded> {
    let now = now();
    // PostgreSQL hands out ids at insert, not at commit: a later event may commit first. Held
    // shared until this transaction ends, the lock tells `committed_horizon` an event may still
    // be on its way (SQLite's one writer commits ids in order already). Events of one subject
    // commit in order regardless: their writers update the subject's row first, and its lock
    // keeps them one at a time.
    if conn.is_postgres() {
        sqlx::query("SELECT pg_advisory_xact_lock_shared($1)").bind(EVENT_ORDER_LOCK).execute(&mut *conn).await?;
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO events (type, company_id, subject, data, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(kind)
    .bind(company_id)
    .bind(subject)
    .bind(data.to_string())
    .bind(&now)
    .fetch_all(&mut *conn)
    .await
    .and_then(returned)?;
    let endpoints: Vec<EndpointRow> = sqlx::query_as(&format!(
        "SELECT {ENDPOINT_COLUMNS} FROM event_endpoints WHERE company_id IS NULL OR company_id = $1"
    ))
    .bind(company_id)
    .fetch_all(&mut *conn)
    .await?;
    let mut deliveries = 0;
    for endpoint in endpoints.iter().filter(|e| wants(e, kind)) {
        sqlx::query(
            "INSERT INTO event_deliveries (event_id, endpoint_id, subject, state, attempts, next_attempt_at, created_at)
             VALUES ($1, $2, $3, 'pending', 0, $4, $4)",
        )
        .bind(id)
        .bind(endpoint.id)
        .bind(subject)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        deliveries += 1;
    }
    Ok(Recorded { id, deliveries })
}

fn wants(endpoint: &EndpointRow, kind: &str) -> bool {
    match &endpoint.types {
        None => true,
        Some(types) => serde_json::from_str::<Vec<String>>(types).is_ok_and(|types| types.iter().any(|t| t == kind)),
    }
}

fn secret_associated_data(endpoint_id: i64, company_id: Option<i64>) -> Vec<u8> {
    row_identity("integrations-host event endpoint secret v1", &[Some(endpoint_id), company_id], "")
}

/// Adds an endpoint, its secret sealed under `key` (the data key of its company, or the
/// host's), inside the caller's transaction.
pub async fn add_endpoint(
    conn: &mut crate::store::WriteConn,
    key: &DataKey,
    url: &str,
    secret: &str,
    company_id: Option<i64>,
    types: Option<&[String]>,
) -> DbResult<EndpointRow> {
    assert_eq!(key.scope(), Scope::of(company_id), "an endpoint secret is sealed under its company's data key");
    let row: EndpointRow = sqlx::query_as(&format!(
        "INSERT INTO event_endpoints (url, secret, company_id, types, created_at) VALUES ($1, '', $2, $3, $4)
         RETURNING {ENDPOINT_COLUMNS}"
    ))
    .bind(url)
    .bind(company_id)
    .bind(types.map(|t| serde_json::to_string(t).expect("strings serialize")))
    .bind(now())
    .fetch_all(&mut *conn)
    .await
    .and_then(returned)?;
    sqlx::query("UPDATE event_endpoints SET sealed_secret = $2 WHERE id = $1")
        .bind(row.id)
        .bind(key.seal(&secret_associated_data(row.id, company_id), secret))
        .execute(&mut *conn)
        .await?;
    Ok(row)
}

pub async fn endpoint<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<EndpointRow>> {
    sqlx::query_as(&format!("SELECT {ENDPOINT_COLUMNS} FROM event_endpoints WHERE id = $1"))
        .bind(id)
        .fetch_optional(exec)
        .await
}

/// An endpoint's secret, decrypted.
pub async fn endpoint_secret<'e>(
    exec: impl Exec<'e>,
    keys: &Keyring,
    endpoint: &EndpointRow,
) -> Result<Zeroizing<String>, SecretsError> {
    let (company_id, sealed): (Option<i64>, Option<Vec<u8>>) =
        sqlx::query_as("SELECT company_id, sealed_secret FROM event_endpoints WHERE id = $1")
            .bind(endpoint.id)
            .fetch_one(exec)
            .await?;
    let which = || SealedValue::EndpointSecret { endpoint_id: endpoint.id };
    let sealed = sealed.ok_or_else(|| SecretsError::NotSealed(which()))?;
    let key = keys.existing_data_key(Scope::of(company_id)).await?;
    key.open(&secret_associated_data(endpoint.id, company_id), &sealed)
        .map_err(|_| SecretsError::Undecryptable(which()))
}

/// An endpoint secret an older version stored in plain text.
pub(crate) struct PlainSecret {
    id: i64,
    pub(crate) company_id: Option<i64>,
    secret: Zeroizing<String>,
}

pub(crate) async fn plain_secrets(conn: &mut crate::store::WriteConn) -> DbResult<Vec<PlainSecret>> {
    let rows: Vec<(i64, Option<i64>, String)> =
        sqlx::query_as("SELECT id, company_id, secret FROM event_endpoints WHERE sealed_secret IS NULL")
            .fetch_all(conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, company_id, secret)| PlainSecret { id, company_id, secret: Zeroizing::new(secret) })
        .collect())
}

/// Seals a plain endpoint secret in place (and empties its plain column).
pub(crate) async fn seal_plain_secret(
    conn: &mut crate::store::WriteConn,
    key: &DataKey,
    row: &PlainSecret,
) -> DbResult<()> {
    sqlx::query("UPDATE event_endpoints SET sealed_secret = $2, secret = '' WHERE id = $1 AND sealed_secret IS NULL")
        .bind(row.id)
        .bind(key.seal(&secret_associated_data(row.id, row.company_id), &row.secret))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<EventRow>> {
    sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1")).bind(id).fetch_optional(exec).await
}

/// Events after `after`, oldest first, for one company (all when None).
/// The highest event id below which no event can still appear (PostgreSQL): taken with the
/// event lock held exclusively, that is once every transaction writing events when it was
/// asked for has ended. Ids handed out later are higher.
pub async fn committed_horizon(conn: &mut crate::store::WriteConn) -> DbResult<i64> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(EVENT_ORDER_LOCK).execute(&mut *conn).await?;
    sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM events").fetch_one(&mut *conn).await
}

/// Events after `after` up to `horizon` (see [`committed_horizon`]), oldest first.
pub async fn after<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    after: i64,
    horizon: i64,
    limit: i64,
) -> DbResult<Vec<EventRow>> {
    sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE id > $1 AND id <= $2 AND ($3 IS NULL OR company_id = $3) \
         ORDER BY id LIMIT $4"
    ))
    .bind(after)
    .bind(horizon)
    .bind(company_id)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// Pending deliveries that are due, first in line for their endpoint and subject, and not
/// leased by a host now (an earlier one leased elsewhere still holds its subject back).
pub async fn due<'e>(exec: impl Exec<'e>, now: &str, limit: i64) -> DbResult<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT event_id, endpoint_id, subject, state, attempts, next_attempt_at, created_at FROM event_deliveries d
         WHERE d.state = 'pending' AND d.next_attempt_at <= $1
           AND (d.leased_until IS NULL OR d.leased_until < $1)
           AND NOT EXISTS (SELECT 1 FROM event_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.subject = d.subject
                           AND e.state = 'pending' AND e.event_id < d.event_id)
         ORDER BY d.event_id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// When the next pending delivery that is first in line for its subject is due, if any (a
/// leased one: when its lease runs out). Ones waiting behind an earlier delivery are not
/// counted: their time comes when the earlier one is settled.
pub async fn next_due<'e>(exec: impl Exec<'e>) -> DbResult<Option<String>> {
    sqlx::query_scalar(
        "SELECT MIN(CASE WHEN d.leased_until IS NOT NULL AND d.leased_until > d.next_attempt_at THEN d.leased_until
                         ELSE d.next_attempt_at END)
         FROM event_deliveries d WHERE d.state = 'pending'
           AND NOT EXISTS (SELECT 1 FROM event_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.subject = d.subject
                           AND e.state = 'pending' AND e.event_id < d.event_id)",
    )
    .fetch_one(exec)
    .await
}

/// Leases a due delivery to this host until `until`, unless another host holds it: true for
/// exactly one of the hosts that try at once.
pub async fn lease<'e>(exec: impl Exec<'e>, delivery: &DeliveryRow, now: &str, until: &str) -> DbResult<bool> {
    let leased = sqlx::query(
        "UPDATE event_deliveries SET leased_until = $4 WHERE event_id = $1 AND endpoint_id = $2
           AND state = 'pending' AND next_attempt_at <= $3 AND (leased_until IS NULL OR leased_until < $3)",
    )
    .bind(delivery.event_id)
    .bind(delivery.endpoint_id)
    .bind(now)
    .bind(until)
    .execute(exec)
    .await?;
    Ok(leased.rows_affected() == 1)
}

pub async fn deliveries_of<'e>(exec: impl Exec<'e>, event_id: i64) -> DbResult<Vec<DeliveryRow>> {
    sqlx::query_as(
        "SELECT event_id, endpoint_id, subject, state, attempts, next_attempt_at, created_at FROM event_deliveries
         WHERE event_id = $1 ORDER BY endpoint_id",
    )
    .bind(event_id)
    .fetch_all(exec)
    .await
}

pub async fn attempts_of<'e>(exec: impl Exec<'e>, event_id: i64) -> DbResult<Vec<AttemptRow>> {
    sqlx::query_as(
        "SELECT endpoint_id, attempted_at, status_code, error, succeeded FROM delivery_attempts WHERE event_id = $1 ORDER BY id",
    )
    .bind(event_id)
    .fetch_all(exec)
    .await
}

/// Records an attempt and moves the delivery to `state` (next try at `next_attempt_at`), if
/// this host still holds its lease (`leased_until`, as [`lease`] set it): false, with nothing
/// changed once the caller rolls back, when the lease ran out and another host took it.
pub async fn settle(
    conn: &mut crate::store::WriteConn,
    delivery: &DeliveryRow,
    leased_until: &str,
    status_code: Option<u16>,
    error: Option<&str>,
    state: &str,
    next_attempt_at: &str,
) -> DbResult<bool> {
    sqlx::query(
        "INSERT INTO delivery_attempts (event_id, endpoint_id, attempted_at, status_code, error, succeeded) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(delivery.event_id)
    .bind(delivery.endpoint_id)
    .bind(now())
    .bind(status_code.map(i64::from))
    .bind(error)
    .bind(i64::from(state == "delivered"))
    .execute(&mut *conn)
    .await?;
    let settled = sqlx::query("UPDATE event_deliveries SET state = $3, attempts = attempts + 1, next_attempt_at = $4, leased_until = NULL WHERE event_id = $1 AND endpoint_id = $2 AND leased_until = $5")
        .bind(delivery.event_id)
        .bind(delivery.endpoint_id)
        .bind(state)
        .bind(next_attempt_at)
        .bind(leased_until)
        .execute(&mut *conn)
        .await?;
    Ok(settled.rows_affected() == 1)
}

/// Queues an event again for every endpoint it was meant for. Returns how many.
pub async fn redeliver<'e>(exec: impl Exec<'e>, event_id: i64) -> DbResult<u64> {
    let result = sqlx::query(
        "UPDATE event_deliveries SET state = 'pending', next_attempt_at = $2, created_at = $2, leased_until = NULL WHERE event_id = $1",
    )
    .bind(event_id)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(result.rows_affected())
}

/// Deliveries pending and failed for good, and when the oldest pending one was queued.
pub async fn delivery_backlog<'e>(exec: impl Exec<'e>) -> DbResult<(i64, i64, Option<String>)> {
    sqlx::query_as(
        "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),
                COALESCE(SUM(CASE WHEN state = 'failed' THEN 1 ELSE 0 END), 0),
                MIN(CASE WHEN state = 'pending' THEN created_at END)
         FROM event_deliveries",
    )
    .fetch_one(exec)
    .await
}

/// Lets go of every delivery lease (SQLite at start: the file has one host, so a lease left by
/// a process that died protects nothing).
pub async fn clear_leases<'e>(exec: impl Exec<'e>) -> DbResult<()> {
    sqlx::query("UPDATE event_deliveries SET leased_until = NULL WHERE leased_until IS NOT NULL").execute(exec).await?;
    Ok(())
}
