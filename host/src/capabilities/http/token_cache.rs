//! The access tokens the OAuth broker ([`super::oauth`]) holds, per integration and client,
//! in memory only. Each key has its own async lock, so concurrent calls of one integration
//! wait for one token request instead of each sending their own; tokens are kept until a
//! margin before they expire, zeroized when dropped, and the number of keys is bounded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::request::OAuthClient;

/// How long before its expiry a token is no longer used: longer than any call may last, so
/// a token handed to a request is still valid when the gateway reads it.
pub const RENEW_MARGIN: Duration = Duration::from_secs(60);
/// Lifetime assumed when the token endpoint does not say (`expires_in` missing).
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(300);
/// Longest a token is kept, whatever the endpoint says.
pub const MAX_LIFETIME: Duration = Duration::from_secs(86_400);
/// Keys (integration × client × credential values) held at once.
pub const MAX_KEYS: usize = 4096;

/// Whose token: the integration, the client as the provider named it, and a digest of the
/// credential values, so a changed secret never gets the old secret's token.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TokenKey {
    integration_id: i64,
    client: OAuthClient,
    credentials: [u8; 32],
}

/// A token and when it is to be renewed.
pub struct CachedToken {
    pub token: Zeroizing<String>,
    pub renew_at: Instant,
}

/// One key's token, behind its own lock.
pub type TokenSlot = Arc<tokio::sync::Mutex<Option<CachedToken>>>;

pub struct TokenCache {
    slots: Mutex<HashMap<TokenKey, TokenSlot>>,
    /// Salt of the credential digests: they are never comparable across processes.
    salt: [u8; 32],
    margin: Duration,
    max_keys: usize,
}

impl Default for TokenCache {
    fn default() -> Self {
        Self::new(RENEW_MARGIN, MAX_KEYS)
    }
}

impl TokenCache {
    pub fn new(margin: Duration, max_keys: usize) -> Self {
        Self { slots: Mutex::default(), salt: rand::random(), margin, max_keys: max_keys.max(1) }
    }

    pub fn key(&self, integration_id: i64, client: &OAuthClient, client_id: &str, client_secret: &str) -> TokenKey {
        let mut digest = Sha256::new();
        digest.update(self.salt);
        for value in [client_id, client_secret] {
            digest.update((value.len() as u64).to_le_bytes());
            digest.update(value.as_bytes());
        }
        TokenKey { integration_id, client: client.clone(), credentials: digest.finalize().into() }
    }

    /// The key's slot, made when missing. Slots of the same integration and client under
    /// other credential values are dropped (their secret changed); when the cache is full,
    /// idle slots are dropped, empty or soonest-expiring first. If every slot is busy the
    /// caller gets a slot of its own that is not kept.
    pub fn slot(&self, key: &TokenKey) -> TokenSlot {
        let mut slots = self.slots.lock().expect("token cache lock");
        if let Some(slot) = slots.get(key) {
            return slot.clone();
        }
        slots.retain(|other, slot| {
            !(other.integration_id == key.integration_id && other.client == key.client && is_idle(slot))
        });
        if slots.len() >= self.max_keys {
            let now = Instant::now();
            slots.retain(|_, slot| {
                !is_idle(slot) || slot.try_lock().is_ok_and(|t| t.as_ref().is_some_and(|t| t.renew_at > now))
            });
        }
        if slots.len() >= self.max_keys {
            let soonest = slots
                .iter()
                .filter(|(_, slot)| is_idle(slot))
                .filter_map(|(key, slot)| Some((key.clone(), slot.try_lock().ok()?.as_ref()?.renew_at)))
                .min_by_key(|(_, renew_at)| *renew_at)
                .map(|(key, _)| key);
            match soonest {
                Some(soonest) => {
                    slots.remove(&soonest);
                }
                None => return TokenSlot::default(),
            }
        }
        slots.entry(key.clone()).or_default().clone()
    }

