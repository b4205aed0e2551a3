//! Sandbox slots, shared fairly. The host runs at most `total` sandboxes at once; each module
//! and each company may hold at most its share of them, so a module whose gateway hangs or a
//! company flooding its own URLs fills only its share and never makes another wait. A call
//! over a share, or finding every slot taken, waits up to `wait` for room, then is refused
//! with the reason. Refusals are counted.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::tally::Tally;
use crate::telemetry::BurstLog;

/// How the slots are shared.
#[derive(Debug, Clone, Copy)]
pub struct SlotPolicy {
    pub total: u32,
    /// Most slots one module (all its integrations, every company) may hold.
    pub module_share: u32,
    /// Most slots one company (all its integrations) may hold.
    pub company_share: u32,
    /// How long a call waits for room before it is refused.
    pub wait: Duration,
}

impl SlotPolicy {
    /// Half of the slots per module and a quarter per company (at least one each).
    pub fn with_default_shares(total: u32, wait: Duration) -> Self {
        Self { total, module_share: (total / 2).max(1), company_share: (total / 4).max(1), wait }
    }
}

/// Why a call got no slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotRefusal {
    /// The module holds its whole share.
    ModuleShare,
    /// The company holds its whole share.
    CompanyShare,
    /// Every slot is taken.
    Full,
}

#[derive(Default)]
struct Held {
    total: u32,
    by_share: Tally,
    /// Calls of each module that found no room at first and had to wait.
    waited: HashMap<String, u64>,
    /// Calls waiting for room now.
    waiting: u32,
}

/// Counts of refusals and of slots in use, for operators and tests.
#[derive(Debug, Default)]
pub struct SlotStats {
    pub refused_module_share: AtomicU64,
    pub refused_company_share: AtomicU64,
    pub refused_full: AtomicU64,
}

pub struct SandboxSlots {
    policy: SlotPolicy,
    held: Mutex<Held>,
    freed: Notify,
    burst: BurstLog,
    pub stats: SlotStats,
}

/// A call counted as waiting for a slot until dropped (also when its future is dropped).
struct Waiting<'a>(&'a SandboxSlots);

impl<'a> Waiting<'a> {
    fn enter(slots: &'a SandboxSlots) -> Self {
        slots.held.lock().expect("slots lock").waiting += 1;
        Self(slots)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.held.lock().expect("slots lock").waiting -= 1;
    }
}

/// One slot, held until dropped.
pub struct SlotPermit {
    slots: Arc<SandboxSlots>,
    module: String,
    company_id: i64,
}

impl SandboxSlots {
    pub fn new(policy: SlotPolicy) -> Arc<Self> {
        Arc::new(Self {
            policy,
            held: Mutex::default(),
            freed: Notify::new(),
            burst: BurstLog::default(),
            stats: SlotStats::default(),
        })
    }

    pub fn policy(&self) -> SlotPolicy {
        self.policy
    }

    /// Slots in use: in all, by `module` and by `company_id`.
    pub fn in_use(&self, module: &str, company_id: i64) -> (u32, u32, u32) {
        let held = self.held.lock().expect("slots lock");
        let (module, company) = held.by_share.get(module, company_id);
        (held.total, module, company)
    }

    /// Slots in use and calls waiting for one, now.
    pub fn occupancy(&self) -> (u32, u32) {
        let held = self.held.lock().expect("slots lock");
        (held.total, held.waiting)
    }

    /// Calls of `module` that had to wait for room (they found its share, their company's or
    /// the host full).
    pub fn waited(&self, module: &str) -> u64 {
        self.held.lock().expect("slots lock").waited.get(module).copied().unwrap_or(0)
    }

    /// Takes a slot for a call of `module` serving `company_id`, waiting up to the policy's
    /// wait for room.
    pub async fn acquire(self: &Arc<Self>, module: &str, company_id: i64) -> Result<SlotPermit, SlotRefusal> {
        let deadline = tokio::time::Instant::now() + self.policy.wait;
        let mut first_try = true;
        loop {
            let freed = self.freed.notified();
            tokio::pin!(freed);
            // Registered before looking, so a slot freed in between still wakes this call.
            freed.as_mut().enable();
            let blocked = match self.try_take(module, company_id) {
                Ok(permit) => return Ok(permit),
                Err(reason) => reason,
            };
            if std::mem::take(&mut first_try) {
                *self.held.lock().expect("slots lock").waited.entry(module.to_string()).or_default() += 1;
            }
            let waited = {
                let _waiting = Waiting::enter(self);
                tokio::time::timeout_at(deadline, freed).await
            };
            if waited.is_err() {
                self.count(blocked, module, company_id);
                return Err(blocked);
            }
        }
    }

