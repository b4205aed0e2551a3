//! Idempotency keys: the first request with a key runs and its response is kept; a retry
//! with the same body gets that response again, a different body is a conflict.

use super::{now, DbResult, Exec};

pub enum Claim {
    /// This request owns the key: run it, then `complete` or `release`.
    Owned,
    /// The key already answered this request.
    Replay { status: u16, body: String },
    /// The key was used for a different request.
    Mismatch,
    /// The first request with this key is still running (a claim without an answer older
    /// than the takeover time is taken over).
    InProgress,
}

/// After this long without an answer, a claim belongs to a request that will never finish
/// (its host stopped mid-way) and the next request with the key takes it over.
pub const DEFAULT_TAKEOVER: std::time::Duration = std::time::Duration::from_secs(300);

/// Claims `key` for a request whose route and body hash to `request_hash`. A claim without an
/// answer older than `takeover_after` is taken over (by one request only).
pub async fn claim(
    conn: &mut crate::store::WriteConn,
    scope: &str,
    key: &str,
    request_hash: &str,
    takeover_after: std::time::Duration,
) -> DbResult<Claim> {
    // DO NOTHING rather than a caught unique violation: on PostgreSQL a failed statement
    // would abort the transaction the rest of the claim runs in.
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (scope, key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(now())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::Owned);
    }
    let (hash, status, body, created_at): (String, Option<i64>, Option<String>, String) = sqlx::query_as(
        "SELECT request_hash, status_code, response, created_at FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_one(&mut *conn)
    .await?;
    Ok(match (hash == request_hash, status, body) {
        (false, _, _) => Claim::Mismatch,
        (true, Some(status), Some(body)) => Claim::Replay { status: status as u16, body },
        (true, _, _) if is_abandoned(&created_at, takeover_after) => {
            // The first request never finished (the host stopped mid-way): take the key over.
            let taken = sqlx::query("UPDATE idempotency_keys SET created_at = $3 WHERE scope = $1 AND key = $2 AND status_code IS NULL AND created_at = $4")
                .bind(scope)
                .bind(key)
                .bind(now())
                .bind(&created_at)
                .execute(&mut *conn)
                .await?;
            if taken.rows_affected() == 1 {
                Claim::Owned
            } else {
                Claim::InProgress
            }
        }
        (true, _, _) => Claim::InProgress,
    })
}

fn is_abandoned(created_at: &str, takeover_after: std::time::Duration) -> bool {
    let after = chrono::Duration::from_std(takeover_after).unwrap_or(chrono::Duration::MAX);
    chrono::DateTime::parse_from_rfc3339(created_at)
        .is_ok_and(|at| chrono::Utc::now() - at.with_timezone(&chrono::Utc) >= after)
}

pub async fn complete<'e>(exec: impl Exec<'e>, scope: &str, key: &str, status: u16, body: &str) -> DbResult<()> {
    sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE scope = $1 AND key = $2")
        .bind(scope)
        .bind(key)
        .bind(i64::from(status))
        .bind(body)
        .execute(exec)
        .await?;
    Ok(())
}

/// Forgets a key whose request failed in a way worth retrying.
pub async fn release<'e>(exec: impl Exec<'e>, scope: &str, key: &str) -> DbResult<()> {
    sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND status_code IS NULL")
        .bind(scope)
        .bind(key)
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    async fn fresh_db() -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/db.sqlite", dir.path().display())).await.unwrap();
        (dir, db)
    }

    /// Moves every claim's clock back to `age` ago.
    async fn claimed_ago(conn: &mut crate::store::WriteConn, age: chrono::Duration) {
        let at = (chrono::Utc::now() - age).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        sqlx::query("UPDATE idempotency_keys SET created_at = $1").bind(&at).execute(conn).await.unwrap();
    }

    #[tokio::test]
    async fn a_key_is_owned_once_replayed_after_and_taken_over_when_abandoned() {
        let (_dir, db) = fresh_db().await;
        let mut conn = db.tx().await.unwrap();
        let pool = &mut *conn;
        assert!(matches!(claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::Owned));
        assert!(matches!(claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::InProgress));
        assert!(matches!(claim(&mut *pool, "admin", "k", "h2", DEFAULT_TAKEOVER).await.unwrap(), Claim::Mismatch));

        claimed_ago(&mut *pool, chrono::Duration::minutes(6)).await;
        assert!(
            matches!(claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::Owned),
            "an abandoned claim is taken over"
        );
        assert!(
            matches!(claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::InProgress),
            "but only once"
        );

        complete(&mut *pool, "admin", "k", 201, "{\"ok\":true}").await.unwrap();
        match claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap() {
            Claim::Replay { status, body } => assert_eq!((status, body.as_str()), (201, "{\"ok\":true}")),
            _ => panic!("expected a replay"),
        }
        assert!(
            matches!(claim(&mut *pool, "key:1", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::Owned),
            "keys are per caller"
        );
    }

    #[tokio::test]
    async fn the_takeover_time_is_the_callers() {
        let (_dir, db) = fresh_db().await;
        let mut conn = db.tx().await.unwrap();
        let pool = &mut *conn;
        let short = std::time::Duration::from_secs(20);
        assert!(matches!(claim(&mut *pool, "admin", "k", "h1", short).await.unwrap(), Claim::Owned));
        assert!(matches!(claim(&mut *pool, "admin", "k", "h1", short).await.unwrap(), Claim::InProgress));
        claimed_ago(&mut *pool, chrono::Duration::seconds(30)).await;
        assert!(
            matches!(claim(&mut *pool, "admin", "k", "h1", DEFAULT_TAKEOVER).await.unwrap(), Claim::InProgress),
            "30 s is young for the default"
        );
        assert!(
            matches!(claim(&mut *pool, "admin", "k", "h1", short).await.unwrap(), Claim::Owned),
            "but old for 20 s"
        );
    }
}
