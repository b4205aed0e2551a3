//! Refund reservations. An amount is reserved (`pending`) with its refund id before the
//! gateway is called, so racing refunds never exceed what was captured, and the id the
//! gateway deduplicates on is fixed before anything is sent. An attempt without a usable
//! answer leaves it `in_doubt` (still counted); the gateway's answer makes it `succeeded` or
//! `failed`. Every transition is compare-and-set on the unresolved states, so two attempts
//! of one refund (a retry and the reconciliation) can never both book it.

use super::{now, returned, DbResult, Exec};

/// A reservation's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    Pending,
    InDoubt,
    /// The gateway accepted it and will report its completion (webhook or sync); counted
    /// against what is left, not as refunded, and never attempted again.
    Accepted,
    Succeeded,
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InDoubt => "in_doubt",
            Self::Accepted => "accepted",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [Self::Pending, Self::InDoubt, Self::Accepted, Self::Succeeded, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == text)
    }

    /// Still waiting for the gateway's word on whether it was made.
    pub fn is_unresolved(self) -> bool {
        matches!(self, Self::Pending | Self::InDoubt)
    }

    /// How the transaction view shows it: `pending` until the gateway says it succeeded or
    /// failed.
    pub fn shown(self) -> &'static str {
        match self {
            Self::Pending | Self::InDoubt | Self::Accepted => "pending",
            Self::Succeeded => "succeeded",
            Self::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RefundRow {
    pub id: i64,
    pub transaction_id: i64,
    pub amount_minor: i64,
    pub state: String,
    /// What the provider sends as the gateway's idempotency key. None only for reservations
    /// left pending by a host older than this column.
    pub refund_id: Option<String>,
    /// The gateway's refund reference, once it accepted.
    pub refund_reference: Option<String>,
    pub attempts: i64,
    pub attempted_at: Option<String>,
    /// How many reconciliation passes have claimed it (the claim's compare-and-set version).
    pub reconcile_claims: i64,
    pub error_message: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

impl RefundRow {
    pub fn state(&self) -> RefundState {
        // Unknown text is treated as unresolved: it is counted and never booked twice.
        RefundState::parse(&self.state).unwrap_or(RefundState::InDoubt)
    }
}

const COLUMNS: &str = "id, transaction_id, amount_minor, state, refund_id, refund_reference, attempts, attempted_at, \
    reconcile_claims, error_message, created_at, updated_at";
const UNRESOLVED: &str = "state IN ('pending', 'in_doubt')";
/// Not yet succeeded or failed.
const OPEN: &str = "state IN ('pending', 'in_doubt', 'accepted')";

/// Minor units reserved, in doubt or refunded for a transaction.
pub async fn committed_total<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<i64> {
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds WHERE transaction_id = $1 AND state <> 'failed'",
    )
    .bind(transaction_id)
    .fetch_one(exec)
    .await?;
    Ok(total.unwrap_or(0))
}

/// Minor units of a transaction's refunds not yet succeeded or failed.
pub async fn open_total<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<i64> {
    let total: Option<i64> = sqlx::query_scalar(&format!(
        "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds WHERE transaction_id = $1 AND {OPEN}"
    ))
    .bind(transaction_id)
    .fetch_one(exec)
    .await?;
    Ok(total.unwrap_or(0))
}

/// Minor units of a transaction's refunds the gateway completed.
pub async fn succeeded_total<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<i64> {
    let total: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_minor) AS BIGINT) FROM refunds WHERE transaction_id = $1 AND state = 'succeeded'",
    )
    .bind(transaction_id)
    .fetch_one(exec)
    .await?;
    Ok(total.unwrap_or(0))
}

/// Most refunds a transaction's view lists (its latest).
pub const LISTED_PER_TRANSACTION: i64 = 1000;

/// A transaction's latest [`LISTED_PER_TRANSACTION`] refunds, oldest first.
pub async fn of_transaction<'e>(exec: impl Exec<'e>, transaction_id: i64) -> DbResult<Vec<RefundRow>> {
    let mut rows: Vec<RefundRow> =
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE transaction_id = $1 ORDER BY id DESC LIMIT $2"))
            .bind(transaction_id)
            .bind(LISTED_PER_TRANSACTION)
            .fetch_all(exec)
            .await?;
    rows.reverse();
    Ok(rows)
}

