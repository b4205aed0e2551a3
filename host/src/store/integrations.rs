//! Integrations: one configured use of a module by a company (the seed's Integration and
//! PaymentIntegration fields).

use super::{now, returned, DbResult, Exec};

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct IntegrationRow {
    pub id: i64,
    pub company_id: i64,
    pub module: String,
    pub name: String,
    pub description: Option<String>,
    pub integration_category: String,
    pub enabled: i64,
    pub payment_state: String,
    pub payment_integration_type: String,
    pub payment_display_name: Option<String>,
    pub payment_sequence: i64,
    pub last_synced_date: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// Bumped by every edit; an edit is saved only over the revision it read ([`update`]).
    pub revision: i64,
}

impl IntegrationRow {
    pub fn is_enabled(&self) -> bool {
        self.enabled != 0
    }

    pub fn test_mode(&self) -> bool {
        self.payment_state != "Live"
    }
}

const COLUMNS: &str = "id, company_id, module, name, description, integration_category, enabled, payment_state, \
    payment_integration_type, payment_display_name, payment_sequence, last_synced_date, created_at, updated_at, revision";

/// Inserts a new integration (disabled) and returns it.
pub async fn insert<'e>(exec: impl Exec<'e>, row: &IntegrationRow) -> DbResult<IntegrationRow> {
    let now = now();
    sqlx::query_as(&format!(
        "INSERT INTO integrations (company_id, module, name, description, integration_category, enabled, payment_state,
            payment_integration_type, payment_display_name, payment_sequence, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 0, $6, $7, $8, $9, $10, $10) RETURNING {COLUMNS}"
    ))
    .bind(row.company_id)
    .bind(&row.module)
    .bind(&row.name)
    .bind(&row.description)
    .bind(&row.integration_category)
    .bind(&row.payment_state)
    .bind(&row.payment_integration_type)
    .bind(&row.payment_display_name)
    .bind(row.payment_sequence)
    .bind(now)
    .fetch_all(exec)
    .await
    .and_then(returned)
}

pub async fn get<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<Option<IntegrationRow>> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM integrations WHERE id = $1")).bind(id).fetch_optional(exec).await
}

/// Integrations filtered by company and category, in payment sequence order.
pub async fn list<'e>(
    exec: impl Exec<'e>,
    company_id: Option<i64>,
    category: Option<&str>,
) -> DbResult<Vec<IntegrationRow>> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM integrations
         WHERE ($1 IS NULL OR company_id = $1) AND ($2 IS NULL OR integration_category = $2)
         ORDER BY payment_sequence, id"
    ))
    .bind(company_id)
    .bind(category)
    .fetch_all(exec)
    .await
}

/// Saves the editable fields, if the integration is still at the revision `row` was read at
/// (compare-and-set: false when another edit came first; read it again and reapply).
pub async fn update<'e>(exec: impl Exec<'e>, row: &IntegrationRow) -> DbResult<bool> {
    let saved = sqlx::query(
        "UPDATE integrations SET name = $2, description = $3, enabled = $4, payment_state = $5, payment_integration_type = $6,
            payment_display_name = $7, payment_sequence = $8, updated_at = $9, revision = revision + 1
         WHERE id = $1 AND revision = $10",
    )
    .bind(row.id)
    .bind(&row.name)
    .bind(&row.description)
    .bind(row.enabled)
    .bind(&row.payment_state)
    .bind(&row.payment_integration_type)
    .bind(&row.payment_display_name)
    .bind(row.payment_sequence)
    .bind(now())
    .bind(row.revision)
    .execute(exec)
    .await?;
    Ok(saved.rows_affected() == 1)
}

/// Bumps the revision of an integration still at `revision` (its credentials change): an
/// edit that read it before is then saved only after reading it again. False when another
/// edit came first.
pub async fn touch<'e>(exec: impl Exec<'e>, id: i64, revision: i64) -> DbResult<bool> {
    let touched =
        sqlx::query("UPDATE integrations SET revision = revision + 1, updated_at = $2 WHERE id = $1 AND revision = $3")
            .bind(id)
            .bind(now())
            .bind(revision)
            .execute(exec)
            .await?;
    Ok(touched.rows_affected() == 1)
}

/// PostgreSQL: how many edits and deletes of integrations have committed (a trigger counts
/// them; `migrations/postgres/0006_integration_changes.sql`). No such count on SQLite, where
/// one host owns the file.
pub async fn change_count<'e>(exec: impl Exec<'e>) -> DbResult<i64> {
    sqlx::query_scalar("SELECT count FROM integration_changes WHERE id = 1").fetch_one(exec).await
}

