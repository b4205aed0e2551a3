//! `/api/integrations`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::{views, ApiError};

type JsonResult = Result<Json<serde_json::Value>, ApiError>;

async fn shown(app: &App, row: crate::store::integrations::IntegrationRow) -> JsonResult {
    Ok(Json(views::integration(&app.integration_view(row).await?)))
}

pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    let row = app.create_integration(caller, parse_json(&body)?).await?;
    Ok((StatusCode::CREATED, shown(&app, row).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    company_id: Option<i64>,
    category: Option<String>,
}

pub async fn list(State(app): State<Arc<App>>, caller: Caller, ApiQuery(query): ApiQuery<ListQuery>) -> JsonResult {
    let rows = app.list_integrations(caller, query.company_id, query.category.as_deref()).await?;
    let mut shown = Vec::with_capacity(rows.len());
    for row in rows {
        shown.push(views::integration(&app.integration_view(row).await?));
    }
    Ok(Json(shown.into()))
}

pub async fn show(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> JsonResult {
    let row = app.visible_integration(caller, id).await?;
    shown(&app, row).await
}

pub async fn patch(State(app): State<Arc<App>>, caller: Caller, Id(id): Id, JsonBody(body): JsonBody) -> JsonResult {
    let row = app.patch_integration(caller, id, parse_json(&body)?).await?;
    shown(&app, row).await
}

pub async fn set_credentials(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    JsonBody(body): JsonBody,
) -> JsonResult {
    let row = app.set_credentials(caller, id, parse_json(&body)?).await?;
    shown(&app, row).await
}

pub async fn enable(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> JsonResult {
    let row = app.enable_integration(caller, id).await?;
    shown(&app, row).await
}

pub async fn disable(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> JsonResult {
    let row = app.disable_integration(caller, id).await?;
    shown(&app, row).await
}

pub async fn delete(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<StatusCode, ApiError> {
    app.delete_integration(caller, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The integration's IntegrationMapper entries (local id ↔ remote id per model).
pub async fn mappings(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> JsonResult {
    let row = app.visible_integration(caller, id).await?;
    let mappings = crate::store::mappings::list(&app.db, row.id).await.map_err(crate::services::ServiceError::from)?;
    Ok(Json(
        mappings
            .iter()
            .map(|m| serde_json::json!({ "model": m.model, "local_id": m.local_id, "remote_id": m.remote_id, "created_at": m.created_at }))
            .collect(),
    ))
}

/// Runs the scheduled sync of a payment integration now.
pub async fn sync_now(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> JsonResult {
    super::auth::require_admin(caller)?;
    let report = app.sync_integration(id).await?;
    Ok(Json(
        serde_json::json!({ "integration_id": id, "checked": report.checked, "changed": report.changed, "failed": report.failed }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksQuery {
    limit: Option<i64>,
    outcome: Option<String>,
}

/// Every webhook attempt of an integration, newest first.
pub async fn webhooks(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
    ApiQuery(query): ApiQuery<WebhooksQuery>,
) -> JsonResult {
    let attempts = app.webhook_attempts(caller, id, query.outcome.as_deref(), query.limit).await?;
    Ok(Json(attempts.iter().map(views::webhook_attempt).collect()))
}
