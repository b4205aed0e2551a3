//! Events for the ERP: the pull API, endpoints, and what delivery did.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::services::event_delivery::NewEndpoint;
use crate::services::{App, Caller};

use super::auth::require_admin;
use super::extract::{parse_json, ApiQuery, Id, JsonBody};
use super::openapi::errors::{
    AdminOnly, Auth, CompanyScope, EndpointRules, Errors, JsonInput, NotFound, PathId, QueryInput, Secrets,
};
use super::views::{Delivery, DeliveryAttempt, Event, EventDetail, EventEndpoint, EventPage, Redelivered};
use super::ApiError;

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// Events after this event id (default 0: from the first).
    #[serde(default, deserialize_with = "crate::services::json_integer::query")]
    after: i64,
    /// At most this many, 1 to 1,000 (default 100; others are clamped).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    limit: Option<i64>,
    /// Only this company's events (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
}

/// Events after `after` (an event id), oldest first: for ERPs that cannot receive webhooks.
/// `next_after` is what to pass next time.
#[utoipa::path(
    get,
    path = "/api/events",
    operation_id = "pull_events",
    tag = "events",
    params(PullQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "A page of events.", body = EventPage), Errors<(Auth, QueryInput, CompanyScope)>),
)]
pub async fn pull(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<PullQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let rows = app.events_after(caller, query.company_id, query.after, query.limit.unwrap_or(100)).await?;
    let next_after = rows.last().map_or(query.after, |row| row.id);
    Ok(Json(EventPage { events: rows.iter().map(Event::from).collect(), next_after }))
}

/// Adds an endpoint that gets every event created from now on (of its company and types).
#[utoipa::path(
    post,
    path = "/api/admin/event_endpoints",
    operation_id = "add_event_endpoint",
    tag = "events",
    request_body = NewEndpoint,
    security(("admin_key" = [])),
    responses(
        (status = 201, description = "The endpoint (without its secret).", body = EventEndpoint),
        Errors<(Auth, AdminOnly, JsonInput, EndpointRules, Secrets)>,
    ),
)]
pub async fn add_endpoint(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<EventEndpoint>), ApiError> {
    require_admin(caller)?;
    let endpoint = app.add_event_endpoint(parse_json(&body)?).await?;
    Ok((StatusCode::CREATED, Json(EventEndpoint::from(&endpoint))))
}

/// An event with its deliveries and every attempt.
#[utoipa::path(
    get,
    path = "/api/admin/events/{id}",
    operation_id = "show_event",
    tag = "events",
    params(("id" = i64, Path, example = 1, description = "The event's id.")),
    security(("admin_key" = [])),
    responses((status = 200, description = "The event.", body = EventDetail), Errors<(Auth, AdminOnly, PathId, NotFound)>),
)]
pub async fn show(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<EventDetail>, ApiError> {
    require_admin(caller)?;
    let (event, deliveries, attempts) = app.event_detail(id).await?;
    Ok(Json(EventDetail {
        event: Event::from(&event),
        deliveries: deliveries.iter().map(Delivery::from).collect(),
        attempts: attempts.iter().map(DeliveryAttempt::from).collect(),
    }))
}

/// Queues a failed event's deliveries again.
#[utoipa::path(
    post,
    path = "/api/admin/events/{id}/redeliver",
    operation_id = "redeliver_event",
    tag = "events",
    params(("id" = i64, Path, example = 1, description = "The event's id.")),
    security(("admin_key" = [])),
    responses((status = 200, description = "What was queued.", body = Redelivered), Errors<(Auth, AdminOnly, PathId, NotFound)>),
)]
pub async fn redeliver(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<Redelivered>, ApiError> {
    require_admin(caller)?;
    let queued = app.redeliver_event(id).await?;
    Ok(Json(Redelivered { event_id: id, queued }))
}
