//! Checks a compiled component against its manifest before it is linked: it must export the
//! interface of its manifest's world, at a WIT version this host supports, and import nothing
//! beyond the provider world (WASI, which Rust's std always imports, is linked granting
//! nothing).

use wasmtime::component::Component;
use wasmtime::Engine;

use crate::domain::manifest::{IntegrationCategory, Manifest, WIT_PACKAGE, WIT_VERSION};

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
    let expected_export = format!("{WIT_PACKAGE}/{exported_interface}@{WIT_VERSION}");
    let exports: Vec<String> = ty.exports(engine).map(|(name, _)| name.to_string()).collect();
    if !exports.contains(&expected_export) {
        let other_version =
            exports.iter().find_map(|name| name.strip_prefix(&format!("{WIT_PACKAGE}/{exported_interface}@")));
        problems.push(ComponentProblem(match other_version {
            Some(version) => format!(
                "the component was built against {WIT_PACKAGE}@{version}; this host supports {WIT_PACKAGE}@{WIT_VERSION}"
            ),
            None => format!(
                "the component does not export `{expected_export}`, which world `{}` requires (it exports: {})",
                manifest.runtime.world,
                if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") }
            ),
        }));
    }

    for (name, _) in ty.imports(engine) {
        if let Some(problem) = import_problem(name) {
            problems.push(problem);
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}

fn import_problem(name: &str) -> Option<ComponentProblem> {
    if name.starts_with("wasi:") {
        return None;
    }
    if let Some(rest) = name.strip_prefix(&format!("{WIT_PACKAGE}/")) {
        let (interface, version) = rest.split_once('@').unwrap_or((rest, ""));
        if version != WIT_VERSION {
            return Some(ComponentProblem(format!(
                "imports `{name}`: built against {WIT_PACKAGE}@{version}; this host supports {WIT_PACKAGE}@{WIT_VERSION}"
            )));
        }
        if HOST_INTERFACES.contains(&interface) {
            return None;
        }
    }
    Some(ComponentProblem(format!("imports `{name}`, which is outside the provider world")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn imports_outside_the_world_are_named() {
        assert_eq!(import_problem("wasi:io/streams@0.2.6"), None);
        assert_eq!(import_problem("integrations:provider/http@1.0.0"), None);
        assert!(import_problem("integrations:provider/http@2.0.0")
            .unwrap()
            .0
            .contains("built against integrations:provider@2.0.0"));
        assert!(import_problem("evil:net/raw-socket@1.0.0").unwrap().0.contains("outside the provider world"));
        assert!(import_problem("integrations:provider/filesystem@1.0.0")
            .unwrap()
            .0
            .contains("outside the provider world"));
    }
}
