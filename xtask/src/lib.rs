//! Building the provider components (the nested `providers/` workspace) for
//! `wasm32-wasip2`. Used by the `xtask` command and by the end-to-end tests' build script, so
//! both build the same way.

use std::path::{Path, PathBuf};
use std::process::Command;

pub const WASM_TARGET: &str = "wasm32-wasip2";

/// The repository root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("xtask sits in the repository").to_path_buf()
}

pub fn providers_dir() -> PathBuf {
    repo_root().join("providers")
}

/// Where the built components land.
pub fn wasm_output_dir() -> PathBuf {
    providers_dir().join("target").join(WASM_TARGET).join("release")
}

/// Fails with the `rustup` hint when the wasm target's standard library is missing.
pub fn ensure_wasm_target() -> Result<(), String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let output =
        Command::new(&rustc).args(["--print", "sysroot"]).output().map_err(|e| format!("cannot run {rustc}: {e}"))?;
    let sysroot = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if Path::new(&sysroot).join("lib/rustlib").join(WASM_TARGET).exists() {
        Ok(())
    } else {
        Err(format!(
            "the {WASM_TARGET} target is not installed for {sysroot}; install it with `rustup target add {WASM_TARGET}`"
        ))
    }
}

/// Builds every provider crate (and the test guests) in release mode. Returns the folder
/// holding the `.wasm` files.
pub fn build_providers() -> Result<PathBuf, String> {
    ensure_wasm_target()?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(providers_dir()).args(["build", "--release", "--target", WASM_TARGET, "--workspace"]);
    // A build script inherits the outer build's settings; none of them apply here.
    for variable in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "CARGO_MAKEFLAGS",
        "MAKEFLAGS",
        "MFLAGS",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PROFILE_RELEASE_DEBUG",
    ] {
        command.env_remove(variable);
    }
    let status = command.status().map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the providers failed ({status})"));
    }
    Ok(wasm_output_dir())
}

/// Every source file of the providers workspace and the WIT, for `rerun-if-changed`.
pub fn provider_sources() -> Vec<PathBuf> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|name| name == "target") {
                continue;
            }
            if path.is_dir() {
                walk(&path, files);
            } else {
                files.push(path);
            }
        }
    }
    let mut files = Vec::new();
    walk(&providers_dir(), &mut files);
    walk(&repo_root().join("wit"), &mut files);
    files.sort();
    files
}

/// A shipped provider: its manifest and built component.
pub struct ShippedModule {
    pub identifier: String,
    pub manifest: PathBuf,
    pub component_file: String,
}

#[derive(serde::Deserialize)]
struct ManifestHead {
    identifier: String,
    runtime: RuntimeHead,
}

#[derive(serde::Deserialize)]
struct RuntimeHead {
    component: String,
}

/// Every manifest under `manifests/`.
pub fn shipped_modules() -> Result<Vec<ShippedModule>, String> {
    let dir = repo_root().join("manifests");
    let mut modules = Vec::new();
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|ext| ext != "yaml") {
            continue;
        }
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let head: ManifestHead = serde_yaml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        modules.push(ShippedModule {
            identifier: head.identifier,
            manifest: path,
            component_file: head.runtime.component,
        });
    }
    modules.sort_by(|a, b| a.identifier.cmp(&b.identifier));
    Ok(modules)
}

/// Builds the providers and installs each shipped one as `<modules>/<identifier>/`
/// (`manifest.yaml` beside its `.wasm`).
pub fn install_modules(modules_dir: &Path) -> Result<Vec<String>, String> {
    let built = build_providers()?;
    let mut installed = Vec::new();
    for module in shipped_modules()? {
        let target = modules_dir.join(&module.identifier);
        std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
        let component = built.join(&module.component_file);
        std::fs::copy(&component, target.join(&module.component_file)).map_err(|e| {
            format!("{}: {e} (is the crate's output named after runtime.component?)", component.display())
        })?;
        std::fs::copy(&module.manifest, target.join("manifest.yaml"))
            .map_err(|e| format!("{}: {e}", module.manifest.display()))?;
        installed.push(module.identifier);
    }
    Ok(installed)
}