/// Reserves `amount_minor` as `pending` under `refund_id` (unique), its first attempt
/// starting now. `refund_id` None: the id is `{prefix}{reservation id}`.
pub async fn reserve(
    conn: &mut crate::store::WriteConn,
    transaction_id: i64,
    amount_minor: i64,
    refund_id: RefundId<'_>,
) -> DbResult<RefundRow> {
    let now = now();
    let row: RefundRow = sqlx::query_as(&format!(
        "INSERT INTO refunds (transaction_id, amount_minor, state, refund_id, attempts, attempted_at, created_at, updated_at)
         VALUES ($1, $2, 'pending', $3, 1, $4, $4, $4) RETURNING {COLUMNS}"
    ))
    .bind(transaction_id)
    .bind(amount_minor)
    .bind(match refund_id {
        RefundId::Given(id) => Some(id),
        RefundId::Numbered(_) => None,
    })
    .bind(now)
    // Read to the end, so a failure of the statement (a full disk) is not lost behind the row.
    .fetch_all(&mut *conn)
    .await
    .and_then(returned)?;
    match refund_id {
        RefundId::Given(_) => Ok(row),
        RefundId::Numbered(prefix) => {
            let id = format!("{prefix}{}", row.id);
            sqlx::query("UPDATE refunds SET refund_id = $2 WHERE id = $1").bind(row.id).bind(&id).execute(conn).await?;
            Ok(RefundRow { refund_id: Some(id), ..row })
        }
    }
}

/// How a reservation's refund id is made.
#[derive(Debug, Clone, Copy)]
pub enum RefundId<'a> {
    /// This id (derived from the caller's Idempotency-Key).
    Given(&'a str),
    /// This prefix followed by the reservation's own id.
    Numbered(&'a str),
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<RefundRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE id = $1")).bind(id).fetch_optional(exec).await
}

pub async fn by_refund_id<'e>(exec: impl Exec<'e>, refund_id: &str) -> DbResult<Option<RefundRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE refund_id = $1"))
        .bind(refund_id)
        .fetch_optional(exec)
        .await
}

/// Unresolved reservations whose latest attempt started at or before `attempted_before`,
/// oldest first, at most `limit`.
pub async fn unresolved<'e>(exec: impl Exec<'e>, attempted_before: &str, limit: i64) -> DbResult<Vec<RefundRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE {UNRESOLVED} AND COALESCE(attempted_at, updated_at) <= $1
         ORDER BY id LIMIT $2"
    ))
    .bind(attempted_before)
    .bind(limit)
    .fetch_all(exec)
    .await
}

/// Claims an unresolved refund, as read in `seen`, for a reconciliation pass, if its latest
/// attempt started at or before `settled_before` (it marks the attempt as starting now). The
/// claim is compare-and-set on [`RefundRow::reconcile_claims`], not on a timestamp, so of
/// several hosts' passes that read the same row exactly one takes it, however close in time.
pub async fn claim_for_reconciliation<'e>(
    exec: impl Exec<'e>,
    seen: &RefundRow,
    settled_before: &str,
) -> DbResult<bool> {
    let claimed = sqlx::query(&format!(
        "UPDATE refunds SET attempted_at = $4, reconcile_claims = reconcile_claims + 1
         WHERE id = $1 AND {UNRESOLVED} AND reconcile_claims = $2 AND COALESCE(attempted_at, updated_at) <= $3"
    ))
    .bind(seen.id)
    .bind(seen.reconcile_claims)
    .bind(settled_before)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Starts another attempt of an unresolved refund. False when it was resolved meanwhile.
pub async fn begin_attempt<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<bool> {
    let now = now();
    let done = sqlx::query(&format!(
        "UPDATE refunds SET attempts = attempts + 1, attempted_at = $2, updated_at = $2 WHERE id = $1 AND {UNRESOLVED}"
    ))
    .bind(id)
    .bind(now)
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An attempt ended without a usable answer: the refund may have been made. False when it
/// was resolved meanwhile.
pub async fn mark_in_doubt<'e>(exec: impl Exec<'e>, id: i64, why: &str) -> DbResult<bool> {
    transition(exec, id, RefundState::InDoubt, None, Some(why), UNRESOLVED).await
}

/// The gateway completed the refund. False when it was settled meanwhile (then nothing may
/// be booked again).
pub async fn confirm<'e>(exec: impl Exec<'e>, id: i64, refund_reference: &str) -> DbResult<bool> {
    transition(exec, id, RefundState::Succeeded, Some(refund_reference), None, OPEN).await
}

