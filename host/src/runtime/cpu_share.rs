//! Processor time, shared fairly. Sandbox slots bound how many calls a company or module has
//! at once, but a call that computes (a guest spinning until its deadline) keeps a worker
//! thread busy for its whole slice. Calls whose guest code is still running at
//! [`LONG_AFTER_TICKS`] epoch ticks are "long"; each company's and each module's long calls
//! together get about `cores` worker threads: when a company has more long calls than that,
//! each one, at every tick, waits out enough ticks that their sum stays within the share.
//! Short calls never wait, and a waiting call holds no thread. One tick is not enough to call
//! a call long: under load nearly every call that waits on its gateway, or on a busy machine's
//! scheduler, meets a tick, and pausing those throttled ordinary payments (initiates of one
//! company at 16 at once waited out 15 ticks each).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::engine::EPOCH_TICK;
use super::tally::Tally;

/// Ticks a call's guest code runs into before it counts as long (at 5 ms a tick: a guest
/// that computes for 10 ms or more).
pub(crate) const LONG_AFTER_TICKS: u32 = 3;

pub struct CpuShare {
    /// Worker threads' worth of time one company's (or one module's) long calls may use.
    cores: u32,
    /// Long calls in progress.
    long: Mutex<Tally>,
    /// Ticks at which a long call waited its turn.
    pauses: AtomicU64,
    /// Calls counted as long so far.
    counted_long: AtomicU64,
}

/// A call counted as long until dropped.
pub(crate) struct LongCall {
    share: Arc<CpuShare>,
    company_id: i64,
    module: String,
}

impl CpuShare {
    pub fn new(cores: u32) -> Arc<Self> {
        Arc::new(Self {
            cores: cores.max(1),
            long: Mutex::default(),
            pauses: AtomicU64::new(0),
            counted_long: AtomicU64::new(0),
        })
    }

    /// Half of this machine's parallelism, at least one.
    pub fn for_this_machine() -> Arc<Self> {
        let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
        Self::new(cores / 2)
    }

    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Counts a call as long (at its first tick).
    pub(crate) fn long_call(self: &Arc<Self>, company_id: i64, module: &str) -> LongCall {
        self.long.lock().expect("cpu share lock").add(module, company_id);
        self.counted_long.fetch_add(1, Ordering::Relaxed);
        LongCall { share: self.clone(), company_id, module: module.to_string() }
    }

    /// How long a long call of `company_id` and `module` waits at a tick so that their long
    /// calls together stay within the share: none while they have no more than `cores`.
    pub(crate) fn pause(&self, company_id: i64, module: &str) -> Duration {
        let (module, company) = self.long.lock().expect("cpu share lock").get(module, company_id);
        // Each call runs one tick, then waits `k` ticks: n calls use n / (1 + k) threads.
        let ticks = company.max(module).div_ceil(self.cores).saturating_sub(1);
        if ticks > 0 {
            self.pauses.fetch_add(1, Ordering::Relaxed);
        }
        EPOCH_TICK * ticks
    }

    /// Ticks so far at which a long call waited its turn.
    pub fn pauses(&self) -> u64 {
        self.pauses.load(Ordering::Relaxed)
    }

    /// Calls counted as long so far.
    pub fn counted_long(&self) -> u64 {
        self.counted_long.load(Ordering::Relaxed)
    }

    /// Long calls in progress of `company_id`.
    pub fn long_calls(&self, company_id: i64) -> u32 {
        self.long.lock().expect("cpu share lock").company(company_id)
    }
}

impl Drop for LongCall {
    fn drop(&mut self) {
        self.share.long.lock().expect("cpu share lock").remove(&self.module, self.company_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_calls_over_the_share_pause_in_proportion() {
        let share = CpuShare::new(1);
        let first = share.long_call(1, "m");
        assert_eq!(share.pause(1, "m"), Duration::ZERO, "one long call runs freely");
        let calls: Vec<_> = (0..3).map(|_| share.long_call(1, "m")).collect();
        assert_eq!(share.pause(1, "m"), EPOCH_TICK * 3, "four calls share one thread");
        assert_eq!(share.pauses(), 1);
        assert_eq!(share.pause(2, "other"), Duration::ZERO, "another company and module are not slowed");
        drop(calls);
        drop(first);
        assert_eq!(share.long_calls(1), 0);
        assert_eq!(share.pause(1, "m"), Duration::ZERO);
    }

    #[test]
    fn a_module_shared_by_companies_is_bounded_too() {
        let share = CpuShare::new(2);
        let _calls: Vec<_> = (0..6).map(|company| share.long_call(company, "busy")).collect();
        assert_eq!(share.pause(0, "busy"), EPOCH_TICK * 2, "six long calls of one module share two threads");
    }
}
