//! What one Store holds: WASI granting nothing, the resource table, memory accounting, the
//! call's deadline and the capabilities' per-call context.

use std::time::Instant;

use wasmtime::component::ResourceTable;
use wasmtime::ResourceLimiter;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::cpu_share::LongCall;
use super::stdio::GuestOutput;
use crate::capabilities::CallContext;

pub struct ProviderState {
    pub(crate) wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    pub(crate) limits: MemoryLimit,
    pub(crate) deadline: Instant,
    pub(crate) output: GuestOutput,
    /// Set once the call has run into [`super::cpu_share::LONG_AFTER_TICKS`] ticks: a long call from then on.
    pub(crate) long_call: Option<LongCall>,
    /// Epoch ticks the current export call has run into (see [`super::cpu_share::LONG_AFTER_TICKS`]).
    pub(crate) ticks: u32,
    pub call: CallContext,
}

impl WasiView for ProviderState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps a store's linear memory and remembers whether the cap was hit, so an out-of-memory
/// trap is reported as such.
pub(crate) struct MemoryLimit {
    pub max_bytes: usize,
    pub exceeded: bool,
}

const MAX_TABLE_ELEMENTS: usize = 100_000;

impl ResourceLimiter for MemoryLimit {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.max_bytes {
            self.exceeded = true;
            wasmtime::bail!("memory limit of {} MiB exceeded", self.max_bytes >> 20);
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= MAX_TABLE_ELEMENTS)
    }
}
