//! The integrations the public webhook URLs serve, kept in memory with their decrypted
//! credentials: a gateway's webhook then costs no read of the integration, no read of its
//! credentials and no decryption before the provider verifies it (issue 14: reads were 18 % of
//! a capture's profile, these two among them).
//!
//! **Never older than an edit.** An entry is the integration at one revision with the
//! credentials read after it. Every edit this host makes forgets its integration once the edit's
//! COMMIT has returned (whether it succeeded or not), and on PostgreSQL every host compares
//! the count of committed edits (`integration_changes`, kept by a trigger in each edit's own
//! transaction) with the one it saw every [`FOLLOW_EVERY`], forgetting everything when it
//! moved: another host's edit (new credentials, a delete) reaches this host's webhooks within
//! that. A read that began before a forget is not kept ([`Reading`]), so a read racing an edit
//! cannot put the old integration back after the edit was forgotten. The credentials of the
//! other calls (initiate, refund, sync) come from here only when the cached entry is at the
//! revision the call just read from the database, so for them nothing is ever older.
//!
//! **Bounded.** At most [`IntegrationCache::MOST`] entries holding at most
//! [`IntegrationCache::MOST_BYTES`] of text; beyond either everything is forgotten and read
//! again (as [`super::metering::ModulesOf`] does). An integration whose text is over
//! [`IntegrationCache::ENTRY_BYTES`] (credential values can be as long as a request body) is
//! served but never kept, so a tenant with many integrations and huge values cannot make the
//! cache hold them: memory stays what it was without a cache. The values are [`Zeroizing`]
//! and wiped when their entry goes.
//!
//! [`Zeroizing`]: zeroize::Zeroizing

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::store::credentials::{self, StoredCredential};
use crate::store::integrations::{self, IntegrationRow};
use crate::store::WriteTx;

use super::{App, ServiceError};

/// How often a host on PostgreSQL compares the count of committed integration edits with
/// the one it saw: the longest another host's edit can take to reach this host's webhooks.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(250);

/// An integration as the webhook path uses it.
pub struct CachedIntegration {
    pub row: IntegrationRow,
    pub credentials: HashMap<String, StoredCredential>,
}

impl CachedIntegration {
    /// The bytes of text it holds (its row's and its credentials' names and values).
    fn bytes(&self) -> usize {
        let row = &self.row;
        let texts =
            [&row.module, &row.name, &row.integration_category, &row.payment_state, &row.payment_integration_type]
                .iter()
                .map(|text| text.len())
                .sum::<usize>();
        let optional = [&row.description, &row.payment_display_name, &row.last_synced_date]
            .iter()
            .map(|text| text.as_ref().map_or(0, String::len))
            .sum::<usize>();
        let credentials = self.credentials.iter().map(|(name, stored)| name.len() + stored.value.len()).sum::<usize>();
        texts + optional + credentials + row.created_at.len() + row.updated_at.len()
    }
}

/// A read of the database begun at one generation of the cache: kept only if nothing was
/// forgotten since.
pub struct Reading(u64);

#[derive(Default)]
pub struct IntegrationCache(Mutex<Entries>);

#[derive(Default)]
struct Entries {
    /// Raised by every forget.
    generation: u64,
    /// PostgreSQL: the count of committed edits last compared.
    changes_seen: Option<i64>,
    by_id: HashMap<i64, Arc<CachedIntegration>>,
    /// The text the entries hold ([`CachedIntegration::bytes`]).
    bytes: usize,
}

impl Entries {
    fn clear(&mut self) {
        self.by_id.clear();
        self.bytes = 0;
    }

    fn remove(&mut self, id: i64) {
        if let Some(entry) = self.by_id.remove(&id) {
            self.bytes -= entry.bytes();
        }
    }
}

impl IntegrationCache {
    pub const MOST: usize = 10_000;
    pub const MOST_BYTES: usize = 32 << 20;
    pub const ENTRY_BYTES: usize = 64 << 10;

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves nothing half-done: every change is one call.
        self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub fn get(&self, id: i64) -> Option<Arc<CachedIntegration>> {
        self.entries().by_id.get(&id).cloned()
    }

    /// Call before reading what [`IntegrationCache::keep`] will be given.
    pub fn begin(&self) -> Reading {
        Reading(self.entries().generation)
    }