    /// When a token issued now, valid for `expires_in` (as the endpoint said, if it did),
    /// is to be renewed; None when it must not be reused at all.
    pub fn renew_at(&self, now: Instant, expires_in: Option<u64>) -> Option<Instant> {
        let lifetime = expires_in.map(Duration::from_secs).unwrap_or(DEFAULT_LIFETIME).min(MAX_LIFETIME);
        lifetime.checked_sub(self.margin).filter(|kept| !kept.is_zero()).map(|kept| now + kept)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.slots.lock().unwrap().len()
    }
}

/// Nobody but the cache holds the slot (no call is waiting on it or filling it).
fn is_idle(slot: &TokenSlot) -> bool {
    Arc::strong_count(slot) == 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(scope: Option<&str>) -> OAuthClient {
        OAuthClient {
            token_url: "https://api.example.com/v1/oauth2/token".into(),
            client_id: "client_id".into(),
            client_secret: "client_secret".into(),
            scope: scope.map(str::to_string),
        }
    }

    async fn fill(slot: &TokenSlot, token: &str, renew_at: Instant) {
        *slot.lock().await = Some(CachedToken { token: Zeroizing::new(token.into()), renew_at });
    }

    #[test]
    fn keys_differ_by_integration_client_scope_and_credential_values() {
        let cache = TokenCache::default();
        let key = cache.key(1, &client(None), "id", "secret");
        assert_eq!(key, cache.key(1, &client(None), "id", "secret"));
        assert_ne!(key, cache.key(2, &client(None), "id", "secret"));
        assert_ne!(key, cache.key(1, &client(Some("read")), "id", "secret"));
        assert_ne!(key, cache.key(1, &client(None), "id", "changed"));
        // Lengths are part of the digest: the split between id and secret counts.
        assert_ne!(cache.key(1, &client(None), "ab", "c"), cache.key(1, &client(None), "a", "bc"));
    }

    #[test]
    fn tokens_are_renewed_a_margin_before_they_expire() {
        let cache = TokenCache::default();
        let now = Instant::now();
        assert_eq!(cache.renew_at(now, Some(32_400)), Some(now + Duration::from_secs(32_340)));
        assert_eq!(cache.renew_at(now, None), Some(now + DEFAULT_LIFETIME - RENEW_MARGIN));
        assert_eq!(cache.renew_at(now, Some(u64::MAX)), Some(now + MAX_LIFETIME - RENEW_MARGIN));
        for short in [0, 45, 60] {
            assert_eq!(cache.renew_at(now, Some(short)), None, "{short} s is within the margin");
        }
    }

    #[tokio::test]
    async fn one_slot_per_key_and_a_changed_secret_drops_the_old_token() {
        let cache = TokenCache::default();
        let old = cache.key(1, &client(None), "id", "old");
        let slot = cache.slot(&old);
        assert!(Arc::ptr_eq(&slot, &cache.slot(&old)));
        fill(&slot, "tok-old", Instant::now() + Duration::from_secs(600)).await;
        drop(slot);
        let other_integration = cache.key(2, &client(None), "id", "old");
        drop(cache.slot(&other_integration));
        let new = cache.key(1, &client(None), "id", "new");
        assert!(cache.slot(&new).lock().await.is_none());
        assert_eq!(cache.len(), 2, "the old secret's slot is gone, the other integration's stays");
    }

    #[tokio::test]
    async fn the_cache_stays_bounded_and_keeps_busy_slots() {
        let cache = TokenCache::new(RENEW_MARGIN, 4);
        let later = Instant::now() + Duration::from_secs(600);
        let busy = cache.slot(&cache.key(100, &client(None), "id", "s"));
        for integration in 0..10 {
            let slot = cache.slot(&cache.key(integration, &client(None), "id", "s"));
            fill(&slot, "tok", later + Duration::from_secs(integration as u64)).await;
        }
        assert_eq!(cache.len(), 4);
        assert!(Arc::ptr_eq(&busy, &cache.slot(&cache.key(100, &client(None), "id", "s"))), "a busy slot is kept");
        // The kept ones are the latest to expire.
        assert!(cache.slots.lock().unwrap().keys().any(|key| key.integration_id == 9));
        assert!(!cache.slots.lock().unwrap().keys().any(|key| key.integration_id == 0));
    }
}
