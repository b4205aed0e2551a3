//! An integration's credentials: setting them, checking their shapes against the
//! integration's Test/Live mode (API.md §2 "Credential shapes"), and enabling (the seed's
//! `enable_integration`: shapes, then the provider's own check, then required credentials).
//! Switching the mode re-checks, and an enabled integration whose keys no longer fit is
//! disabled.

use std::collections::HashMap;

use crate::domain::credential_pattern::{misfit_message, Mode};
use crate::domain::manifest::{IntegrationCategory, Manifest};
use crate::secrets::Scope;
use crate::store::credentials::{self, StoredCredential};
use crate::store::integrations::{self, IntegrationRow};

use super::integrations::{changed_meanwhile, EDIT_ATTEMPTS};
use super::{App, Caller, ServiceError};

impl App {
    /// Sets or clears (`null`) credentials; every name must be declared by the module.
    /// All or nothing: one bad name changes nothing.
    pub async fn set_credentials(
        &self,
        caller: Caller,
        id: i64,
        values: serde_json::Map<String, serde_json::Value>,
    ) -> Result<IntegrationRow, ServiceError> {
        // Checked and written under the integration's lock, against the mode it has.
        let (mut tx, row) = self.integration_for_edit(caller, id).await?;
        let module = self.module_of(&row)?;
        let mut changes = Vec::new();
        let mut unknown = Vec::new();
        for (name, value) in values {
            if module.manifest.credential(&name).is_none() {
                unknown.push(name);
                continue;
            }
            let value = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) if s.is_empty() => None,
                serde_json::Value::String(s) => Some(s),
                _ => {
                    return Err(ServiceError::invalid(
                        "invalid_credential",
                        format!("{name}: a credential value must be a string or null"),
                    ))
                }
            };
            changes.push((name, value));
        }
        if !unknown.is_empty() {
            let declared: Vec<_> = module.manifest.runtime.credentials.iter().map(|c| c.name.as_str()).collect();
            return Err(ServiceError::invalid(
                "unknown_credential",
                format!(
                    "{} declares no credential named {unknown:?}; it declares {declared:?}",
                    module.manifest.identifier
                ),
            ));
        }
        let mode = Mode::of_state(&row.payment_state);
        for (name, value) in &changes {
            if let Some(value) = value {
                check_shape(&module.manifest, name, value, mode)?;
            }
        }
        let key = self.keys.data_key_in(&mut tx, Scope::Company(row.company_id)).await?;
        if !integrations::touch(&mut *tx, row.id, row.revision).await? {
            return Err(changed_meanwhile(id));
        }
        for (name, value) in &changes {
            // Stored as secret when the live version says so, or when the value it replaces
            // was (a value stored as secret stays secret).
            let secret = module.manifest.credential(name).is_some_and(|field| field.secret);
            credentials::set(&mut *tx, &key, row.id, row.company_id, name, value.as_deref(), secret).await?;
        }
        self.commit_edit(tx, row.id).await?;
        self.keys.keep(key);
        Ok(row)
    }

    /// Enables an integration once its credentials pass. The provider's own check speaks
    /// first (its message, such as "Please enter your MyGateway API Key.", is the one the
    /// merchant sees); the host's required-credential check backs it up.
    /// Saved only over the revision it checked: credentials or mode changed meanwhile are
    /// checked again.
    pub async fn enable_integration(&self, caller: Caller, id: i64) -> Result<IntegrationRow, ServiceError> {
        for _ in 0..EDIT_ATTEMPTS {
            let mut row = self.visible_integration(caller, id).await?;
            self.check_for_enabling(&row).await?;
            row.enabled = 1;
            if self.save_integration(&row).await? {
                return self.visible_integration(caller, id).await;
            }
        }
        Err(changed_meanwhile(id))
    }

    /// Whether `row`'s stored credentials may be enabled: the provider's check, then the
    /// host's required-credential check.
    async fn check_for_enabling(&self, row: &IntegrationRow) -> Result<(), ServiceError> {
        let module = self.module_of(row)?;
        let values = credentials::all(self.db.read(), &self.keys, row.id).await?;
        // Before any sandbox: a live key never reaches a provider serving Test mode.
        if let Some(misfit) = misfits(&module.manifest, &values, Mode::of_state(&row.payment_state)).first() {
            return Err(ServiceError::invalid("invalid_credential", misfit.clone()));
        }
        let missing = module.manifest.runtime.credentials.iter().find(|c| c.required && !values.contains_key(&c.name));

        let verdict = match IntegrationCategory::parse(&row.integration_category) {
            Some(IntegrationCategory::OnlinePayment) => {
                let mut provider = self.payment_provider(row).await?;
                provider.validate_credentials().await
            }
            Some(IntegrationCategory::Messaging) => {
                let mut provider = self.messaging_provider(row).await?;
                provider.validate_credentials().await
            }
            _ => Ok(Ok(())),
        };
        match verdict {
            Ok(Err(refusal)) => return Err(ServiceError::invalid("credentials_rejected", refusal.message)),
            Err(failure) if missing.is_none() => return Err(failure.into()),
            _ => {}
        }
        if let Some(field) = missing {
            return Err(ServiceError::invalid(
                "credentials_missing",
                format!("Please enter your {} ({}).", field.description, field.name),
            ));
        }
        Ok(())
    }

    /// After a Test/Live switch: an enabled integration whose stored credentials do not fit
    /// the new mode is disabled (enable again once they do); the reason is logged.
    pub(super) async fn recheck_mode(&self, row: &mut IntegrationRow) -> Result<(), ServiceError> {
        if !row.is_enabled() {
            return Ok(());
        }
        let Ok(module) = self.module_of(row) else { return Ok(()) };
        let values = credentials::all(self.db.read(), &self.keys, row.id).await?;
        let misfits = misfits(&module.manifest, &values, Mode::of_state(&row.payment_state));
        let Some(first) = misfits.into_iter().next() else { return Ok(()) };
        row.enabled = 0;
        tracing::warn!(
            integration_id = row.id, company_id = row.company_id, module = %row.module, reason = %first,
            "integration disabled: its credentials do not fit its new mode"
        );
        Ok(())
    }
}

/// Refuses a value that does not fit its credential's pattern in `mode`.
fn check_shape(manifest: &Manifest, name: &str, value: &str, mode: Mode) -> Result<(), ServiceError> {
    match manifest.credential(name) {
        Some(field) if field.pattern.as_ref().is_some_and(|pattern| !pattern.fits(value, mode)) => {
            Err(ServiceError::invalid("invalid_credential", misfit_message(field, mode)))
        }
        _ => Ok(()),
    }
}

/// Every stored value that does not fit its pattern in `mode`, in manifest order.
fn misfits(manifest: &Manifest, values: &HashMap<String, StoredCredential>, mode: Mode) -> Vec<String> {
    manifest
        .runtime
        .credentials
        .iter()
        .filter_map(|field| {
            let value = values.get(&field.name)?;
            let pattern = field.pattern.as_ref()?;
            (!pattern.fits(&value.value, mode)).then(|| misfit_message(field, mode))
        })
        .collect()
}
