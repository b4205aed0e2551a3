//! The `mapper` import: the ERP's IntegrationMapper (local id ↔ remote id per model),
//! persisted and scoped to the integration being served. Writes per call and entries per
//! integration have ceilings (`runtime::ceilings`); past one the call fails. The sizes of
//! model names and ids are bounded where the arguments leave the guest (`runtime::imports`).

use crate::runtime::bindings::v1::integrations::provider::mapper;
use crate::runtime::ceilings::{OverCeiling, MAPPER_ENTRIES_PER_INTEGRATION, MAPPER_WRITES_PER_CALL};
use crate::store::mappings;

use super::CallContext;

impl mapper::Host for CallContext {
    async fn get_remote(&mut self, model: String, local_id: String) -> wasmtime::Result<Option<String>> {
        Ok(mappings::remote_id(self.services.db.read(), self.integration.integration_id, &model, &local_id).await?)
    }

    async fn get_local(&mut self, model: String, remote_id: String) -> wasmtime::Result<Option<String>> {
        Ok(mappings::local_id(self.services.db.read(), self.integration.integration_id, &model, &remote_id).await?)
    }

    async fn put(&mut self, model: String, local_id: String, remote_id: String) -> wasmtime::Result<()> {
        self.mapper_writes += 1;
        if self.mapper_writes > MAPPER_WRITES_PER_CALL {
            let over = OverCeiling::items("mapper writes in one call", self.mapper_writes, MAPPER_WRITES_PER_CALL);
            return Err(wasmtime::Error::new(over));
        }
        let integration_id = self.integration.integration_id;
        // The integration's row lock makes the quota's count and the insert one writer's at a
        // time on PostgreSQL too.
        let mut tx = self.services.db.tx().await?;
        tx.lock_integration(integration_id).await?;
        let stored = mappings::put_within(
            &mut *tx,
            integration_id,
            &model,
            &local_id,
            &remote_id,
            MAPPER_ENTRIES_PER_INTEGRATION,
        )
        .await?;
        tx.commit().await?;
        if !stored {
            let limit = MAPPER_ENTRIES_PER_INTEGRATION as usize;
            let over = OverCeiling::items("mapper entries of the integration", limit + 1, limit);
            return Err(wasmtime::Error::new(over));
        }
        Ok(())
    }
}
