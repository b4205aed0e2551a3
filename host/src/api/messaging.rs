//! `/api/messaging/…` and the public messaging webhook.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::services::messaging::MessagingWebhookVerdict;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id};
use super::idempotency::idempotent;
use super::webhooks::webhook_request;
use super::{views, ApiError};

pub async fn send(State(app): State<Arc<App>>, caller: Caller, headers: HeaderMap, body: Bytes) -> Response {
    idempotent(&app, caller, &headers, "send", &body, || async {
        let row = app.send_message(caller, parse_json(&body)?).await?;
        let (row, history) = app.visible_message(caller, row.id).await?;
        Ok((StatusCode::CREATED, views::message(&row, &history)))
    })
    .await
}

pub async fn show(
    State(app): State<Arc<App>>,
    caller: Caller,
    Id(id): Id,
) -> Result<Json<serde_json::Value>, ApiError> {
    let (row, history) = app.visible_message(caller, id).await?;
    Ok(Json(views::message(&row, &history)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    company_id: Option<i64>,
    direction: Option<String>,
}

pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let rows = app.list_messages(caller, query.company_id, query.direction.as_deref()).await?;
    Ok(Json(rows.iter().map(|row| views::message(row, &[])).collect()))
}

/// Public: the gateway's delivery callbacks and inbound messages. The answer is what the
/// provider says the gateway expects (Twilio: empty TwiML), else `{"received": true}`.
pub async fn webhook(
    State(app): State<Arc<App>>,
    Id(integration_id): Id,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request = webhook_request(&app, &method, &uri, &headers, body);
    match app.messaging_webhook(integration_id, request).await? {
        MessagingWebhookVerdict::Accepted { response: Some(answer) } => {
            Ok(([(header::CONTENT_TYPE, answer.content_type)], answer.body).into_response())
        }
        MessagingWebhookVerdict::Accepted { response: None } => {
            Ok(Json(serde_json::json!({ "received": true })).into_response())
        }
        MessagingWebhookVerdict::Rejected => Err(ApiError::invalid_signature()),
    }
}
