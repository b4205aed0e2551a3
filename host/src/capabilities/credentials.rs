//! The `credentials` import: plain credentials are readable, secret ones only usable by name
//! (in `http` headers and `crypto`), so a secret never enters the sandbox.

use std::collections::HashMap;
use std::fmt;

use crate::domain::manifest::Manifest;
use crate::runtime::bindings::v1::integrations::provider::credentials::{self, CredentialError};

use super::CallContext;

/// One integration's credential values, with the manifest's secret flags.
#[derive(Clone, Default)]
pub struct CredentialSet {
    /// name → (value if set, secret?) for every credential the manifest declares.
    fields: HashMap<String, (Option<String>, bool)>,
}

/// Why a credential cannot be used.
pub enum CredentialLookup {
    Unknown,
    NotSet,
}

impl CredentialSet {
    pub fn new(manifest: &Manifest, mut values: HashMap<String, String>) -> Self {
        let fields = manifest
            .runtime
            .credentials
            .iter()
            .map(|field| (field.name.clone(), (values.remove(&field.name), field.secret)))
            .collect();
        Self { fields }
    }

    /// A credential's value for use inside the host (header injection, HMAC keys).
    pub fn value_for_host(&self, name: &str) -> Result<&str, CredentialLookup> {
        match self.fields.get(name) {
            None => Err(CredentialLookup::Unknown),
            Some((None, _)) => Err(CredentialLookup::NotSet),
            Some((Some(value), _)) => Ok(value),
        }
    }

    /// Whether the credential is secret (unknown names are not).
    pub fn is_secret(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|(_, secret)| *secret)
    }

    /// The values of every secret credential that is set, for the scrubber.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.fields.values().filter(|(_, secret)| *secret).filter_map(|(value, _)| value.as_deref())
    }
}

impl fmt::Debug for CredentialSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<_> = self.fields.iter().map(|(name, (value, _))| (name, value.is_some())).collect();
        names.sort();
        f.debug_struct("CredentialSet").field("set", &names).finish()
    }
}

impl credentials::Host for CallContext {
    fn get(&mut self, name: String) -> wasmtime::Result<Result<Option<String>, CredentialError>> {
        Ok(match self.credentials.fields.get(&name) {
            None => Err(CredentialError::Unknown(name)),
            Some((_, true)) => {
                tracing::warn!(module = %self.module.identifier, integration_id = self.integration.integration_id, credential = %name, "provider tried to read a secret credential");
                Err(CredentialError::Secret(name))
            }
            Some((value, false)) => Ok(value.clone()),
        })
    }

    fn is_set(&mut self, name: String) -> wasmtime::Result<Result<bool, CredentialError>> {
        Ok(match self.credentials.fields.get(&name) {
            None => Err(CredentialError::Unknown(name)),
            Some((value, _)) => Ok(value.is_some()),
        })
    }
}
