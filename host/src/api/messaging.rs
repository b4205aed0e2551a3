//! `/api/messaging/…` and the public messaging webhook.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

use crate::services::webhook_pipeline::WebhookVerdict;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody, RawBody};
use super::idempotency::idempotent;
use super::webhooks::webhook_request;
use super::{views, ApiError};

pub async fn send(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
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
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let request = webhook_request(&app, &method, &uri, &headers, body);
    match app.messaging_webhook(integration_id, request).await? {
        WebhookVerdict::Accepted(Some(answer)) => provider_answer(integration_id, &answer.content_type, answer.body),
        WebhookVerdict::Accepted(None) => Ok(Json(serde_json::json!({ "received": true })).into_response()),
        WebhookVerdict::Rejected => Err(ApiError::invalid_signature()),
    }
}

/// The provider's answer to the gateway as the HTTP answer. A content type that is not a valid
/// header value is the provider's failure: 502 `provider_failed`, and nothing of it is sent.
/// (The public-origin headers, `nosniff` and the CSP, are added by the router.)
fn provider_answer(integration_id: i64, content_type: &str, body: String) -> Result<Response, ApiError> {
    let Ok(content_type) = HeaderValue::from_str(content_type) else {
        tracing::warn!(
            integration_id,
            "the provider's webhook answer has a content type that is not a valid header value"
        );
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            "provider_failed",
            "The provider's answer to the gateway has a content type that is not a valid HTTP header value, so it \
             was not sent. What the webhook reported was processed; the gateway may deliver it again.",
        ));
    };
    let mut response = body.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    Ok(response)
}
