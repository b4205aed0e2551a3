//! `POST /api/online_payment/links`: the ERP creates a payment link for a document.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;

use crate::services::payment_links::display_amount;
use crate::services::{App, Caller};

use super::extract::{parse_json, JsonBody};
use super::idempotency::idempotent;

pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    headers: HeaderMap,
    JsonBody(body): JsonBody,
) -> Response {
    idempotent(&app, caller, &headers, "payment_link", &body, || async {
        let link = app.create_payment_link(caller, parse_json(&body)?).await?;
        let amount = display_amount(link.amount_minor, &link.currency);
        let decimal = amount.split_once(' ').map(|(_, decimal)| decimal.to_string());
        Ok((
            StatusCode::CREATED,
            json!({
                "id": link.id,
                "token": link.token,
                "url": app.payment_link_url(&link.token),
                "company_id": link.company_id,
                "document_model": link.document_model,
                "document_id": link.document_id,
                "amount": decimal,
                "amount_minor": link.amount_minor,
                "currency": link.currency,
                "description": link.description,
                "expires_at": link.expires_at,
                "created_at": link.created_at,
            }),
        ))
    })
    .await
}
