//! Installing, upgrading, rolling back and uninstalling modules on a running host. Loading
//! (validation and compilation) runs off the async threads and, for installs, outside the
//! install lock; the switch is one atomic swap in
//! the registry, so a call in flight finishes on the version it started with and the next call
//! uses the new one. A module that fails validation leaves the live version serving.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};
use std::sync::Arc;

use crate::capabilities::{CallContext, CredentialSet};
use crate::domain::manifest::{Manifest, ModuleVersion};
use crate::domain::provider::IntegrationInfo;
use crate::registry::{
    load_module, load_parsed, read_module_dir, EndpointOverrides, LoadError, LoadedModule, MAX_COMPONENT_BYTES,
};
use crate::runtime::{CallLabel, ProviderPre, ProviderRuntime};
use crate::store::modules::{self, VersionRow};

use super::module_grants::InstallFrom;
use super::{App, ServiceError};

/// What an install did.
pub enum Installed {
    /// The version is now live; `previous` was live before.
    Activated { module: Arc<LoadedModule>, previous: Option<String> },
    /// This exact version was already recorded; nothing changed.
    Unchanged { version: String },
}

/// A recorded version and whether it is the live one.
pub struct VersionView {
    pub row: VersionRow,
    pub active: bool,
    /// What the version may reach and keeps secret (None if its manifest no longer parses).
    pub manifest: Option<Manifest>,
}

fn refused(error: LoadError) -> ServiceError {
    match error {
        LoadError::TooLarge { size } => ServiceError::TooLarge(format!(
            "component: {size} bytes is over the host's limit of {MAX_COMPONENT_BYTES} bytes"
        )),
        other => ServiceError::invalid("module_refused", other.to_string()),
    }
}

impl App {
    /// Validates, compiles and records a module version and makes it live. Refuses a version
    /// that is not newer than every recorded one (activate older ones explicitly), another
    /// build under a recorded version number, an upgrade that declassifies a secret or
    /// reaches new hosts without the operator's grant (`module_grants`), and, from a folder,
    /// a different identifier.
    /// Parsing and compiling run on a blocking thread before the install lock is taken, so a
    /// slow or hostile upload never holds up another install; the lock covers the version
    /// checks, the start check, the record and the swap.
    pub async fn install_module(
        &self,
        manifest_yaml: String,
        component: Vec<u8>,
        from: InstallFrom<'_>,
    ) -> Result<Installed, ServiceError> {
        let source = match from {
            InstallFrom::Folder { .. } => "folder",
            _ => "api",
        };
        let installed = self.install_checked(manifest_yaml, component, from).await;
        let outcome = match &installed {
            // The same version again (a folder touched, an upload repeated): nothing was installed.
            Ok(Installed::Unchanged { .. }) => "unchanged",
            Ok(_) => "installed",
            Err(_) => "refused",
        };
        self.meters().install(source, outcome);
        installed
    }

    async fn install_checked(
        &self,
        manifest_yaml: String,
        component: Vec<u8>,
        from: InstallFrom<'_>,
    ) -> Result<Installed, ServiceError> {
        let (manifest, manifest_yaml) = tokio::task::spawn_blocking(move || {
            let parsed = Manifest::parse(&manifest_yaml);
            parsed.map(|manifest| (manifest, manifest_yaml))
        })
        .await
        .map_err(|e| ServiceError::invalid("module_refused", format!("parsing panicked: {e}")))?
        .map_err(|e| refused(e.into()))?;
        if let InstallFrom::Folder { identifier: expected } = from {
            if manifest.identifier != expected {
                return Err(ServiceError::invalid(
                    "module_refused",
                    format!(
                        "identifier: the manifest names `{}`, but it was installed as `{expected}`",
                        manifest.identifier
                    ),
                ));
            }
        }
        let sha256 = hex::encode(Sha256::digest(&component));
        // Answered before compiling when the database already decides; checked again below,
        // under the lock, since another install may land meanwhile.
        if let Some(unchanged) = self.version_check(&manifest, &sha256).await? {
            return Ok(unchanged);
        }
        self.check_upgrade(&manifest, from).await?;
        let module = self.load_parsed_off_thread(manifest, component.clone()).await?;
        let _installing = self.install_lock.lock().await;
        if let Some(unchanged) = self.version_check(&module.manifest, &sha256).await? {
            return Ok(unchanged);
        }
        self.check_upgrade(&module.manifest, from).await?;
        self.start_once(&module).await?;
        let manifest = &module.manifest;
        // The version and its being live, together: a version recorded but not live would
        // make the same upload "unchanged" and never live.
        let mut tx = self.db.tx().await?;
        modules::record(&mut *tx, &manifest.identifier, &manifest.version, &manifest_yaml, &module.sha256, &component)
            .await?;
        modules::set_state(&mut tx, &manifest.identifier, &manifest.version, true).await?;
        tx.commit().await?;
        let previous = self.swap_in(module.clone());
        Ok(Installed::Activated { module, previous })
    }

