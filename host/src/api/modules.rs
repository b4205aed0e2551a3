//! Modules and API keys.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use crate::services::{random_token, App, Caller, ServiceError};
use crate::store::api_keys;

use super::auth::{key_hash, require_admin};
use super::extract::parse_json;
use super::{views, ApiError};

pub async fn list(State(app): State<Arc<App>>, _caller: Caller) -> Json<serde_json::Value> {
    Json(app.registry.all().iter().map(|m| views::module(m)).collect())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewApiKey {
    company_id: i64,
    name: String,
}

/// Creates a company API key; the key is shown in this answer only (it is stored hashed).
pub async fn create_api_key(
    State(app): State<Arc<App>>,
    caller: Caller,
    body: Bytes,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(caller)?;
    let request: NewApiKey = parse_json(&body)?;
    if request.name.trim().is_empty() {
        return Err(ServiceError::invalid("invalid_name", "name: must not be empty").into());
    }
    let key = format!("ihk_{}", random_token(32));
    let id = api_keys::insert(app.db.pool(), request.company_id, &request.name, &key_hash(&key))
        .await
        .map_err(ServiceError::from)?;
    let body = serde_json::json!({ "id": id, "key": key, "company_id": request.company_id, "name": request.name });
    Ok((StatusCode::CREATED, Json(body)))
}
