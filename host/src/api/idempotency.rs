//! `Idempotency-Key` for initiate and refund (and, later, send): a retry with the same key
//! and body gets the first response; the same key with another body is 409. Answers of 5xx
//! are not kept, so a request that failed on the host's or gateway's side can be retried (a
//! refund in doubt is then repeated with the same refund id). A claim left without an answer
//! (its host stopped mid-way) is taken over after `App::idempotency_takeover`.

use std::future::Future;

use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::services::idempotency::Claim;
use crate::services::{App, Caller};

use super::ApiError;

const MAX_KEY_LENGTH: usize = 255;

pub async fn idempotent<F, Fut, T>(
    app: &App,
    caller: Caller,
    headers: &HeaderMap,
    route: &str,
    body: &[u8],
    run: F,
) -> Response
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<(StatusCode, T), ApiError>>,
    T: Serialize,
{
    let run = || async { run().await.and_then(|(status, answer)| Ok((status, answer_json(&answer)?))) };
    let Some(key) = headers.get("idempotency-key") else {
        return respond(run().await);
    };
    let key = match key.to_str() {
        Ok(key) if (1..=MAX_KEY_LENGTH).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_graphic()) => {
            key.to_string()
        }
        _ => {
            return ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_idempotency_key",
                format!("Idempotency-Key must be 1 to {MAX_KEY_LENGTH} visible ASCII characters."),
            )
            .into_response()
        }
    };
    let scope = caller.scope();
    let mut hasher = Sha256::new();
    hasher.update(route.as_bytes());
    hasher.update(b"\n");
    hasher.update(body);
    let hash = hex::encode(hasher.finalize());

    let claim = match app.claim_idempotency_key(&scope, &key, &hash).await {
        Ok(claim) => claim,
        Err(error) => return ApiError::from(error).into_response(),
    };
    match claim {
        Claim::Replay { status, body } => {
            let mut response =
                (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), [("content-type", "application/json")], body)
                    .into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            response
        }
        Claim::Mismatch => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_reused",
            "This Idempotency-Key was already used with a different request.",
        )
        .into_response(),
        Claim::InProgress => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_progress",
            "A request with this Idempotency-Key is still being processed; retry shortly.",
        )
        .into_response(),
        Claim::Owned => {
            let outcome = run().await;
            let (status, body) = match &outcome {
                Ok((status, body)) => (*status, body.clone()),
                Err(error) => (error.status, error.body()),
            };
            // A request refused because the key already names another one (a refund in doubt
            // of another amount) is no answer of the key's: the key stays free for its own.
            let about_the_key = matches!(&outcome, Err(error) if error.code == "idempotency_key_reused");
            let body = body.to_string();
            let answer = (!status.is_server_error() && !about_the_key).then_some((status.as_u16(), body.as_str()));
            let kept = app.settle_idempotency_key(&scope, &key, answer).await;
            if let Err(error) = kept {
                tracing::error!(%error, "could not record an idempotent response");
            }
            respond(outcome)
        }
    }
}

/// The answer as JSON (a view that cannot be one is the host's fault: 500, logged).
fn answer_json(answer: &impl Serialize) -> Result<serde_json::Value, ApiError> {
    serde_json::to_value(answer).map_err(|error| {
        tracing::error!(%error, "an answer could not be written as JSON");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The host could not complete the request; it has been logged.",
        )
    })
}

fn respond(outcome: Result<(StatusCode, serde_json::Value), ApiError>) -> Response {
    match outcome {
        Ok((status, body)) => (status, axum::Json(body)).into_response(),
        Err(error) => error.into_response(),
    }
}
