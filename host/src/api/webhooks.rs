//! Public webhook endpoints. The provider gets the request exactly as the gateway sent it:
//! method, full public URL (from `--public-url`, so signatures over URLs work behind a
//! proxy), lower-cased headers, raw body and arrival time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::domain::provider::WebhookRequest;
use crate::services::webhook_pipeline::WebhookVerdict;
use crate::services::webhooks::PaymentWebhookAnswer;
use crate::services::App;

use super::extract::{Id, RawBody};
use super::openapi::errors::{Errors, NotFound, PathId, Provider, Secrets, StorageFault, WebhookRules};
use super::views::WebhookReceived;
use super::ApiError;

pub fn webhook_request(app: &App, method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> WebhookRequest {
    let path = uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    WebhookRequest {
        method: method.as_str().to_string(),
        url: app.public(path),
        headers: headers
            .iter()
            .map(|(name, value)| (name.as_str().to_string(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
            .collect(),
        body: body.to_vec(),
        received_at: SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
    }
}

/// Public: the payment gateway's webhook. The provider verifies and reads it; the
/// transactions it names are updated. Duplicates answer 200 and change nothing.
#[utoipa::path(
    post,
    path = "/payment/webhook/{integration_id}",
    operation_id = "payment_webhook",
    tag = "webhooks",
    params(("integration_id" = i64, Path, example = 1, description = "The integration the gateway was configured with.")),
    request_body(content = serde_json::Value, description = "The gateway's event, passed to the provider byte for byte."),
    security(()),
    responses(
        (status = 200, description = "Verified and applied; or the answer a 1.1 provider chose for its gateway \
                                       (Adyen's `[accepted]`), with the provider's content type.", body = WebhookReceived),
        Errors<(PathId, NotFound, WebhookRules, Provider, Secrets, StorageFault)>,
    ),
)]
pub async fn payment(
    State(app): State<Arc<App>>,
    Id(integration_id): Id,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Response, ApiError> {
    let request = webhook_request(&app, &method, &uri, &headers, body);
    match app.payment_webhook(integration_id, request).await? {
        WebhookVerdict::Accepted(PaymentWebhookAnswer { response: Some(answer), .. }) => {
            super::messaging::provider_answer(integration_id, &answer.content_type, answer.body)
        }
        WebhookVerdict::Accepted(PaymentWebhookAnswer { matched, response: None }) => {
            Ok(Json(WebhookReceived { received: true, matched: Some(matched) }).into_response())
        }
        WebhookVerdict::Rejected => Err(ApiError::invalid_signature()),
    }
}
