//! Integrations: a company's configured use of a module, its credentials, and enabling it
//! (the seed's `enable_integration`: required credentials, then the provider's own check).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::manifest::{IntegrationCategory, INTEGRATION_TYPES};
use crate::store::credentials;
use crate::store::integrations::{self, IntegrationRow};
use crate::store::mappings::{self, MappingRow};
use crate::store::WriteTx;

use super::{App, Caller, ServiceError};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateIntegration {
    #[schema(example = 1)]
    #[serde(deserialize_with = "super::json_integer::required")]
    pub company_id: i64,
    /// An installed module's identifier.
    #[schema(example = "payment_mygateway")]
    pub module: String,
    #[schema(min_length = 1, max_length = 100, pattern = r"\S", example = "MyGateway")]
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// Test (default) or Live.
    #[serde(default)]
    #[schema(pattern = r"^(Test|Live)$")]
    pub payment_state: Option<String>,
    /// One the module offers (default: its first).
    #[serde(default)]
    #[schema(pattern = r"^(Redirect|Embedded JS|QR Code)$")]
    pub payment_integration_type: Option<String>,
    #[serde(default)]
    pub payment_display_name: Option<String>,
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub payment_sequence: Option<i64>,
}

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchIntegration {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, pattern = r"\S")]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    /// Test or Live.
    #[serde(default)]
    #[schema(pattern = r"^(Test|Live)$")]
    pub payment_state: Option<String>,
    #[serde(default)]
    #[schema(pattern = r"^(Redirect|Embedded JS|QR Code)$")]
    pub payment_integration_type: Option<String>,
    #[serde(default)]
    pub payment_display_name: Option<String>,
    #[serde(default, deserialize_with = "super::json_integer::optional")]
    pub payment_sequence: Option<i64>,
}

/// An integration with what the API shows beside its row.
pub struct IntegrationView {
    pub row: IntegrationRow,
    /// "Not Installed", "Installed" or "Enabled".
    pub state: &'static str,
    /// Every credential the module declares, and whether it has a value.
    pub credentials: BTreeMap<String, bool>,
    /// What the merchant pastes into the gateway's dashboard.
    pub webhook_url: String,
}

const MAX_NAME: usize = 100;

/// How often an edit that calls the provider (enabling) is checked again over a fresh read
/// when another edit of the same integration (on this host or another) was saved meanwhile;
/// then 409 `integration_changed`.
pub(super) const EDIT_ATTEMPTS: usize = 5;

pub(super) fn changed_meanwhile(id: i64) -> ServiceError {
    ServiceError::conflict(
        "integration_changed",
        format!("Integration {id} kept being changed by other requests while this one ran; read it again and retry."),
    )
}

impl App {
    /// The IntegrationMapper entries of an integration the caller may see, by model then
    /// local id.
    pub async fn integration_mappings(&self, caller: Caller, id: i64) -> Result<Vec<MappingRow>, ServiceError> {
        let row = self.visible_integration(caller, id).await?;
        Ok(mappings::list(self.db.read(), row.id).await?)
    }

    pub async fn integration_view(&self, row: IntegrationRow) -> Result<IntegrationView, ServiceError> {
        let module = self.registry.get(&row.module);
        let state = match (&module, row.is_enabled()) {
            (None, _) => "Not Installed",
            (Some(_), false) => "Installed",
            (Some(_), true) => "Enabled",
        };
        let names = credentials::names(self.db.read(), row.id).await?;
        let mut flags: BTreeMap<String, bool> = names.into_iter().map(|name| (name, true)).collect();
        if let Some(module) = &module {
            for field in &module.manifest.runtime.credentials {
                flags.entry(field.name.clone()).or_insert(false);
            }
        }
        let webhook_url = self.webhook_url(&row);
        Ok(IntegrationView { row, state, credentials: flags, webhook_url })
    }

    pub async fn create_integration(
        &self,
        caller: Caller,
        request: CreateIntegration,
    ) -> Result<IntegrationRow, ServiceError> {
        caller.require_company(request.company_id)?;
        let module = self.registry.get(&request.module).ok_or_else(|| {
            let installed: Vec<_> = self.registry.all().iter().map(|m| m.manifest.identifier.clone()).collect();
            ServiceError::invalid(
                "unknown_module",
                format!("module: `{}` is not installed; installed modules: {installed:?}", request.module),
            )
        })?;
        let types = &module.manifest.runtime.integration_types;
        let mut row = IntegrationRow {
            id: 0,
            company_id: request.company_id,
            module: request.module.clone(),
            name: request.name,
            description: request.description,
            integration_category: module.manifest.integration_category.clone(),
            enabled: 0,
            payment_state: "Test".into(),
            payment_integration_type: types.first().cloned().unwrap_or_else(|| "Redirect".into()),
            payment_display_name: None,
            payment_sequence: 10,
            last_synced_date: None,
            created_at: String::new(),
            updated_at: String::new(),
            revision: 0,
        };
        let patch = PatchIntegration {
            name: None,
            description: None,
            payment_state: request.payment_state,
            payment_integration_type: request.payment_integration_type,
            payment_display_name: request.payment_display_name,
            payment_sequence: request.payment_sequence,
        };
        self.apply_patch(&mut row, patch)?;
        let mut tx = self.db.tx().await?;
        let inserted = integrations::insert(&mut *tx, &row).await?;
        tx.commit().await?;
        Ok(inserted)
    }

