//! The `credentials` import: plain credentials are readable, secret ones only usable by name
//! (in `http` headers and `crypto`), so a secret never enters the sandbox.

use std::collections::HashMap;
use std::fmt;

use zeroize::Zeroizing;

use crate::domain::manifest::Manifest;
use crate::runtime::bindings::v1::integrations::provider::credentials::{self, CredentialError};

use super::CallContext;
use crate::store::credentials::StoredCredential;

/// One integration's credential values, with their secret flags.
#[derive(Clone, Default)]
pub struct CredentialSet {
    /// name → (value if set, secret?) for every credential the manifest declares.
    fields: HashMap<String, (Option<Zeroizing<String>>, bool)>,
}

/// Why a credential cannot be used.
pub enum CredentialLookup {
    Unknown,
    NotSet,
}

impl CredentialSet {
    /// A credential is secret when the live manifest says so or when its value was stored
    /// as a secret (sticky: a later version that drops `secret: true` cannot read a value
    /// written as one).
    pub fn new(manifest: &Manifest, mut values: HashMap<String, StoredCredential>) -> Self {
        let fields = manifest
            .runtime
            .credentials
            .iter()
            .map(|field| {
                let stored = values.remove(&field.name);
                let secret = field.secret || stored.as_ref().is_some_and(|s| s.secret);
                (field.name.clone(), (stored.map(|s| s.value), secret))
            })
            .collect();
        Self { fields }
    }

    /// A credential's value for use inside the host (header injection, HMAC keys).
    pub fn value_for_host(&self, name: &str) -> Result<&str, CredentialLookup> {
        match self.fields.get(name) {
            None => Err(CredentialLookup::Unknown),
            Some((None, _)) => Err(CredentialLookup::NotSet),
            Some((Some(value), _)) => Ok(value.as_str()),
        }
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
            Some((value, false)) => Ok(value.as_ref().map(|v| v.to_string())),
        })
    }

    fn is_set(&mut self, name: String) -> wasmtime::Result<Result<bool, CredentialError>> {
        Ok(match self.credentials.fields.get(&name) {
            None => Err(CredentialError::Unknown(name)),
            Some((value, _)) => Ok(value.is_some()),
        })
    }
}
