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

    /// Whether the credential is secret (unknown names are not).
    pub fn is_secret(&self, name: &str) -> bool {
        self.fields.get(name).is_some_and(|(_, secret)| *secret)
    }

    /// The values of every secret credential that is set, for the scrubber.
    pub fn secret_values(&self) -> impl Iterator<Item = &str> {
        self.fields.values().filter(|(_, secret)| *secret).filter_map(|(value, _)| value.as_ref().map(|v| v.as_str()))
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
                tracing::warn!(credential = %name, "provider tried to read a secret credential");
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

#[cfg(test)]
mod tests {
    use super::*;

    const MYGATEWAY: &str = include_str!("../../../manifests/payment_mygateway.yaml");

    fn stored(value: &str, secret: bool) -> StoredCredential {
        StoredCredential { value: Zeroizing::new(value.into()), secret }
    }

    #[test]
    fn a_credential_is_secret_when_the_manifest_says_so_or_it_was_stored_as_one() {
        let without_flags = Manifest::parse(&MYGATEWAY.replace(", secret: true }", " }")).unwrap();
        assert!(without_flags.runtime.credentials.iter().all(|c| !c.secret));
        let set = CredentialSet::new(
            &without_flags,
            HashMap::from([
                ("mygateway_api_key".to_string(), stored("pk", false)),
                ("mygateway_secret_key".to_string(), stored("sk", true)),
            ]),
        );
        assert!(!set.fields["mygateway_api_key"].1);
        assert!(set.fields["mygateway_secret_key"].1, "stored as a secret stays secret");
        assert!(set.value_for_host("mygateway_secret_key").is_ok_and(|v| v == "sk"));
        assert!(set.fields["mygateway_webhook_secret"].0.is_none());

        let live = Manifest::parse(MYGATEWAY).unwrap();
        let set =
            CredentialSet::new(&live, HashMap::from([("mygateway_webhook_secret".to_string(), stored("wh", false))]));
        assert!(set.fields["mygateway_webhook_secret"].1, "the live manifest's flag counts alone");
    }
}