    /// Keeps `entry` unless something was forgotten since `reading` began; answers it either
    /// way.
    pub fn keep(&self, reading: Reading, entry: CachedIntegration) -> Arc<CachedIntegration> {
        let entry = Arc::new(entry);
        let bytes = entry.bytes();
        let mut entries = self.entries();
        if entries.generation == reading.0 && bytes <= Self::ENTRY_BYTES {
            entries.remove(entry.row.id);
            if entries.by_id.len() >= Self::MOST || entries.bytes + bytes > Self::MOST_BYTES {
                entries.clear();
            }
            entries.bytes += bytes;
            entries.by_id.insert(entry.row.id, entry.clone());
        }
        entry
    }

    /// Forgets integration `id` (edited or deleted by this host).
    pub fn forget(&self, id: i64) {
        let mut entries = self.entries();
        entries.generation += 1;
        entries.remove(id);
    }

    /// Forgets everything if `count` (committed edits on every host) moved since the last
    /// comparison; true when it did.
    pub fn compare_changes(&self, count: i64) -> bool {
        let mut entries = self.entries();
        if entries.changes_seen == Some(count) {
            return false;
        }
        entries.changes_seen = Some(count);
        entries.generation += 1;
        entries.clear();
        true
    }

    /// The cached credentials of `row` if the entry is at `row`'s revision.
    pub fn credentials_at(&self, row: &IntegrationRow) -> Option<HashMap<String, StoredCredential>> {
        let entry = self.get(row.id)?;
        (entry.row.revision == row.revision).then(|| entry.credentials.clone())
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.entries().by_id.len()
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[cfg(test)]
    /// The text the entries hold.
    pub fn bytes(&self) -> usize {
        self.entries().bytes
    }
}

impl App {
    /// Commits an edit of integration `id` and forgets it here, whatever the COMMIT answered
    /// (a COMMIT whose answer was lost may still have taken effect).
    pub(crate) async fn commit_edit(&self, tx: WriteTx, id: i64) -> Result<(), ServiceError> {
        let committed = tx.commit().await;
        self.integration_cache.forget(id);
        Ok(committed?)
    }

    /// Integration `id` with its credentials, from the cache or read (and kept); None when it
    /// does not exist.
    pub(crate) async fn cached_integration(&self, id: i64) -> Result<Option<Arc<CachedIntegration>>, ServiceError> {
        if let Some(entry) = self.integration_cache.get(id) {
            self.meters().integration_cache_lookup(true);
            return Ok(Some(entry));
        }
        self.meters().integration_cache_lookup(false);
        let reading = self.integration_cache.begin();
        let Some(row) = integrations::get(self.db.read(), id).await? else { return Ok(None) };
        let credentials = credentials::all(self.db.read(), &self.keys, id).await?;
        Ok(Some(self.integration_cache.keep(reading, CachedIntegration { row, credentials })))
    }

    /// The credentials of `row` (just read): the cache's when it holds this revision, else
    /// read.
    pub(crate) async fn credentials_of(
        &self,
        row: &IntegrationRow,
    ) -> Result<HashMap<String, StoredCredential>, ServiceError> {
        if let Some(values) = self.integration_cache.credentials_at(row) {
            return Ok(values);
        }
        Ok(credentials::all(self.db.read(), &self.keys, row.id).await?)
    }

    /// On PostgreSQL, follows other hosts' edits of integrations: every [`FOLLOW_EVERY`],
    /// forgets the cache when the count of committed edits moved.
    pub fn spawn_integration_cache_follower(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let app = self.clone();
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(FOLLOW_EVERY);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = app.stop_signal() => break,
                }
                match integrations::change_count(app.db.read()).await {
                    Ok(count) => {
                        app.integration_cache.compare_changes(count);
                    }
                    Err(error) => {
                        // Nothing is known: forget everything, so no webhook is served from an
                        // entry that may be older than an edit this host could not hear of.
                        tracing::warn!(%error, "could not read the count of integration edits");
                        app.integration_cache.compare_changes(i64::MIN);
                    }
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64, revision: i64) -> IntegrationRow {
        IntegrationRow {
            id,
            company_id: 1,
            module: "payment_mygateway".into(),
            name: "MyGateway".into(),
            description: None,
            integration_category: "Online Payment".into(),
            enabled: 1,
            payment_state: "Test".into(),
            payment_integration_type: "Redirect".into(),
            payment_display_name: None,
            payment_sequence: 10,
            last_synced_date: None,
            created_at: String::new(),
            updated_at: String::new(),
            revision,
        }
    }

