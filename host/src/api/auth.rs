//! `Authorization: Bearer KEY`: the admin key may do everything; a company API key sees and
//! touches only its company. Keys are compared by SHA-256 hash.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::StatusCode;

use crate::services::{App, Caller};

use super::ApiError;

impl FromRequestParts<Arc<App>> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, app: &Arc<App>) -> Result<Self, Self::Rejection> {
        let header = parts.headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok());
        let Some(key) = header.and_then(|h| h.strip_prefix("Bearer ")).map(str::trim).filter(|k| !k.is_empty()) else {
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "missing_api_key",
                "Send `Authorization: Bearer <API key>`.",
            ));
        };
        app.authenticate(key)
            .await?
            .ok_or_else(|| ApiError::new(StatusCode::UNAUTHORIZED, "invalid_api_key", "The API key is not valid."))
    }
}

/// Refuses company keys.
pub fn require_admin(caller: Caller) -> Result<(), ApiError> {
    match caller {
        Caller::Admin => Ok(()),
        Caller::Company { .. } => {
            Err(ApiError::new(StatusCode::FORBIDDEN, "admin_only", "Only the admin key may do this."))
        }
    }
}
