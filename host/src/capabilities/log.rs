//! The `log` import: a provider's messages in the host's log, tagged with who it served.

use crate::runtime::bindings::v1::integrations::provider::log::{self, Level};

use super::CallContext;

/// Longest message kept; the rest is cut.
const MAX_MESSAGE: usize = 2048;

impl log::Host for CallContext {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let mut message = message;
        if message.len() > MAX_MESSAGE {
            let cut = (0..=MAX_MESSAGE).rev().find(|i| message.is_char_boundary(*i)).unwrap_or(0);
            message.truncate(cut);
        }
        let module = &self.module.identifier;
        let (company_id, integration_id) = (self.integration.company_id, self.integration.integration_id);
        match level {
            Level::Debug => tracing::debug!(%module, company_id, integration_id, "{message}"),
            Level::Info => tracing::info!(%module, company_id, integration_id, "{message}"),
            Level::Warn => tracing::warn!(%module, company_id, integration_id, "{message}"),
            Level::Error => tracing::error!(%module, company_id, integration_id, "{message}"),
        }
        Ok(())
    }
}