    pub async fn list_integrations(
        &self,
        caller: Caller,
        company_id: Option<i64>,
        category: Option<&str>,
    ) -> Result<Vec<IntegrationRow>, ServiceError> {
        let company = caller.company_filter(company_id)?;
        if let Some(category) = category {
            if IntegrationCategory::parse(category).is_none() {
                return Err(ServiceError::invalid(
                    "invalid_category",
                    format!("category: `{category}` is not one of Online Payment, Messaging, Shipping"),
                ));
            }
        }
        Ok(integrations::list(self.db.read(), company, category).await?)
    }

    pub async fn patch_integration(
        &self,
        caller: Caller,
        id: i64,
        patch: PatchIntegration,
    ) -> Result<IntegrationRow, ServiceError> {
        let (mut tx, mut row) = self.integration_for_edit(caller, id).await?;
        let mode_before = row.payment_state.clone();
        self.apply_patch(&mut row, patch)?;
        if row.payment_state != mode_before {
            self.recheck_mode(&mut row).await?;
        }
        if !integrations::update(&mut *tx, &row).await? {
            return Err(changed_meanwhile(id));
        }
        self.commit_edit(tx, id).await?;
        self.visible_integration(caller, id).await
    }

    /// An integration the caller may see, read for an edit inside a write transaction that
    /// holds its lock: edits that need no provider call are read, applied and saved one at a
    /// time, so none undoes another.
    pub(super) async fn integration_for_edit(
        &self,
        caller: Caller,
        id: i64,
    ) -> Result<(WriteTx, IntegrationRow), ServiceError> {
        let mut tx = self.db.tx().await?;
        tx.lock_integration(id).await?;
        let row = super::online_payment::seen_by(caller, id, integrations::get(&mut *tx, id).await?)?;
        Ok((tx, row))
    }

    /// Saves an edited integration over the revision it was read at; false (nothing saved)
    /// when another edit came first.
    pub(super) async fn save_integration(&self, row: &IntegrationRow) -> Result<bool, ServiceError> {
        let mut tx = self.db.tx().await?;
        if !integrations::update(&mut *tx, row).await? {
            return Ok(false);
        }
        self.commit_edit(tx, row.id).await?;
        Ok(true)
    }

    fn apply_patch(&self, row: &mut IntegrationRow, patch: PatchIntegration) -> Result<(), ServiceError> {
        if let Some(name) = patch.name {
            row.name = name;
        }
        if row.name.trim().is_empty() || row.name.chars().count() > MAX_NAME {
            return Err(ServiceError::invalid("invalid_name", format!("name: must be 1 to {MAX_NAME} characters")));
        }
        if patch.description.is_some() {
            row.description = patch.description;
        }
        if let Some(state) = patch.payment_state {
            if state != "Test" && state != "Live" {
                return Err(ServiceError::invalid(
                    "invalid_payment_state",
                    format!("payment_state: `{state}` must be \"Test\" or \"Live\""),
                ));
            }
            row.payment_state = state;
        }
        if let Some(kind) = patch.payment_integration_type {
            let offered = self
                .registry
                .get(&row.module)
                .map(|m| m.manifest.runtime.integration_types.clone())
                .unwrap_or_default();
            if !INTEGRATION_TYPES.contains(&kind.as_str()) || !offered.contains(&kind) {
                return Err(ServiceError::invalid(
                    "unsupported_integration_type",
                    format!(
                        "payment_integration_type: `{kind}` is not offered by {}; it offers {offered:?}",
                        row.module
                    ),
                ));
            }
            row.payment_integration_type = kind;
        }
        if patch.payment_display_name.is_some() {
            row.payment_display_name = patch.payment_display_name;
        }
        if let Some(sequence) = patch.payment_sequence {
            row.payment_sequence = sequence;
        }
        Ok(())
    }

    pub async fn disable_integration(&self, caller: Caller, id: i64) -> Result<IntegrationRow, ServiceError> {
        let (mut tx, mut row) = self.integration_for_edit(caller, id).await?;
        row.enabled = 0;
        if !integrations::update(&mut *tx, &row).await? {
            return Err(changed_meanwhile(id));
        }
        self.commit_edit(tx, id).await?;
        self.visible_integration(caller, id).await
    }

    /// Deletes an integration that has no transactions and no messages (their history must
    /// stay readable).
    pub async fn delete_integration(&self, caller: Caller, id: i64) -> Result<(), ServiceError> {
        // Counted under the integration's lock: a payment or message started meanwhile (its
        // insert waits for the lock on PostgreSQL) is either counted or never made.
        let (mut tx, row) = self.integration_for_edit(caller, id).await?;
        let (transactions, messages) = integrations::history_count(&mut *tx, row.id).await?;
        if transactions > 0 || messages > 0 {
            return Err(ServiceError::conflict(
                "integration_in_use",
                format!(
                    "Integration {id} has {transactions} transactions and {messages} messages; disable it instead \
                     of deleting it."
                ),
            ));
        }
        integrations::delete(&mut *tx, row.id).await?;
        self.commit_edit(tx, row.id).await?;
        Ok(())
    }
}
