//! The public webhook URLs' bound: anyone can call them, so each integration gets at most
//! `concurrent` webhook calls in progress and, of those, at most `unverified` whose signature
//! the provider has not yet accepted. A call past either bound is refused at once (429 with
//! `Retry-After`), before any sandbox is asked for; refusals are counted and logged once per
//! burst. With the company's share of sandbox slots (`runtime::slots`), a flood of one
//! company's URL never makes another company wait.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use crate::telemetry::BurstLog;

use super::ServiceError;

/// The bounds, per integration.
#[derive(Debug, Clone, Copy)]
pub struct WebhookLimits {
    pub concurrent: u32,
    pub unverified: u32,
}

impl Default for WebhookLimits {
    fn default() -> Self {
        Self { concurrent: 64, unverified: 32 }
    }
}

#[derive(Default)]
struct InProgress {
    all: u32,
    unverified: u32,
}

/// Refusals so far, by bound.
#[derive(Debug, Default)]
pub struct WebhookGateStats {
    pub refused_concurrent: AtomicU64,
    pub refused_unverified: AtomicU64,
}

#[derive(Default)]
pub struct WebhookGate {
    limits: WebhookLimits,
    calls: Mutex<HashMap<i64, InProgress>>,
    burst: BurstLog,
    pub stats: WebhookGateStats,
}

/// A webhook call in progress; unverified until [`WebhookTicket::verified`].
pub struct WebhookTicket<'a> {
    gate: &'a WebhookGate,
    integration_id: i64,
    unverified: bool,
}

impl WebhookGate {
    pub fn new(limits: WebhookLimits) -> Self {
        Self { limits, ..Self::default() }
    }

    /// Admits a webhook call for `integration_id`, or refuses it when a bound is reached.
    pub fn enter(&self, integration_id: i64) -> Result<WebhookTicket<'_>, ServiceError> {
        let mut calls = self.calls.lock().expect("webhook gate lock");
        let current = calls.entry(integration_id).or_default();
        let refused = if current.all >= self.limits.concurrent {
            Some((&self.stats.refused_concurrent, "concurrent", self.limits.concurrent))
        } else if current.unverified >= self.limits.unverified {
            Some((&self.stats.refused_unverified, "unverified", self.limits.unverified))
        } else {
            None
        };
        if let Some((counter, bound, limit)) = refused {
            if current.all == 0 {
                calls.remove(&integration_id);
            }
            drop(calls);
            counter.fetch_add(1, Ordering::Relaxed);
            if let Some(not_logged) = self.burst.note(&format!("{bound} {integration_id}")) {
                tracing::warn!(
                    integration_id,
                    bound,
                    limit,
                    refused_since_last_line = not_logged,
                    "webhook refused: the integration has as many webhook calls in progress as it may"
                );
            }
            return Err(ServiceError::Throttled(format!(
                "Integration {integration_id} has {limit} {bound} webhook calls in progress, as many as it may; try again shortly."
            )));
        }
        current.all += 1;
        current.unverified += 1;
        Ok(WebhookTicket { gate: self, integration_id, unverified: true })
    }

    /// Calls in progress for `integration_id`: all, and unverified.
    pub fn in_progress(&self, integration_id: i64) -> (u32, u32) {
        let calls = self.calls.lock().expect("webhook gate lock");
        calls.get(&integration_id).map(|c| (c.all, c.unverified)).unwrap_or((0, 0))
    }

    fn leave(&self, integration_id: i64, unverified: bool) {
        let mut calls = self.calls.lock().expect("webhook gate lock");
        if let Some(current) = calls.get_mut(&integration_id) {
            current.all -= 1;
            if unverified {
                current.unverified -= 1;
            }
            if current.all == 0 {
                calls.remove(&integration_id);
            }
        }
    }
}

impl WebhookTicket<'_> {
    /// The provider accepted the signature: the call no longer counts as unverified.
    pub fn verified(&mut self) {
        if std::mem::take(&mut self.unverified) {
            let mut calls = self.gate.calls.lock().expect("webhook gate lock");
            if let Some(current) = calls.get_mut(&self.integration_id) {
                current.unverified -= 1;
            }
        }
    }
}

impl Drop for WebhookTicket<'_> {
    fn drop(&mut self) {
        self.gate.leave(self.integration_id, self.unverified);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unverified_calls_are_bounded_below_all_calls() {
        let gate = WebhookGate::new(WebhookLimits { concurrent: 3, unverified: 2 });
        let mut first = gate.enter(1).unwrap();
        let _second = gate.enter(1).unwrap();
        assert!(gate.enter(1).is_err(), "two unverified calls are the bound");
        assert!(gate.enter(2).is_ok(), "another integration is not affected");
        first.verified();
        let _third = gate.enter(1).unwrap();
        assert!(gate.enter(1).is_err(), "three calls in all are the bound");
        assert_eq!(gate.in_progress(1), (3, 2));
        assert_eq!(gate.stats.refused_unverified.load(Ordering::Relaxed), 1);
        assert_eq!(gate.stats.refused_concurrent.load(Ordering::Relaxed), 1);
        drop(first);
        assert_eq!(gate.in_progress(1), (2, 2));
    }

    #[test]
    fn counts_return_to_zero() {
        let gate = WebhookGate::default();
        drop(gate.enter(7).unwrap());
        let mut verified = gate.enter(7).unwrap();
        verified.verified();
        drop(verified);
        assert_eq!(gate.in_progress(7), (0, 0));
        assert!(gate.calls.lock().unwrap().is_empty());
    }
}
