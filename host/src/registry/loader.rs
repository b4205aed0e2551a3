//! Turning a manifest and component bytes into a live module: validate the manifest,
//! compile, check the component against its world, link, and resolve the module's grants
//! (allowlist and endpoints, with the operator's overrides).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha2::{Digest, Sha256};
use url::Url;

use crate::capabilities::{ModuleEndpoints, ModuleGrants};
use crate::domain::allowed_hosts::AllowedHosts;
use crate::domain::manifest::{IntegrationCategory, Manifest, ManifestError};
use crate::domain::manifest_ceilings::MAX_MANIFEST_BYTES;
use crate::runtime::{check_component, CallLimits, ComponentProblem, ProviderPre, ProviderRuntime};

/// Largest component the host accepts.
pub const MAX_COMPONENT_BYTES: usize = 32 << 20;

/// A module ready to serve calls.
pub struct LoadedModule {
    pub manifest: Manifest,
    pub sha256: String,
    pub grants: Arc<ModuleGrants>,
    pub limits: CallLimits,
    pub(crate) pre: ProviderPre,
}

impl LoadedModule {
    /// The linked component, for opening sandboxes directly (benchmarks, tools).
    pub fn pre(&self) -> &ProviderPre {
        &self.pre
    }
}

/// Operator overrides of module endpoints: module → endpoint name → URL.
#[derive(Debug, Clone, Default)]
pub struct EndpointOverrides(pub BTreeMap<String, BTreeMap<String, Url>>);

impl EndpointOverrides {
    /// Parses `MODULE.NAME=URL` flags.
    pub fn parse(flags: &[String]) -> Result<Self, String> {
        let mut overrides = BTreeMap::<String, BTreeMap<String, Url>>::new();
        for flag in flags {
            let (key, url) =
                flag.split_once('=').ok_or_else(|| format!("--endpoint `{flag}`: expected MODULE.NAME=URL"))?;
            let (module, name) =
                key.split_once('.').ok_or_else(|| format!("--endpoint `{flag}`: expected MODULE.NAME=URL"))?;
            let url = Url::parse(url).map_err(|e| format!("--endpoint `{flag}`: `{url}` is not a URL ({e})"))?;
            if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
                return Err(format!("--endpoint `{flag}`: the URL must be http(s) with a host"));
            }
            overrides.entry(module.to_string()).or_default().insert(name.to_string(), url);
        }
        Ok(Self(overrides))
    }

    fn for_module(&self, identifier: &str) -> BTreeMap<String, Url> {
        self.0.get(identifier).cloned().unwrap_or_default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("component: {size} bytes is over the host's limit of {MAX_COMPONENT_BYTES} bytes")]
    TooLarge { size: usize },
    #[error("component: not a valid WebAssembly component: {0}")]
    Compile(String),
    #[error("component: {}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Component(Vec<ComponentProblem>),
    #[error("component: cannot be linked against the host: {0}")]
    Link(String),
}

/// Validates, compiles and links a module. CPU-heavy: run it off the request path.
pub fn load_module(
    runtime: &ProviderRuntime,
    manifest_yaml: &str,
    component: &[u8],
    overrides: &EndpointOverrides,
) -> Result<LoadedModule, LoadError> {
    load_parsed(runtime, Manifest::parse(manifest_yaml)?, component, overrides)
}

/// [`load_module`] for a manifest already parsed.
pub fn load_parsed(
    runtime: &ProviderRuntime,
    manifest: Manifest,
    component: &[u8],
    overrides: &EndpointOverrides,
) -> Result<LoadedModule, LoadError> {
    if component.len() > MAX_COMPONENT_BYTES {
        return Err(LoadError::TooLarge { size: component.len() });
    }
    let sha256 = hex::encode(Sha256::digest(component));
    let compiled = runtime.compile(component, &sha256).map_err(|e| LoadError::Compile(format!("{e:#}")))?;
    check_component(runtime.engine(), &compiled, &manifest).map_err(LoadError::Component)?;
    let link_error = |e: wasmtime::Error| LoadError::Link(format!("{e:#}"));
    let pre = match manifest.category() {
        IntegrationCategory::OnlinePayment => {
            ProviderPre::Payment(runtime.prepare_payment(&compiled, manifest.contract_version()).map_err(link_error)?)
        }
        IntegrationCategory::Messaging => ProviderPre::Messaging(
            runtime.prepare_messaging(&compiled, manifest.contract_version()).map_err(link_error)?,
        ),
        IntegrationCategory::Shipping => {
            return Err(LoadError::Component(vec![ComponentProblem(
                "this host cannot run Shipping providers yet".into(),
            )]))
        }
    };

    let module_overrides = overrides.for_module(&manifest.identifier);
    let mut allowed_hosts = AllowedHosts::from_manifest(&manifest.runtime.allowed_hosts);
    for url in module_overrides.values() {
        allowed_hosts.allow_origin(url);
    }
    let endpoints = ModuleEndpoints::new(
        &manifest,
        module_overrides.iter().map(|(name, url)| (name.clone(), url.to_string())).collect(),
    );
    let grants = Arc::new(ModuleGrants {
        identifier: manifest.identifier.clone(),
        version: manifest.version.clone(),
        allowed_hosts,
        endpoints,
    });
    let limits = runtime.call_limits(manifest.runtime.limits.memory_mb, manifest.runtime.limits.call_timeout_ms);
    Ok(LoadedModule { sha256, manifest, grants, limits, pre })
}

/// A module folder's manifest text and component bytes.
pub fn read_module_dir(dir: &Path) -> Result<(String, Vec<u8>), LoadError> {
    let io = |path: PathBuf| move |source| LoadError::Io { path, source };
    let manifest_path = dir.join("manifest.yaml");
    let yaml = read_bounded(&manifest_path, MAX_MANIFEST_BYTES).map_err(io(manifest_path.clone()))?;
    let manifest = Manifest::parse(&yaml)?;
    let component_path = dir.join(&manifest.runtime.component);
    let bytes = std::fs::read(&component_path).map_err(io(component_path.clone()))?;
    Ok((yaml, bytes))
}

/// A text file, read up to one byte past `limit` so an oversized one is refused by the
/// manifest's size check without being read whole.
fn read_bounded(path: &Path, limit: usize) -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    if bytes.len() > limit {
        return Ok(String::from_utf8_lossy(&bytes).into_owned());
    }
    String::from_utf8(bytes).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}
