//! `integrations-host check MANIFEST COMPONENT`: validates a module offline, exactly as an
//! install would (manifest rules, compilation, world and imports, linking), without a server.

use std::path::Path;

use crate::registry::{load_module, EndpointOverrides};
use crate::runtime::{HostLimits, ProviderRuntime};

/// A one-line summary of a valid module, or every reason it would be refused.
pub fn check_module(manifest: &Path, component: &Path) -> Result<String, String> {
    let yaml = std::fs::read_to_string(manifest).map_err(|e| format!("{}: {e}", manifest.display()))?;
    let bytes = std::fs::read(component).map_err(|e| format!("{}: {e}", component.display()))?;
    let runtime = ProviderRuntime::new(HostLimits { max_instances: 1, ..HostLimits::default() })
        .map_err(|e| format!("cannot start the wasm runtime: {e:#}"))?;
    let module = load_module(&runtime, &yaml, &bytes, &EndpointOverrides::default()).map_err(|e| e.to_string())?;
    Ok(format!(
        "ok: {} {} ({}), sha256 {}",
        module.manifest.identifier, module.manifest.version, module.manifest.runtime.world, module.sha256
    ))
}
