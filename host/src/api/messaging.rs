//! `/api/messaging/…` and the public messaging webhook.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::services::messaging::SendRequest;

use crate::services::webhook_pipeline::WebhookVerdict;
use crate::services::{App, Caller};

use super::extract::{parse_json, ApiQuery, Id, JsonBody, RawBody};
use super::idempotency::idempotent;
use super::openapi::errors::{
    Auth, CompanyScope, DirectionFilter, Errors, Gateway, Idempotency, JsonInput, NotFound, PathId, Provider,
    QueryInput, Secrets, SendRules, StorageFault, WebhookRules,
};
use super::views::{Message, WebhookReceived};
use super::webhooks::webhook_request;
use super::ApiError;

/// Sends a message (stored as Queued before the provider is called).
#[utoipa::path(
    post,
    path = "/api/messaging/send",
    operation_id = "send_message",
    tag = "messaging",
    request_body = SendRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = "A retry with the same key and body gets the first answer.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 201, description = "The message.", body = Message),
        Errors<(Auth, JsonInput, Idempotency, CompanyScope, NotFound, SendRules, Provider, Gateway, Secrets)>,
    ),
)]
pub async fn send(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "send", &body, || async {
        let row = app.send_message(caller, parse_json(&body)?).await?;
        let (row, history) = app.visible_message(caller, row.id).await?;
        Ok((StatusCode::CREATED, Message::new(&row, &history)))
    })
    .await
}

/// A message with its status history.
#[utoipa::path(
    get,
    path = "/api/messaging/messages/{id}",
    operation_id = "show_message",
    tag = "messaging",
    params(("id" = i64, Path, example = 1, description = "The message's id.")),
    security(("admin_key" = []), ("company_key" = [])),
    responses((status = 200, description = "The message.", body = Message), Errors<(Auth, PathId, NotFound)>),
)]
pub async fn show(State(app): State<Arc<App>>, caller: Caller, Id(id): Id) -> Result<Json<Message>, ApiError> {
    let (row, history) = app.visible_message(caller, id).await?;
    Ok(Json(Message::new(&row, &history)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this company's (a company key sees only its own).
    #[serde(default, deserialize_with = "crate::services::json_integer::query_optional")]
    company_id: Option<i64>,
    /// inbound or outbound.
    #[param(pattern = "^(inbound|outbound)$")]
    direction: Option<String>,
}

/// Messages, newest first (at most 500; `history` is empty here).
#[utoipa::path(
    get,
    path = "/api/messaging/messages",
    operation_id = "list_messages",
    tag = "messaging",
    params(ListQuery),
    security(("admin_key" = []), ("company_key" = [])),
    responses(
        (status = 200, description = "The messages.", body = Vec<Message>),
        Errors<(Auth, QueryInput, CompanyScope, DirectionFilter)>,
    ),
)]
pub async fn list(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> Result<Json<Vec<Message>>, ApiError> {
    let rows = app.list_messages(caller, query.company_id, query.direction.as_deref()).await?;
    Ok(Json(rows.iter().map(|row| Message::new(row, &[])).collect()))
}

/// Public: the gateway's delivery callbacks and inbound messages. The answer is what the
/// provider says the gateway expects (Twilio: empty TwiML), else `{"received": true}`.
#[utoipa::path(
    post,
    path = "/messaging/webhook/{integration_id}",
    operation_id = "messaging_webhook",
    tag = "webhooks",
    params(("integration_id" = i64, Path, example = 1, description = "The messaging integration the gateway was configured with.")),
    request_body(
        description = "The gateway's callback, passed to the provider byte for byte.",
        content(
            (serde_json::Value = "application/json"),
            (BTreeMap<String, String> = "application/x-www-form-urlencoded"),
        ),
    ),
    security(()),
    responses(
        (
            status = 200,
            description = "Verified and applied: `{\"received\": true}`, or the answer the provider gives its gateway \
                           (Twilio: an empty TwiML `<Response/>`).",
            content((WebhookReceived = "application/json"), (String = "text/xml"), (String = "*/*")),
        ),
        Errors<(PathId, NotFound, WebhookRules, Provider, Secrets, StorageFault)>,
    ),
)]
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
        WebhookVerdict::Accepted(None) => Ok(Json(WebhookReceived { received: true, matched: None }).into_response()),
        WebhookVerdict::Rejected => Err(ApiError::invalid_signature()),
    }
}

/// The provider's answer to the gateway as the HTTP answer. A content type that is not a valid
/// header value is the provider's failure: 502 `provider_failed`, and nothing of it is sent.
/// (The public-origin headers, `nosniff` and the CSP, are added by the router.)
pub(super) fn provider_answer(integration_id: i64, content_type: &str, body: String) -> Result<Response, ApiError> {
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