    fn entry(id: i64, revision: i64) -> CachedIntegration {
        CachedIntegration { row: row(id, revision), credentials: HashMap::new() }
    }

    #[test]
    fn a_read_begun_before_a_forget_is_answered_but_not_kept() {
        let cache = IntegrationCache::default();
        let reading = cache.begin();
        // An edit of another integration commits while the read is on its way.
        cache.forget(2);
        let answered = cache.keep(reading, entry(1, 0));
        assert_eq!(answered.row.id, 1);
        assert!(cache.get(1).is_none(), "kept a read older than a forget");

        let reading = cache.begin();
        cache.keep(reading, entry(1, 0));
        assert_eq!(cache.get(1).map(|e| e.row.revision), Some(0));
        cache.forget(1);
        assert!(cache.get(1).is_none());
    }

    #[test]
    fn credentials_are_served_only_at_the_revision_read() {
        let cache = IntegrationCache::default();
        let mut cached = entry(1, 3);
        cached
            .credentials
            .insert("api_key".into(), StoredCredential { value: zeroize::Zeroizing::new("k".into()), secret: true });
        cache.keep(cache.begin(), cached);
        assert!(cache.credentials_at(&row(1, 3)).is_some_and(|values| values.contains_key("api_key")));
        assert!(cache.credentials_at(&row(1, 4)).is_none(), "a newer revision reads again");
        assert!(cache.credentials_at(&row(2, 3)).is_none());
    }

    #[test]
    fn a_moved_count_of_edits_forgets_everything_once() {
        let cache = IntegrationCache::default();
        assert!(cache.compare_changes(7), "the first comparison knows nothing");
        cache.keep(cache.begin(), entry(1, 0));
        cache.keep(cache.begin(), entry(2, 0));
        let reading = cache.begin();
        assert!(!cache.compare_changes(7));
        assert_eq!(cache.len(), 2);
        assert!(cache.compare_changes(8));
        assert!(cache.is_empty());
        cache.keep(reading, entry(3, 0));
        assert!(cache.get(3).is_none(), "a read begun before the count moved is not kept");
    }

    fn with_secret(id: i64, length: usize) -> CachedIntegration {
        let mut cached = entry(id, 0);
        let value = zeroize::Zeroizing::new("s".repeat(length));
        cached.credentials.insert("secret".into(), StoredCredential { value, secret: true });
        cached
    }

    #[test]
    fn huge_credentials_are_served_but_never_kept_and_the_text_is_bounded() {
        let cache = IntegrationCache::default();
        let huge = cache.keep(cache.begin(), with_secret(1, IntegrationCache::ENTRY_BYTES));
        assert_eq!(huge.credentials["secret"].value.len(), IntegrationCache::ENTRY_BYTES, "served whole");
        assert!(cache.get(1).is_none() && cache.bytes() == 0, "a huge entry was kept");

        // Entries just under the per-entry bound fill the byte budget, then it starts over.
        let each = IntegrationCache::ENTRY_BYTES - 200;
        let fit = IntegrationCache::MOST_BYTES / (each + 100);
        for id in 0..fit as i64 + 3 {
            cache.keep(cache.begin(), with_secret(id, each));
            assert!(cache.bytes() <= IntegrationCache::MOST_BYTES, "{} bytes", cache.bytes());
        }
        assert!(cache.len() < fit, "it started over once full: {}", cache.len());

        // Forgetting and replacing keep the count exact.
        let before = cache.bytes();
        let last = fit as i64 + 2;
        cache.keep(cache.begin(), with_secret(last, 10));
        assert!(cache.bytes() < before);
        cache.forget(last);
        cache.compare_changes(1);
        assert_eq!((cache.len(), cache.bytes()), (0, 0));
    }

    #[test]
    fn it_holds_at_most_most_entries() {
        let cache = IntegrationCache::default();
        for id in 0..IntegrationCache::MOST as i64 + 5 {
            cache.keep(cache.begin(), entry(id, 0));
        }
        assert!(cache.len() <= IntegrationCache::MOST, "{}", cache.len());
        assert_eq!(cache.len(), 5, "cleared once full, then filled again");
    }
}