/// The gateway accepted the refund and will complete it later. False when it was resolved
/// meanwhile.
pub async fn accept<'e>(exec: impl Exec<'e>, id: i64, refund_reference: Option<&str>) -> DbResult<bool> {
    transition(exec, id, RefundState::Accepted, refund_reference, None, UNRESOLVED).await
}

/// The gateway refused the refund, or a refund it accepted failed: it no longer counts.
/// False when it was settled meanwhile.
pub async fn fail<'e>(exec: impl Exec<'e>, id: i64, message: &str) -> DbResult<bool> {
    transition(exec, id, RefundState::Failed, None, Some(message), OPEN).await
}

/// A transaction's refund the gateway names: by the host's refund id, else by the gateway's
/// reference.
pub async fn named(
    conn: &mut crate::store::WriteConn,
    transaction_id: i64,
    refund_id: Option<&str>,
    refund_reference: Option<&str>,
) -> DbResult<Option<RefundRow>> {
    if let Some(refund_id) = refund_id {
        let found: Option<RefundRow> =
            sqlx::query_as(&format!("SELECT {COLUMNS} FROM refunds WHERE refund_id = $1 AND transaction_id = $2"))
                .bind(refund_id)
                .bind(transaction_id)
                .fetch_optional(&mut *conn)
                .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    match refund_reference {
        Some(reference) => {
            sqlx::query_as(&format!(
                "SELECT {COLUMNS} FROM refunds WHERE refund_reference = $1 AND transaction_id = $2"
            ))
            .bind(reference)
            .bind(transaction_id)
            .fetch_optional(conn)
            .await
        }
        None => Ok(None),
    }
}

/// The transaction of an integration's refund, found by the host's refund id or the
/// gateway's reference (a refund event that names no payment).
pub async fn transaction_of_named(
    pool: &super::Reader,
    integration_id: i64,
    refund_id: Option<&str>,
    refund_reference: Option<&str>,
) -> DbResult<Option<i64>> {
    for (column, value) in [("refund_id", refund_id), ("refund_reference", refund_reference)] {
        let Some(value) = value else { continue };
        let found: Option<i64> = sqlx::query_scalar(&format!(
            "SELECT r.transaction_id FROM refunds r JOIN transactions t ON t.id = r.transaction_id
              WHERE r.{column} = $1 AND t.integration_id = $2 LIMIT 1"
        ))
        .bind(value)
        .bind(integration_id)
        .fetch_optional(pool)
        .await?;
        if found.is_some() {
            return Ok(found);
        }
    }
    Ok(None)
}

async fn transition<'e>(
    exec: impl Exec<'e>,
    id: i64,
    to: RefundState,
    refund_reference: Option<&str>,
    message: Option<&str>,
    from: &str,
) -> DbResult<bool> {
    let done = sqlx::query(&format!(
        "UPDATE refunds SET state = $2, refund_reference = COALESCE($3, refund_reference), error_message = $4,
            updated_at = $5 WHERE id = $1 AND {from}"
    ))
    .bind(id)
    .bind(to.as_str())
    .bind(refund_reference)
    .bind(message)
    .bind(now())
    .execute(exec)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Forgets an unresolved reservation the gateway never saw: nothing was sent, or the gateway
/// shows no refund it could be. False when it was resolved meanwhile.
pub async fn release<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<bool> {
    let done =
        sqlx::query(&format!("DELETE FROM refunds WHERE id = $1 AND {UNRESOLVED}")).bind(id).execute(exec).await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    async fn db_with_transaction(dir: &tempfile::TempDir) -> (Db, i64) {
        let db = Db::connect(&format!("sqlite://{}/db.sqlite", dir.path().display())).await.unwrap();
        let mut tx = db.tx().await.unwrap();
        sqlx::query(
            "INSERT INTO integrations (company_id, module, name, integration_category, payment_state, created_at, updated_at)
             VALUES (1, 'payment_mygateway', 'mg', 'Online Payment', 'Test', 'now', 'now')",
        )
        .execute(&mut *tx)
        .await
        .unwrap();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO transactions (reference, integration_id, company_id, state, integration_type, amount_minor,
                currency, refunded_minor, test_mode, created_at, updated_at)
             VALUES ('TXN-1', 1, 1, 'Captured', 'Redirect', 10000, 'USD', 0, 1, 'now', 'now') RETURNING id",
        )
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (db, id)
    }

    #[tokio::test]
    async fn reserved_in_doubt_then_confirmed_once() {
        let dir = tempfile::tempdir().unwrap();
        let (db, txn) = db_with_transaction(&dir).await;
        let mut conn = db.tx().await.unwrap();
        let row = reserve(&mut conn, txn, 3000, RefundId::Numbered("TXN-1-R")).await.unwrap();
        assert_eq!(
            (row.state(), row.refund_id.clone(), row.attempts),
            (RefundState::Pending, Some(format!("TXN-1-R{}", row.id)), 1)
        );
        assert_eq!(by_refund_id(&mut *conn, row.refund_id.as_deref().unwrap()).await.unwrap().unwrap().id, row.id);
        assert_eq!(committed_total(&mut *conn, txn).await.unwrap(), 3000);

        assert!(mark_in_doubt(&mut *conn, row.id, "MyGateway did not answer in time.").await.unwrap());
        let doubted = get(&mut *conn, row.id).await.unwrap().unwrap();
        assert_eq!(doubted.state(), RefundState::InDoubt);
        assert_eq!(doubted.error_message.as_deref(), Some("MyGateway did not answer in time."));
        assert_eq!(committed_total(&mut *conn, txn).await.unwrap(), 3000, "a refund in doubt still counts");
        assert_eq!(succeeded_total(&mut *conn, txn).await.unwrap(), 0);

        assert!(begin_attempt(&mut *conn, row.id).await.unwrap());
        assert_eq!(get(&mut *conn, row.id).await.unwrap().unwrap().attempts, 2);
        assert!(confirm(&mut *conn, row.id, "re_1").await.unwrap());
        assert!(!confirm(&mut *conn, row.id, "re_2").await.unwrap(), "a second attempt cannot book it again");
        assert!(!fail(&mut *conn, row.id, "late refusal").await.unwrap());
        assert!(!release(&mut *conn, row.id).await.unwrap());
        assert!(!begin_attempt(&mut *conn, row.id).await.unwrap());
        let done = get(&mut *conn, row.id).await.unwrap().unwrap();
        assert_eq!(
            (done.state(), done.refund_reference.as_deref(), done.error_message),
            (RefundState::Succeeded, Some("re_1"), None)
        );
        assert_eq!(succeeded_total(&mut *conn, txn).await.unwrap(), 3000);
        assert_eq!(committed_total(&mut *conn, txn).await.unwrap(), 3000);
    }

    #[tokio::test]
    async fn in_doubt_then_refused_or_released_stops_counting() {
        let dir = tempfile::tempdir().unwrap();
        let (db, txn) = db_with_transaction(&dir).await;
        let mut conn = db.tx().await.unwrap();
        let refused = reserve(&mut conn, txn, 1000, RefundId::Given("TXN-1-R-abc")).await.unwrap();
        assert_eq!(refused.refund_id.as_deref(), Some("TXN-1-R-abc"));
        assert!(
            reserve(&mut conn, txn, 1000, RefundId::Given("TXN-1-R-abc")).await.is_err(),
            "one reservation per refund id"
        );
        assert!(mark_in_doubt(&mut *conn, refused.id, "timeout").await.unwrap());
        assert!(fail(&mut *conn, refused.id, "Refund amount exceeds the remaining payment amount.").await.unwrap());
        assert!(!confirm(&mut *conn, refused.id, "re_1").await.unwrap(), "a refused refund is never booked");
        assert_eq!(get(&mut *conn, refused.id).await.unwrap().unwrap().state(), RefundState::Failed);

        let never_sent = reserve(&mut conn, txn, 2000, RefundId::Numbered("TXN-1-R")).await.unwrap();
        assert_eq!(committed_total(&mut *conn, txn).await.unwrap(), 2000, "a refused refund does not count");
        assert!(mark_in_doubt(&mut *conn, never_sent.id, "crash").await.unwrap());
        assert!(release(&mut *conn, never_sent.id).await.unwrap());
        assert!(get(&mut *conn, never_sent.id).await.unwrap().is_none());
        assert_eq!(committed_total(&mut *conn, txn).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn unresolved_lists_only_settled_attempts() {
        let dir = tempfile::tempdir().unwrap();
        let (db, txn) = db_with_transaction(&dir).await;
        let mut conn = db.tx().await.unwrap();
        let pending = reserve(&mut conn, txn, 100, RefundId::Numbered("TXN-1-R")).await.unwrap();
        let doubted = reserve(&mut conn, txn, 200, RefundId::Numbered("TXN-1-R")).await.unwrap();
        mark_in_doubt(&mut *conn, doubted.id, "timeout").await.unwrap();
        let booked = reserve(&mut conn, txn, 300, RefundId::Numbered("TXN-1-R")).await.unwrap();
        confirm(&mut *conn, booked.id, "re_9").await.unwrap();

        let later =
            (chrono::Utc::now() + chrono::Duration::seconds(1)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let ids: Vec<i64> = unresolved(&mut *conn, &later, 10).await.unwrap().iter().map(|r| r.id).collect();
        assert_eq!(ids, [pending.id, doubted.id], "pending (its host may have died) and in doubt, not booked");
        assert!(
            unresolved(&mut *conn, "2000-01-01T00:00:00.000Z", 10).await.unwrap().is_empty(),
            "attempts still settling are left alone"
        );
        assert_eq!(unresolved(&mut *conn, &later, 1).await.unwrap().len(), 1);
    }

    #[tokio::test]
    async fn of_two_claims_on_the_same_reading_exactly_one_wins_even_in_the_same_millisecond() {
        let dir = tempfile::tempdir().unwrap();
        let (db, txn) = db_with_transaction(&dir).await;
        let mut conn = db.tx().await.unwrap();
        let doubted = reserve(&mut conn, txn, 100, RefundId::Numbered("TXN-1-R")).await.unwrap();
        mark_in_doubt(&mut *conn, doubted.id, "timeout").await.unwrap();
        // A settle of zero: "settled before" is the very millisecond the refund was marked.
        let seen = get(&mut *conn, doubted.id).await.unwrap().unwrap();
        let settled_before = seen.updated_at.clone();
        assert_eq!(
            unresolved(&mut *conn, &settled_before, 10).await.unwrap().len(),
            1,
            "marked this millisecond, it is due"
        );
        assert!(claim_for_reconciliation(&mut *conn, &seen, &settled_before).await.unwrap());
        assert!(
            !claim_for_reconciliation(&mut *conn, &seen, &settled_before).await.unwrap(),
            "the second reading lost"
        );
        let claimed = get(&mut *conn, doubted.id).await.unwrap().unwrap();
        assert_eq!((claimed.reconcile_claims, claimed.attempts), (1, seen.attempts), "a claim is not an attempt");
        confirm(&mut *conn, doubted.id, "re_1").await.unwrap();
        let later = claimed.attempted_at.clone().unwrap();
        assert!(
            !claim_for_reconciliation(&mut *conn, &claimed, &later).await.unwrap(),
            "a resolved refund is never claimed"
        );
    }
}
