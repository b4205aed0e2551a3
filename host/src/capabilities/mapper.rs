//! The `mapper` import: the ERP's IntegrationMapper (local id ↔ remote id per model),
//! persisted and scoped to the integration being served.

use crate::runtime::bindings::v1::integrations::provider::mapper;
use crate::store::mappings;

use super::CallContext;

impl mapper::Host for CallContext {
    async fn get_remote(&mut self, model: String, local_id: String) -> wasmtime::Result<Option<String>> {
        Ok(mappings::remote_id(&self.services.db, self.integration.integration_id, &model, &local_id).await?)
    }

    async fn get_local(&mut self, model: String, remote_id: String) -> wasmtime::Result<Option<String>> {
        Ok(mappings::local_id(&self.services.db, self.integration.integration_id, &model, &remote_id).await?)
    }

    async fn put(&mut self, model: String, local_id: String, remote_id: String) -> wasmtime::Result<()> {
        mappings::put(&self.services.db, self.integration.integration_id, &model, &local_id, &remote_id).await?;
        Ok(())
    }
}