    fn try_take(self: &Arc<Self>, module: &str, company_id: i64) -> Result<SlotPermit, SlotRefusal> {
        let mut held = self.held.lock().expect("slots lock");
        let (by_module, by_company) = held.by_share.get(module, company_id);
        if by_module >= self.policy.module_share {
            return Err(SlotRefusal::ModuleShare);
        }
        if by_company >= self.policy.company_share {
            return Err(SlotRefusal::CompanyShare);
        }
        if held.total >= self.policy.total {
            return Err(SlotRefusal::Full);
        }
        held.total += 1;
        held.by_share.add(module, company_id);
        Ok(SlotPermit { slots: self.clone(), module: module.to_string(), company_id })
    }

    /// Counts a refusal and logs the first of each burst.
    fn count(&self, refusal: SlotRefusal, module: &str, company_id: i64) {
        let (counter, reason) = match refusal {
            SlotRefusal::ModuleShare => (&self.stats.refused_module_share, "module share"),
            SlotRefusal::CompanyShare => (&self.stats.refused_company_share, "company share"),
            SlotRefusal::Full => (&self.stats.refused_full, "every slot taken"),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(not_logged) = self.burst.note(&format!("{reason} {module} {company_id}")) {
            tracing::warn!(
                module,
                company_id,
                reason,
                refused_since_last_line = not_logged,
                "provider call refused: no sandbox slot within its share"
            );
        }
    }

    fn release(&self, module: &str, company_id: i64) {
        let mut held = self.held.lock().expect("slots lock");
        held.total -= 1;
        held.by_share.remove(module, company_id);
        drop(held);
        self.freed.notify_waiters();
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        self.slots.release(&self.module, self.company_id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slots(total: u32, module_share: u32, company_share: u32) -> Arc<SandboxSlots> {
        SandboxSlots::new(SlotPolicy { total, module_share, company_share, wait: Duration::from_millis(20) })
    }

    #[tokio::test]
    async fn a_company_at_its_share_leaves_room_for_others() {
        let slots = slots(4, 4, 2);
        let _a = slots.acquire("m", 1).await.unwrap();
        let _b = slots.acquire("m", 1).await.unwrap();
        assert_eq!(slots.acquire("m", 1).await.err(), Some(SlotRefusal::CompanyShare));
        let other = slots.acquire("m", 2).await;
        assert!(other.is_ok(), "another company is served at once");
        assert_eq!(slots.stats.refused_company_share.load(Ordering::Relaxed), 1);
    }

    #[tokio::test]
    async fn a_module_at_its_share_leaves_room_for_other_modules() {
        let slots = slots(4, 2, 4);
        let _a = slots.acquire("slow", 1).await.unwrap();
        let _b = slots.acquire("slow", 2).await.unwrap();
        assert_eq!(slots.acquire("slow", 3).await.err(), Some(SlotRefusal::ModuleShare));
        assert!(slots.acquire("fast", 3).await.is_ok());
    }

    #[tokio::test]
    async fn a_freed_slot_wakes_a_waiting_call() {
        let slots = SandboxSlots::new(SlotPolicy {
            total: 1,
            module_share: 1,
            company_share: 1,
            wait: Duration::from_secs(30),
        });
        let first = slots.acquire("m", 1).await.unwrap();
        let waiting = tokio::spawn({
            let slots = slots.clone();
            async move { slots.acquire("m", 1).await.map(drop) }
        });
        // Whichever runs first, the waiter either finds the slot free or is woken by its release.
        drop(first);
        assert_eq!(waiting.await.unwrap(), Ok(()));
        assert_eq!(slots.in_use("m", 1), (0, 0, 0), "every count is back to zero");
    }

    #[test]
    fn default_shares_never_reach_zero() {
        let policy = SlotPolicy::with_default_shares(1, Duration::ZERO);
        assert_eq!((policy.module_share, policy.company_share), (1, 1));
        let policy = SlotPolicy::with_default_shares(64, Duration::ZERO);
        assert_eq!((policy.module_share, policy.company_share), (32, 16));
    }
}
