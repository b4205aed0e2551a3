//! The `cache` import: a small in-memory key/value store per integration with expiry, for
//! things like OAuth tokens. Bounded per integration; entries may vanish on restart. A key or
//! value over its ceiling fails the call where the arguments leave the guest
//! (`runtime::imports`; the WIT states the limits).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::runtime::bindings::v1::integrations::provider::cache;

use super::CallContext;

use crate::runtime::ceilings::{CACHE_KEY as MAX_KEY_BYTES, CACHE_VALUE as MAX_VALUE_BYTES};

const MAX_ENTRIES_PER_INTEGRATION: usize = 64;
const MAX_TTL: Duration = Duration::from_secs(86_400);

/// One integration's entries: key → (value, expiry).
type Entries = HashMap<String, (String, Instant)>;

#[derive(Default)]
pub struct ProviderCache {
    entries: Mutex<HashMap<i64, Entries>>,
}

impl ProviderCache {
    pub fn get(&self, integration_id: i64, key: &str) -> Option<String> {
        let mut all = self.entries.lock().expect("cache lock");
        let entries = all.get_mut(&integration_id)?;
        match entries.get(key) {
            Some((value, expires)) if *expires > Instant::now() => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    /// Stores a value; oversized keys or values are ignored (the cache is best effort).
    pub fn set(&self, integration_id: i64, key: String, value: String, ttl: Duration) {
        if key.len() > MAX_KEY_BYTES || value.len() > MAX_VALUE_BYTES || ttl.is_zero() {
            return;
        }
        let now = Instant::now();
        let mut all = self.entries.lock().expect("cache lock");
        let entries = all.entry(integration_id).or_default();
        if entries.len() >= MAX_ENTRIES_PER_INTEGRATION && !entries.contains_key(&key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= MAX_ENTRIES_PER_INTEGRATION {
                let soonest = entries.iter().min_by_key(|(_, (_, expires))| *expires).map(|(k, _)| k.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key, (value, now + ttl.min(MAX_TTL)));
    }

    pub fn delete(&self, integration_id: i64, key: &str) {
        if let Some(entries) = self.entries.lock().expect("cache lock").get_mut(&integration_id) {
            entries.remove(key);
        }
    }
}

impl cache::Host for CallContext {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.services.cache.get(self.integration.integration_id, &key))
    }

    fn set(&mut self, key: String, value: String, ttl_seconds: u32) -> wasmtime::Result<()> {
        let ttl = Duration::from_secs(u64::from(ttl_seconds));
        self.services.cache.set(self.integration.integration_id, key, value, ttl);
        Ok(())
    }

    fn delete(&mut self, key: String) -> wasmtime::Result<()> {
        self.services.cache.delete(self.integration.integration_id, &key);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_per_integration_and_expire() {
        let cache = ProviderCache::default();
        cache.set(1, "token".into(), "a".into(), Duration::from_secs(60));
        assert_eq!(cache.get(1, "token").as_deref(), Some("a"));
        assert_eq!(cache.get(2, "token"), None, "another integration sees nothing");
        cache.set(1, "gone".into(), "b".into(), Duration::from_nanos(1));
        std::thread::yield_now();
        assert_eq!(cache.get(1, "gone"), None);
    }

    #[test]
    fn stays_bounded() {
        let cache = ProviderCache::default();
        for i in 0..(MAX_ENTRIES_PER_INTEGRATION * 3) {
            cache.set(1, format!("k{i}"), "v".into(), Duration::from_secs(60));
        }
        assert_eq!(cache.entries.lock().unwrap()[&1].len(), MAX_ENTRIES_PER_INTEGRATION);
        cache.set(1, "big".into(), "x".repeat(MAX_VALUE_BYTES + 1), Duration::from_secs(60));
        assert_eq!(cache.get(1, "big"), None);
    }
}
