//! The data keys a host uses: unwrapped once (at start, or the first time another instance's
//! new key is needed) and kept in memory, so a webhook pays one AEAD open per credential and
//! no unwrap. A new scope's key is created and wrapped in one write transaction that first
//! checks the database is still under this host's master key: after a rotation, a host still
//! running with the old key keeps serving with the keys it holds, and answers
//! [`SecretsError::MasterKeyRotated`] (503) instead of writing a key nobody could unwrap.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use zeroize::Zeroizing;

use super::aead::{DoesNotOpen, SymmetricKey};
use super::{KeyId, MasterKey, Scope, SecretsError};
use crate::store::{data_keys, Db};

/// One scope's data key. Its `Debug` names the scope only.
pub struct DataKey {
    scope: Scope,
    key: SymmetricKey,
}

impl fmt::Debug for DataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DataKey").field("scope", &self.scope).finish_non_exhaustive()
    }
}

impl DataKey {
    pub fn scope(&self) -> Scope {
        self.scope
    }

    pub(crate) fn seal(&self, associated: &[u8], plaintext: &str) -> Vec<u8> {
        self.key.seal(associated, plaintext.as_bytes())
    }

    pub(crate) fn open(&self, associated: &[u8], sealed: &[u8]) -> Result<Zeroizing<String>, DoesNotOpen> {
        self.key.open_text(associated, sealed)
    }
}

/// The master key and the data keys unwrapped so far.
pub struct Keyring {
    db: Db,
    master: MasterKey,
    cache: RwLock<HashMap<Scope, Arc<DataKey>>>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scopes = self.cache.read().map(|c| c.len()).unwrap_or_default();
        f.debug_struct("Keyring").field("master", &self.master).field("data_keys", &scopes).finish()
    }
}

impl Keyring {
    pub(crate) fn new(db: Db, master: MasterKey) -> Self {
        Self { db, master, cache: RwLock::default() }
    }

    pub fn master_key(&self) -> &MasterKey {
        &self.master
    }

    /// The scope's data key; created and wrapped when the scope has none yet.
    pub async fn data_key(&self, scope: Scope) -> Result<Arc<DataKey>, SecretsError> {
        if let Some(key) = self.lookup(scope).await? {
            return Ok(key);
        }
        let mut tx = self.db.tx().await?;
        let (key, _) = self.key_in_transaction(&mut tx, scope).await?;
        tx.commit().await?;
        Ok(self.remember(key))
    }

    /// The scope's data key inside the caller's write transaction, created there when
    /// missing, so a transaction that fails leaves no key behind. Once it committed, pass the
    /// key to [`Keyring::keep`].
    pub async fn data_key_in(
        &self,
        conn: &mut crate::store::WriteConn,
        scope: Scope,
    ) -> Result<Arc<DataKey>, SecretsError> {
        if let Some(key) = self.cached(scope) {
            return Ok(key);
        }
        Ok(self.key_in_transaction(conn, scope).await?.0)
    }

    /// Keeps in memory a key from [`Keyring::data_key_in`] whose transaction committed.
    pub fn keep(&self, key: Arc<DataKey>) {
        self.remember(key);
    }

    /// The scope's data key, which must exist (values are sealed under it).
    pub async fn existing_data_key(&self, scope: Scope) -> Result<Arc<DataKey>, SecretsError> {
        self.lookup(scope).await?.ok_or(SecretsError::DataKeyMissing(scope))
    }

    /// From memory, else from the database (a key another instance created after this one
    /// started). None when the scope has no key.
    async fn lookup(&self, scope: Scope) -> Result<Option<Arc<DataKey>>, SecretsError> {
        if let Some(key) = self.cached(scope) {
            return Ok(Some(key));
        }
        match data_keys::get(self.db.read(), &scope.to_string()).await? {
            Some(row) => Ok(Some(self.remember(Arc::new(self.unwrap_row(scope, &row.wrapped, &row.master_key_id)?)))),
            None => Ok(None),
        }
    }

    /// The scope's key inside the caller's write transaction, created when missing; true when
    /// created (the caller commits, then [`Keyring::remember`]s it). Refused when the database
    /// has moved to another master key.
    pub(super) async fn key_in_transaction(
        &self,
        conn: &mut crate::store::WriteConn,
        scope: Scope,
    ) -> Result<(Arc<DataKey>, bool), SecretsError> {
        let stored = data_keys::master_key_id_locked(&mut *conn).await?;
        if let Some(stored) = stored.filter(|s| *s != self.master.id().0) {
            return Err(self.rotated(stored));
        }
        if let Some(row) = data_keys::get(&mut *conn, &scope.to_string()).await? {
            return Ok((Arc::new(self.unwrap_row(scope, &row.wrapped, &row.master_key_id)?), false));
        }
        let bytes = SymmetricKey::random_bytes();
        let wrapped = self.master.wrap(scope, &bytes);
        data_keys::insert(&mut *conn, &scope.to_string(), &wrapped, &self.master.id().0).await?;
        Ok((Arc::new(DataKey { scope, key: SymmetricKey::new(&bytes) }), true))
    }

    pub(super) fn unwrap_row(&self, scope: Scope, wrapped: &[u8], key_id: &str) -> Result<DataKey, SecretsError> {
        if key_id != self.master.id().0 {
            return Err(self.rotated(key_id.to_string()));
        }
        let bytes = self
            .master
            .unwrap(scope, wrapped)
            .map_err(|DoesNotOpen| SecretsError::DataKeyDamaged { scope, key_id: self.master.id().clone() })?;
        Ok(DataKey { scope, key: SymmetricKey::new(&bytes) })
    }

    fn rotated(&self, stored: String) -> SecretsError {
        SecretsError::MasterKeyRotated {
            own: self.master.id().clone(),
            stored: KeyId(stored),
            path: self.master.path().to_path_buf(),
        }
    }

    pub(super) fn cached(&self, scope: Scope) -> Option<Arc<DataKey>> {
        self.cache.read().expect("keyring lock").get(&scope).cloned()
    }

    /// Keeps a committed key; when another task kept one for the scope first, that one wins
    /// (both are the same stored key).
    pub(super) fn remember(&self, key: Arc<DataKey>) -> Arc<DataKey> {
        let mut cache = self.cache.write().expect("keyring lock");
        cache.entry(key.scope).or_insert(key).clone()
    }

    /// How many data keys this host holds unwrapped.
    pub fn cached_keys(&self) -> usize {
        self.cache.read().expect("keyring lock").len()
    }
}