pub async fn delete<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<()> {
    sqlx::query("DELETE FROM integrations WHERE id = $1").bind(id).execute(exec).await?;
    Ok(())
}

/// How many transactions and messages name the integration: the history that keeps it.
pub async fn history_count<'e>(exec: impl Exec<'e>, id: i64) -> DbResult<(i64, i64)> {
    sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM transactions WHERE integration_id = $1), \
                (SELECT COUNT(*) FROM messages WHERE integration_id = $1)",
    )
    .bind(id)
    .fetch_one(exec)
    .await
}

pub async fn set_last_synced<'e>(exec: impl Exec<'e>, id: i64, at: &str) -> DbResult<()> {
    sqlx::query("UPDATE integrations SET last_synced_date = $2 WHERE id = $1").bind(id).bind(at).execute(exec).await?;
    Ok(())
}

/// Claims the scheduled sync of integration `id` until `until`, if it is due (never synced, or
/// last synced before `due_before`) and no live claim holds it: true for exactly one of the
/// hosts that try at once.
pub async fn claim_sync<'e>(exec: impl Exec<'e>, id: i64, due_before: &str, now: &str, until: &str) -> DbResult<bool> {
    let claimed = sqlx::query(
        "UPDATE integrations SET sync_claimed_until = $4 WHERE id = $1
           AND (last_synced_date IS NULL OR last_synced_date < $2)
           AND (sync_claimed_until IS NULL OR sync_claimed_until < $3)",
    )
    .bind(id)
    .bind(due_before)
    .bind(now)
    .bind(until)
    .execute(exec)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Extends this host's sync claim (`until`, as [`claim_sync`] or the last renewal set it) to
/// `new_until`. False when it is no longer this host's.
pub async fn renew_sync<'e>(exec: impl Exec<'e>, id: i64, until: &str, new_until: &str) -> DbResult<bool> {
    let renewed =
        sqlx::query("UPDATE integrations SET sync_claimed_until = $3 WHERE id = $1 AND sync_claimed_until = $2")
            .bind(id)
            .bind(until)
            .bind(new_until)
            .execute(exec)
            .await?;
    Ok(renewed.rows_affected() == 1)
}

/// Lets go of this host's sync claim (`until`, as [`claim_sync`] set it); a claim another
/// host took after this one ran out stays.
pub async fn release_sync<'e>(exec: impl Exec<'e>, id: i64, until: &str) -> DbResult<()> {
    sqlx::query("UPDATE integrations SET sync_claimed_until = NULL WHERE id = $1 AND sync_claimed_until = $2")
        .bind(id)
        .bind(until)
        .execute(exec)
        .await?;
    Ok(())
}

/// Lets go of every sync claim (SQLite at start, as `events::clear_leases`).
pub async fn clear_sync_claims<'e>(exec: impl Exec<'e>) -> DbResult<()> {
    sqlx::query("UPDATE integrations SET sync_claimed_until = NULL WHERE sync_claimed_until IS NOT NULL")
        .execute(exec)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Db;

    #[tokio::test]
    async fn a_sync_claim_is_renewed_and_released_only_by_its_holder() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/db.sqlite", dir.path().display())).await.unwrap();
        let mut tx = db.tx().await.unwrap();
        let w = &mut *tx;
        sqlx::query(
            "INSERT INTO integrations (company_id, module, name, integration_category, payment_state, created_at, updated_at)
             VALUES (1, 'payment_mygateway', 'mg', 'Online Payment', 'Test', 'now', 'now')",
        )
        .execute(&mut *w)
        .await
        .unwrap();
        let (now, first, later) = ("2026-12-01T10:00:00.000Z", "2026-12-01T10:05:00.000Z", "2026-12-01T10:07:00.000Z");
        assert!(claim_sync(&mut *w, 1, "9999", now, first).await.unwrap());
        assert!(!claim_sync(&mut *w, 1, "9999", now, "2026-12-01T10:06:00.000Z").await.unwrap(), "held");
        assert!(renew_sync(&mut *w, 1, first, later).await.unwrap());
        assert!(
            !renew_sync(&mut *w, 1, first, "2026-12-01T10:09:00.000Z").await.unwrap(),
            "no longer the holder's until"
        );
        release_sync(&mut *w, 1, first).await.unwrap();
        let held: Option<String> =
            sqlx::query_scalar("SELECT sync_claimed_until FROM integrations").fetch_one(&mut *w).await.unwrap();
        assert_eq!(held.as_deref(), Some(later), "a stale holder's release leaves the renewed claim");
        release_sync(&mut *w, 1, later).await.unwrap();
        assert!(claim_sync(&mut *w, 1, "9999", now, first).await.unwrap(), "free once released");
    }
}
