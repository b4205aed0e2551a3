//! Modules and API keys.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use crate::services::module_admin::Installed;
use crate::services::module_grants::InstallFrom;
use crate::services::{random_token, App, Caller, ServiceError};
use crate::store::api_keys;

use super::auth::{key_hash, require_admin};
use super::body_limit::BodyLimit;
use super::extract::{parse_json, ApiPath, JsonBody, Upload};
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
    JsonBody(body): JsonBody,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(caller)?;
    let request: NewApiKey = parse_json(&body)?;
    if request.name.trim().is_empty() {
        return Err(ServiceError::invalid("invalid_name", "name: must not be empty").into());
    }
    let key = format!("ihk_{}", random_token(32));
    let id = api_keys::insert(app.db.writer(), request.company_id, &request.name, &key_hash(&key))
        .await
        .map_err(ServiceError::from)?;
    let body = serde_json::json!({ "id": id, "key": key, "company_id": request.company_id, "name": request.name });
    Ok((StatusCode::CREATED, Json(body)))
}

/// Installs or upgrades a module: multipart with a `manifest` (YAML) part and a `component`
/// (wasm) part. 201 when the version went live, 200 when this exact version was already
/// installed, 422 `module_refused` naming what is wrong (the live version keeps serving).
///
/// `grant_new_hosts=true`, as a form part or in the query, lets a version reach hosts its live
/// version does not (API.md §2); without it such an upgrade is refused.
pub async fn install(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    Upload(mut form): Upload,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    require_admin(caller)?;
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_upload", message);
    let mut grant_new_hosts = false;
    for (name, value) in url::form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes()) {
        match name.as_ref() {
            "grant_new_hosts" => grant_new_hosts = grant_flag(&value)?,
            other => return Err(bad(format!("unknown query parameter `{other}`; this route takes grant_new_hosts"))),
        }
    }
    let (mut manifest, mut component) = (None, None);
    while let Some(field) = form.next_field().await.map_err(|e| upload_error(e.status(), e.body_text()))? {
        match field.name() {
            Some("grant_new_hosts") => {
                grant_new_hosts = grant_flag(&field.text().await.map_err(|e| upload_error(e.status(), e.body_text()))?)?
            }
            Some("manifest") => {
                manifest = Some(field.text().await.map_err(|e| upload_error(e.status(), e.body_text()))?)
            }
            Some("component") => {
                component = Some(field.bytes().await.map_err(|e| upload_error(e.status(), e.body_text()))?.to_vec())
            }
            other => {
                return Err(bad(format!(
                    "unexpected part `{}`; send `manifest`, `component` and optionally `grant_new_hosts`",
                    other.unwrap_or("")
                )))
            }
        }
    }
    let (Some(manifest), Some(component)) = (manifest, component) else {
        return Err(bad("send both a `manifest` part (YAML) and a `component` part (wasm)".into()));
    };
    match app.install_module(manifest, component, InstallFrom::Admin { grant_new_hosts }).await? {
        Installed::Activated { module, previous } => {
            let mut body = views::module(&module);
            body["previous_version"] = json!(previous);
            Ok((StatusCode::CREATED, Json(body)))
        }
        Installed::Unchanged { version } => {
            let live = app.registry.all().into_iter().find(|m| m.manifest.version == version);
            let body = live.map(|m| views::module(&m)).unwrap_or_else(|| json!({ "version": version }));
            Ok((StatusCode::OK, Json(body)))
        }
    }
}

fn grant_flag(value: &str) -> Result<bool, ApiError> {
    match value.trim() {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            format!("grant_new_hosts: `{}` is not true or false", other.chars().take(32).collect::<String>()),
        )),
    }
}

/// A multipart body that cannot be read: over the upload limit (413), or not well-formed
/// `multipart/form-data` (400, with the parser's reason).
fn upload_error(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        BodyLimit::UPLOAD.exceeded()
    } else {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_upload",
            format!("The upload is not valid multipart/form-data: {text}."),
        )
    }
}

pub async fn versions(
    State(app): State<Arc<App>>,
    _caller: Caller,
    ApiPath(identifier): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let versions = app.module_versions(&identifier).await?;
    Ok(Json(
        versions
            .iter()
            .map(|v| {
                let mut view = json!({ "version": v.row.version, "sha256": v.row.sha256, "installed_at": v.row.installed_at, "active": v.active });
                if let Some(manifest) = &v.manifest {
                    view["world"] = json!(manifest.runtime.world);
                    view["allowed_hosts"] = json!(manifest.runtime.allowed_hosts);
                    view["endpoints"] = json!(manifest.runtime.endpoints);
                    let secret = manifest.runtime.credentials.iter().filter(|c| c.secret).map(|c| &c.name);
                    view["secret_credentials"] = json!(secret.collect::<Vec<_>>());
                }
                view
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Activate {
    version: String,
}

pub async fn activate(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(identifier): ApiPath<String>,
    JsonBody(body): JsonBody,
) -> Result<Json<serde_json::Value>, ApiError> {
    require_admin(caller)?;
    let request: Activate = parse_json(&body)?;
    let module = app.activate_module_version(&identifier, &request.version).await?;
    Ok(Json(views::module(&module)))
}

pub async fn uninstall(
    State(app): State<Arc<App>>,
    caller: Caller,
    ApiPath(identifier): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    require_admin(caller)?;
    app.uninstall_module(&identifier).await?;
    Ok(StatusCode::NO_CONTENT)
}
