//! `POST /api/admin/api_keys`: company API keys.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::services::{App, Caller};

use super::auth::require_admin;
use super::extract::{parse_json, JsonBody};
use super::openapi::errors::{AdminOnly, ApiKeyRules, Auth, Errors, JsonInput};
use super::views::ApiKeyCreated;
use super::ApiError;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    /// The company the key sees and touches.
    #[serde(deserialize_with = "crate::services::json_integer::required")]
    company_id: i64,
    /// What the key is for (not blank).
    #[schema(pattern = r"\S")]
    name: String,
}

/// Creates a company API key; the key is shown in this answer only (it is stored hashed).
#[utoipa::path(
    post,
    path = "/api/admin/api_keys",
    operation_id = "create_api_key",
    tag = "api keys",
    request_body = NewApiKey,
    security(("admin_key" = [])),
    responses(
        (status = 201, description = "The key, shown this once.", body = ApiKeyCreated),
        Errors<(Auth, AdminOnly, JsonInput, ApiKeyRules)>,
    ),
)]
pub async fn create(
    State(app): State<Arc<App>>,
    caller: Caller,
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<ApiKeyCreated>), ApiError> {
    require_admin(caller)?;
    let request: NewApiKey = parse_json(&body)?;
    let made = app.create_api_key(request.company_id, &request.name).await?;
    Ok((
        StatusCode::CREATED,
        Json(ApiKeyCreated { id: made.id, key: made.key, company_id: request.company_id, name: request.name }),
    ))
}
