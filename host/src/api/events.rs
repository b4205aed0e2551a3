//! Events for the ERP: the pull API, endpoints, and what delivery did.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::services::event_delivery::event_json;
use crate::services::{App, Caller, ServiceError};
use crate::store::events;

use super::auth::require_admin;
use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::ApiError;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullQuery {
    #[serde(default)]
    after: i64,
    #[serde(default)]
    limit: Option<i64>,
    company_id: Option<i64>,
}

/// Events after `after` (an event id), oldest first: for ERPs that cannot receive webhooks.
/// `next_after` is what to pass next time.
pub async fn pull(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = app.events_after(caller, query.company_id, query.after, query.limit.unwrap_or(100)).await?;
    let next_after = rows.last().map_or(query.after, |row| row.id);
    Ok(Json(json!({ "events": rows.iter().map(event_json).collect::<Vec<_>>(), "next_after": next_after })))
}

pub async fn add_endpoint(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(caller)?;
    let endpoint = app.add_event_endpoint(parse_json(&body)?).await?;
    let types: Option<Vec<String>> = endpoint.types.as_deref().and_then(|t| serde_json::from_str(t).ok());
    Ok((
        StatusCode::CREATED,
        Json(
            json!({ "id": endpoint.id, "url": endpoint.url, "company_id": endpoint.company_id, "types": types, "created_at": endpoint.created_at }),
        ),
    ))
}

/// An event with its deliveries and every attempt.
pub async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(caller)?;
    let event = app.event(id).await?;
    let deliveries = events::deliveries_of(app.db.pool(), id).await.map_err(ServiceError::from)?;
    let attempts = events::attempts_of(app.db.pool(), id).await.map_err(ServiceError::from)?;
    let mut body = event_json(&event);
    body["deliveries"] = deliveries
        .iter()
        .map(|d| json!({ "endpoint_id": d.endpoint_id, "state": d.state, "attempts": d.attempts, "next_attempt_at": d.next_attempt_at }))
        .collect();
    body["attempts"] = attempts
        .iter()
        .map(|a| {
            json!({ "endpoint_id": a.endpoint_id, "attempted_at": a.attempted_at, "status_code": a.status_code, "error": a.error, "succeeded": a.succeeded != 0 })
        })
        .collect();
    Ok(Json(body))
}

pub async fn redeliver(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(caller)?;
    let queued = app.redeliver_event(id).await?;
    Ok(Json(json!({ "event_id": id, "queued": queued })))
}
