//! The `log` import: a provider's messages in the host's log, tagged with who it served, and
//! the budget a call's log lines share with its stdout and stderr.

use std::sync::{Arc, Mutex};

use crate::runtime::bindings::v1::integrations::provider::log::{self, Level};
use crate::runtime::ceilings::OverCeiling;
use crate::runtime::ceilings::{LOG_BYTES_PER_CALL, LOG_MESSAGE};

use super::CallContext;

/// Bytes a call may still write to the log, across `log` messages, stdout and stderr. Once a
/// write would pass the ceiling, the call fails and the budget remembers why.
#[derive(Clone)]
pub struct LogBudget {
    inner: Arc<Mutex<Spent>>,
}

struct Spent {
    bytes: usize,
    limit: usize,
    over: Option<OverCeiling>,
}

impl LogBudget {
    pub fn new(limit: usize) -> Self {
        Self { inner: Arc::new(Mutex::new(Spent { bytes: 0, limit, over: None })) }
    }

    /// Spends `bytes` of `what`'s output, or refuses (and remembers) when that would pass
    /// the ceiling. Nothing is spent by a refused write.
    pub fn spend(&self, what: &str, bytes: usize) -> Result<(), OverCeiling> {
        let mut spent = self.inner.lock().expect("log budget lock");
        if let Some(over) = &spent.over {
            return Err(over.clone());
        }
        let total = spent.bytes.saturating_add(bytes);
        if total > spent.limit {
            let over = OverCeiling::bytes(format!("log output ({what})"), total, spent.limit);
            spent.over = Some(over.clone());
            return Err(over);
        }
        spent.bytes = total;
        Ok(())
    }

    /// Why a write was refused, if one was.
    pub fn exceeded(&self) -> Option<OverCeiling> {
        self.inner.lock().expect("log budget lock").over.clone()
    }
}

impl Default for LogBudget {
    fn default() -> Self {
        Self::new(LOG_BYTES_PER_CALL)
    }
}

impl log::Host for CallContext {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let mut message = message;
        message.truncate(message.floor_char_boundary(LOG_MESSAGE));
        self.log_budget.spend("log", message.len()).map_err(wasmtime::Error::new)?;
        let message = self.scrubber().text(&message);
        // The call's `provider` span names the module, version, company and integration.
        match level {
            Level::Debug => tracing::debug!("{message}"),
            Level::Info => tracing::info!("{message}"),
            Level::Warn => tracing::warn!("{message}"),
            Level::Error => tracing::error!("{message}"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_remembers_the_refusal() {
        let budget = LogBudget::new(10);
        let stdout = budget.clone();
        assert!(budget.spend("log", 6).is_ok());
        let over = stdout.spend("stdout", 5).unwrap_err();
        assert_eq!(over.to_string(), "log output (stdout) has 11 bytes, over the ceiling of 10");
        assert_eq!(budget.spend("log", 1).unwrap_err(), over, "once over, every later write is refused");
        assert_eq!(budget.exceeded(), Some(over));
    }
}
