//! Modules, their versions, and API keys.

use std::collections::BTreeMap;

use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::capabilities::Capabilities;
use crate::domain::credential_pattern::CredentialPattern;
use crate::domain::manifest::{CredentialField, Endpoint, IntegrationCategory};
use crate::registry::LoadedModule;
use crate::services::module_admin::VersionView;

/// An installed module (the live version).
#[derive(Debug, Serialize, ToSchema)]
pub struct Module {
    pub identifier: String,
    pub name: String,
    pub version: String,
    /// Online Payment, Messaging or Shipping.
    pub integration_category: String,
    pub description: Option<String>,
    pub icon: Option<String>,
    pub image: Option<String>,
    /// The WIT world the component targets.
    pub world: String,
    pub integration_types: Vec<String>,
    /// The credential form the ERP shows.
    pub credentials: Vec<CredentialFieldView>,
    /// What a payment module can do (its manifest's `runtime.capabilities`, or the
    /// defaults); None for other categories.
    pub capabilities: Option<Capabilities>,
    /// SHA-256 of the component, hex.
    pub sha256: String,
}

/// One field of a module's credential form.
#[derive(Debug, Serialize, ToSchema)]
pub struct CredentialFieldView {
    pub name: String,
    pub description: String,
    pub hint: Option<String>,
    pub required: bool,
    pub secret: bool,
    /// The value's shape: one regular expression, or one per Test/Live mode.
    pub pattern: Option<CredentialPattern>,
}

impl From<&CredentialField> for CredentialFieldView {
    fn from(field: &CredentialField) -> Self {
        Self {
            name: field.name.clone(),
            description: field.description.clone(),
            hint: field.hint.clone(),
            required: field.required,
            secret: field.secret,
            pattern: field.pattern.clone(),
        }
    }
}

impl From<&LoadedModule> for Module {
    fn from(module: &LoadedModule) -> Self {
        let manifest = &module.manifest;
        Self {
            identifier: manifest.identifier.clone(),
            name: manifest.name.clone(),
            version: manifest.version.clone(),
            integration_category: manifest.integration_category.clone(),
            description: manifest.description.clone(),
            icon: manifest.icon.clone(),
            image: manifest.image.clone(),
            world: manifest.runtime.world.clone(),
            integration_types: manifest.runtime.integration_types.clone(),
            credentials: manifest.runtime.credentials.iter().map(CredentialFieldView::from).collect(),
            capabilities: (manifest.category() == IntegrationCategory::OnlinePayment)
                .then(|| manifest.capabilities().clone()),
            sha256: module.sha256.clone(),
        }
    }
}

/// A version that went live by this upload, and the one it replaced.
#[derive(Debug, Serialize, ToSchema)]
pub struct InstalledModule {
    #[serde(flatten)]
    pub module: Module,
    pub previous_version: Option<String>,
}

/// What an upload answers: the module that went live (201), the live module when this exact
/// version is already live (200), or only the version when it is recorded but not live (200).
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum InstallAnswer {
    Activated(InstalledModule),
    Live(Module),
    Recorded { version: String },
}

/// A recorded version of a module.
#[derive(Debug, Serialize, ToSchema)]
pub struct ModuleVersion {
    pub version: String,
    pub sha256: String,
    pub installed_at: String,
    /// Whether this version is the live one.
    pub active: bool,
    /// From the recorded manifest (absent when it cannot be read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub world: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_hosts: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoints: Option<BTreeMap<String, Endpoint>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret_credentials: Option<Vec<String>>,
}

impl From<&VersionView> for ModuleVersion {
    fn from(version: &VersionView) -> Self {
        let manifest = version.manifest.as_ref();
        Self {
            version: version.row.version.clone(),
            sha256: version.row.sha256.clone(),
            installed_at: version.row.installed_at.clone(),
            active: version.active,
            world: manifest.map(|m| m.runtime.world.clone()),
            allowed_hosts: manifest.map(|m| m.runtime.allowed_hosts.clone()),
            endpoints: manifest.map(|m| m.runtime.endpoints.clone()),
            secret_credentials: manifest
                .map(|m| m.runtime.credentials.iter().filter(|c| c.secret).map(|c| c.name.clone()).collect()),
        }
    }
}

/// A company API key, shown once.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyCreated {
    pub id: i64,
    /// The key itself: shown in this answer only (stored hashed).
    pub key: String,
    pub company_id: i64,
    pub name: String,
}