    /// `Unchanged` when this exact version is recorded, an error when the version is taken by
    /// other bytes or is not newer than every recorded one, None when it may be installed.
    async fn version_check(&self, manifest: &Manifest, sha256: &str) -> Result<Option<Installed>, ServiceError> {
        let recorded = modules::versions(self.db.read(), &manifest.identifier).await?;
        if let Some(same) = recorded.iter().find(|row| row.version == manifest.version) {
            if same.sha256 == sha256 {
                return Ok(Some(Installed::Unchanged { version: same.version.clone() }));
            }
            return Err(ServiceError::conflict(
                "version_exists",
                format!(
                    "version: {} {} is already installed with other bytes; give this build a new version",
                    manifest.identifier, manifest.version
                ),
            ));
        }
        let newest = recorded.iter().filter_map(|row| ModuleVersion::parse(&row.version)).max();
        if newest.as_ref().is_some_and(|newest| manifest.parsed_version() <= *newest) {
            return Err(ServiceError::conflict(
                "version_not_newer",
                format!(
                    "version: {} is not newer than the installed versions of {}; activate an older version explicitly instead",
                    manifest.version, manifest.identifier
                ),
            ));
        }
        Ok(None)
    }

    /// A recorded version, loaded from the database (not made live).
    pub(super) async fn load_recorded(
        &self,
        identifier: &str,
        version: &str,
    ) -> Result<Arc<LoadedModule>, ServiceError> {
        let (yaml, component) = modules::load(self.db.read(), identifier, version)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("{identifier} has no version {version}.")))?;
        self.load_off_thread(yaml, component).await
    }

    /// Makes a recorded version live again (rollback or forward), from the database alone.
    pub async fn activate_module_version(
        &self,
        identifier: &str,
        version: &str,
    ) -> Result<Arc<LoadedModule>, ServiceError> {
        let _installing = self.install_lock.lock().await;
        let module = self.load_recorded(identifier, version).await?;
        self.make_live(module.clone()).await?;
        Ok(module)
    }

    /// Takes a module out of service. Its integrations show "Not Installed" and refuse
    /// payments; nothing is deleted, and activating a version brings it back.
    pub async fn uninstall_module(&self, identifier: &str) -> Result<(), ServiceError> {
        let _installing = self.install_lock.lock().await;
        let state = modules::state(self.db.read(), identifier).await?.filter(|state| state.installed != 0);
        let Some(state) = state else {
            return Err(ServiceError::NotFound(format!("Module {identifier} is not installed.")));
        };
        let mut tx = self.db.tx().await?;
        modules::set_state(&mut tx, identifier, &state.active_version, false).await?;
        tx.commit().await?;
        self.registry.remove(identifier);
        tracing::info!(module = identifier, "module uninstalled");
        Ok(())
    }

    pub async fn module_versions(&self, identifier: &str) -> Result<Vec<VersionView>, ServiceError> {
        let rows = modules::versions(self.db.read(), identifier).await?;
        if rows.is_empty() {
            return Err(ServiceError::NotFound(format!("Module {identifier} has no recorded versions.")));
        }
        let live = self.registry.get(identifier).map(|module| module.manifest.version.clone());
        let mut manifests: HashMap<String, String> =
            modules::manifests(self.db.read(), identifier).await?.into_iter().collect();
        Ok(rows
            .into_iter()
            .map(|row| {
                let manifest = manifests.remove(&row.version).and_then(|yaml| Manifest::parse(&yaml).ok());
                VersionView { active: Some(&row.version) == live.as_ref(), manifest, row }
            })
            .collect())
    }

    /// At start: brings back the live version of every installed module from the database.
    pub async fn restore_modules(&self) -> Result<(), ServiceError> {
        for state in modules::states(self.db.read()).await? {
            if state.installed == 0 {
                continue;
            }
            match self.activate_module_version(&state.identifier, &state.active_version).await {
                Ok(_) => {}
                Err(error) => {
                    tracing::error!(module = %state.identifier, version = %state.active_version, %error, "module not restored")
                }
            }
        }
        Ok(())
    }

    /// The modules the database records as live (`identifier@version`) that this host does
    /// not serve at that version: one that failed to load here, or (several hosts) one another
    /// host installed that this one has not loaded yet. For `/readyz`.
    pub async fn modules_not_loaded(&self) -> Result<Vec<String>, ServiceError> {
        let mut missing = Vec::new();
        for state in modules::states(self.db.read()).await? {
            let serving = self.registry.get(&state.identifier).map(|m| m.manifest.version.clone());
            if state.installed != 0 && serving.as_deref() != Some(state.active_version.as_str()) {
                missing.push(format!("{}@{}", state.identifier, state.active_version));
            }
        }
        Ok(missing)
    }

    /// A module folder appeared or changed: install what it holds if it is a new version.
    /// The folder must be named after the module's identifier. Failures are logged; the live
    /// version keeps serving.
    pub async fn sync_module_folder(&self, folder: &Path) {
        let name = folder.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
        let read = tokio::task::spawn_blocking({
            let folder = folder.to_path_buf();
            move || read_module_dir(&folder)
        })
        .await;
        let (yaml, bytes) = match read {
            Ok(Ok(contents)) => contents,
            Ok(Err(error)) => return tracing::error!(folder = %folder.display(), %error, "module folder not loaded"),
            Err(error) => return tracing::error!(folder = %folder.display(), %error, "module folder not loaded"),
        };
        match self.install_module(yaml, bytes, InstallFrom::Folder { identifier: &name }).await {
            Ok(Installed::Activated { module, previous }) => tracing::info!(
                folder = %folder.display(), module = %module.manifest.identifier, version = %module.manifest.version,
                previous = previous.as_deref().unwrap_or("none"), "module folder loaded"
            ),
            Ok(Installed::Unchanged { .. }) => {}
            Err(error) => {
                tracing::error!(folder = %folder.display(), %error, "module folder refused; the live version keeps serving")
            }
        }
    }

    async fn load_off_thread(&self, yaml: String, component: Vec<u8>) -> Result<Arc<LoadedModule>, ServiceError> {
        self.off_thread(move |runtime, overrides| load_module(runtime, &yaml, &component, overrides)).await
    }

    async fn load_parsed_off_thread(
        &self,
        manifest: Manifest,
        component: Vec<u8>,
    ) -> Result<Arc<LoadedModule>, ServiceError> {
        self.off_thread(move |runtime, overrides| load_parsed(runtime, manifest, &component, overrides)).await
    }

    /// Runs a load (CPU-heavy: compilation) on a blocking thread.
    async fn off_thread(
        &self,
        load: impl FnOnce(&ProviderRuntime, &EndpointOverrides) -> Result<LoadedModule, LoadError> + Send + 'static,
    ) -> Result<Arc<LoadedModule>, ServiceError> {
        let (runtime, overrides) = (self.runtime.clone(), self.overrides.clone());
        let loaded = tokio::task::spawn_blocking(move || load(&runtime, &overrides))
            .await
            .map_err(|e| ServiceError::invalid("module_refused", format!("loading panicked: {e}")))?;
        Ok(Arc::new(loaded.map_err(refused)?))
    }

    /// Instantiates a new module once, serving no integration, so a component that traps as it
    /// starts is refused before it goes live.
    async fn start_once(&self, module: &LoadedModule) -> Result<(), ServiceError> {
        let info = IntegrationInfo { integration_id: 0, company_id: 0, test_mode: true, webhook_url: String::new() };
        let call = CallContext::new(
            self.services.clone(),
            module.grants.clone(),
            info,
            CredentialSet::new(&module.manifest, HashMap::new()),
        );
        let label = CallLabel {
            module: module.manifest.identifier.clone(),
            version: module.manifest.version.clone(),
            company_id: 0,
            integration_id: 0,
        };
        let started = match module.pre() {
            ProviderPre::Payment(pre) => {
                self.runtime.payment_instance(pre, label, module.limits, call).await.and_then(|mut i| i.check_types())
            }
            ProviderPre::Messaging(pre) => {
                self.runtime.messaging_instance(pre, label, module.limits, call).await.and_then(|mut i| i.check_types())
            }
        };
        started.map_err(|failure| {
            ServiceError::invalid(
                "module_refused",
                format!("component: {} failed to start: {}", failure.module, failure.detail),
            )
        })
    }

    /// Records `module` as live and swaps it in; returns the version it replaced.
    async fn make_live(&self, module: Arc<LoadedModule>) -> Result<Option<String>, ServiceError> {
        let mut tx = self.db.tx().await?;
        modules::set_state(&mut tx, &module.manifest.identifier, &module.manifest.version, true).await?;
        tx.commit().await?;
        Ok(self.swap_in(module))
    }

    /// Makes `module` the live version in the registry (its state is stored already).
    fn swap_in(&self, module: Arc<LoadedModule>) -> Option<String> {
        let identifier = module.manifest.identifier.clone();
        let version = module.manifest.version.clone();
        let previous = self.registry.get(&identifier).map(|m| m.manifest.version.clone());
        self.registry.activate(module);
        tracing::info!(module = %identifier, %version, previous = previous.as_deref().unwrap_or("none"), "module live");
        previous
    }
}
