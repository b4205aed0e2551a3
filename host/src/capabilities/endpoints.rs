//! The `endpoints` import: a module's named base URLs, Live or Test by the integration's
//! mode, unless the operator overrode them (`--endpoint MODULE.NAME=URL`).

use std::collections::BTreeMap;

use crate::domain::manifest::Manifest;
use crate::runtime::bindings::v1::integrations::provider::endpoints;

use super::CallContext;

#[derive(Debug, Clone, Default)]
pub struct ModuleEndpoints {
    /// name → (live, test)
    named: BTreeMap<String, (String, Option<String>)>,
    overrides: BTreeMap<String, String>,
}

impl ModuleEndpoints {
    pub fn new(manifest: &Manifest, overrides: BTreeMap<String, String>) -> Self {
        let named = manifest
            .runtime
            .endpoints
            .iter()
            .map(|(name, endpoint)| (name.clone(), (endpoint.live.clone(), endpoint.test.clone())))
            .collect();
        Self { named, overrides }
    }

    pub fn base_url(&self, name: &str, test_mode: bool) -> Option<String> {
        let url = match self.overrides.get(name) {
            Some(url) => url.clone(),
            None => {
                let (live, test) = self.named.get(name)?;
                match (test_mode, test) {
                    (true, Some(test)) => test.clone(),
                    _ => live.clone(),
                }
            }
        };
        Some(url.trim_end_matches('/').to_string())
    }
}

impl endpoints::Host for CallContext {
    fn base_url(&mut self, name: String) -> wasmtime::Result<Option<String>> {
        Ok(self.module.endpoints.base_url(&name, self.integration.test_mode))
    }
}
