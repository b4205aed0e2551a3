//! `POST /api/admin/modules`: installs or upgrades a module from a multipart upload.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;

use crate::services::module_admin::Installed;
use crate::services::module_grants::InstallFrom;
use crate::services::{App, Caller};

use super::auth::require_admin;
use super::body_limit::BodyLimit;
use super::extract::Upload;
use super::openapi::errors::{AdminOnly, Auth, Errors, UploadRules};
use super::openapi::ModuleUpload;
use super::views::{InstallAnswer, InstalledModule, Module};
use super::ApiError;

/// Installs or upgrades a module: multipart with a `manifest` (YAML) part and a `component`
/// (wasm) part. 201 when the version went live, 200 when this exact version was already
/// installed, 422 `module_refused` naming what is wrong (the live version keeps serving).
///
/// `grant_new_hosts=true`, as a form part or in the query, lets a version reach hosts its live
/// version does not (API.md §2); without it such an upgrade is refused.
#[utoipa::path(
    post,
    path = "/api/admin/modules",
    operation_id = "install_module",
    tag = "modules",
    params(("grant_new_hosts" = Option<bool>, Query, description = "Lets the version reach hosts its live version does not.")),
    request_body(content = ModuleUpload, content_type = "multipart/form-data"),
    security(("admin_key" = [])),
    responses(
        (status = 201, description = "The version went live.", body = InstalledModule),
        (status = 200, description = "This exact version was already recorded; nothing changed.", body = InstallAnswer),
        Errors<(Auth, AdminOnly, UploadRules)>,
    ),
)]
pub async fn install(
    State(app): State<Arc<App>>,
    caller: Caller,
    RawQuery(query): RawQuery,
    Upload(mut form): Upload,
) -> Result<(StatusCode, Json<InstallAnswer>), ApiError> {
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
            let installed = InstalledModule { module: Module::from(module.as_ref()), previous_version: previous };
            Ok((StatusCode::CREATED, Json(InstallAnswer::Activated(installed))))
        }
        Installed::Unchanged { version } => {
            let live = app.registry.all().into_iter().find(|m| m.manifest.version == version);
            let answer = match live {
                Some(module) => InstallAnswer::Live(Module::from(module.as_ref())),
                None => InstallAnswer::Recorded { version },
            };
            Ok((StatusCode::OK, Json(answer)))
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
