//! Checks a compiled component against its manifest before it is linked: it must export the
//! interface of its manifest's world at the contract version the world names, import the
//! provider interfaces of that same version only (a 1.0.0 world importing 1.1.0 `http`, or
//! the other way round, is refused), and import nothing beyond the provider world. Of WASI, what Rust's std imports for stdio, clocks, random
//! numbers, environment and exit is linked granting nothing; `wasi:filesystem`,
//! `wasi:sockets` and `wasi:http` are refused by name (std imports them only when the
//! provider's code uses files or sockets, and a provider has neither).

use wasmtime::component::Component;
use wasmtime::Engine;

use crate::domain::contract::{ContractVersion, WIT_PACKAGE};
use crate::domain::manifest::{IntegrationCategory, Manifest};

/// The interfaces a provider may import from this host.
const HOST_INTERFACES: [&str; 9] =
    ["types", "http", "credentials", "crypto", "endpoints", "mapper", "cache", "log", "context"];

/// One reason a component does not fit its manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComponentProblem(pub String);

impl std::fmt::Display for ComponentProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

pub fn check_component(
    engine: &Engine,
    component: &Component,
    manifest: &Manifest,
) -> Result<(), Vec<ComponentProblem>> {
    let ty = component.component_type();
    let mut problems = Vec::new();

    let exported_interface = match manifest.category() {
        IntegrationCategory::OnlinePayment => "payment",
        IntegrationCategory::Messaging => "messaging",
        IntegrationCategory::Shipping => {
            return Err(vec![ComponentProblem("this host has no provider world for Shipping yet".into())])
        }
    };
    let version = manifest.contract_version();
    let expected_export = version.qualified(exported_interface);
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    if !exports.contains(&expected_export) {
        let other_version =
            exports.iter().find_map(|name| name.strip_prefix(&format!("{WIT_PACKAGE}/{exported_interface}@")));
        problems.push(ComponentProblem(match other_version {
            Some(other) => format!(
                "the component was built against {WIT_PACKAGE}@{other}; its manifest's world `{}` is {WIT_PACKAGE}@{version}",
                manifest.runtime.world
            ),
            None => format!(
                "the component does not export `{expected_export}`, which world `{}` requires (it exports: {})",
                manifest.runtime.world,
                if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
            ),
        }));
    }

    for (name, _) in ty.imports(engine) {
        if let Some(problem) = import_problem(name, version) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

/// WASI packages a provider may not import: it gets no files, no sockets and no HTTP but the
/// host's checked `http` interface.
const REFUSED_WASI: [&str; 3] = ["wasi:filesystem/", "wasi:sockets/", "wasi:http/"];

fn import_problem(name: &str, version: ContractVersion) -> Option<ComponentProblem> {
    if REFUSED_WASI.iter().any(|package| name.starts_with(package)) {
        return Some(ComponentProblem(format!(
            "imports `{name}`: providers get no files, sockets or HTTP of their own (wasi:filesystem, wasi:sockets and \
             wasi:http are refused; use the host's `http` interface)"
        )));
    }
    if name.starts_with("wasi:") {
        return None;
    }
    if let Some(rest) = name.strip_prefix(&format!("{WIT_PACKAGE}/")) {
        let (interface, imported) = rest.split_once('@').unwrap_or((rest, ""));
        match ContractVersion::parse(imported) {
            None => {
                return Some(ComponentProblem(format!(
                    "imports `{name}`: built against {WIT_PACKAGE}@{imported}; this host supports {WIT_PACKAGE}@{}",
                    ContractVersion::supported()
                )))
            }
            Some(imported) if imported != version => {
                return Some(ComponentProblem(format!(
                    "imports `{name}`: a component of {WIT_PACKAGE}@{version} (its manifest's world) imports only \
                     that version's interfaces"
                )))
            }
            Some(_) if HOST_INTERFACES.contains(&interface) => return None,
            Some(_) => {}
        }
    }
    Some(ComponentProblem(format!("imports `{name}`, which is outside the provider world")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_outside_the_world_are_named() {
        let v1_0 = ContractVersion::V1_0;
        assert_eq!(import_problem("wasi:io/streams@0.2.6", v1_0), None);
        assert_eq!(import_problem("wasi:cli/environment@0.2.6", v1_0), None);
        assert_eq!(import_problem("wasi:clocks/monotonic-clock@0.2.6", v1_0), None);
        for refused in ["wasi:filesystem/types@0.2.6", "wasi:sockets/tcp@0.2.0", "wasi:http/outgoing-handler@0.2.6"] {
            let problem = import_problem(refused, v1_0).unwrap().0;
            assert!(problem.starts_with(&format!("imports `{refused}`: providers get no files")), "{problem}");
        }
        assert_eq!(import_problem("integrations:provider/http@1.0.0", v1_0), None);
        assert!(import_problem("integrations:provider/http@2.0.0", v1_0).unwrap().0.contains(
            "built against integrations:provider@2.0.0; this host supports integrations:provider@1.0.0, 1.1.0"
        ));
        assert!(import_problem("evil:net/raw-socket@1.0.0", v1_0).unwrap().0.contains("outside the provider world"));
        assert!(import_problem("integrations:provider/filesystem@1.0.0", v1_0)
            .unwrap()
            .0
            .contains("outside the provider world"));
    }

    #[test]
    fn every_import_is_of_the_manifest_world_version() {
        let (v1_0, v1_1) = (ContractVersion::V1_0, ContractVersion::V1_1);
        assert_eq!(import_problem("integrations:provider/http@1.1.0", v1_1), None);
        assert_eq!(import_problem("integrations:provider/types@1.1.0", v1_1), None);
        for (name, version) in [("integrations:provider/http@1.1.0", v1_0), ("integrations:provider/cache@1.0.0", v1_1)]
        {
            let problem = import_problem(name, version).unwrap().0;
            assert!(problem.contains(&format!("a component of integrations:provider@{version}")), "{problem}");
        }
    }
}
