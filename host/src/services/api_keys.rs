//! Who a bearer key is: the admin key may do everything; a company API key sees and touches
//! only its company. Keys are stored and compared as SHA-256 hashes, never in the clear.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::store::api_keys;

use super::{random_token, App, Caller, ServiceError};

/// SHA-256 (hex) of a key: what is stored and compared.
pub fn key_hash(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A company API key just made: the key is in this value only (it is stored hashed).
pub struct NewApiKey {
    pub id: i64,
    pub key: String,
}

impl App {
    /// The caller `key` names, or None when it is no key of this host.
    pub async fn authenticate(&self, key: &str) -> Result<Option<Caller>, ServiceError> {
        let hash = key_hash(key);
        if bool::from(hash.as_bytes().ct_eq(self.admin_key_hash.as_bytes())) {
            return Ok(Some(Caller::Admin));
        }
        let found = api_keys::find(self.db.read(), &hash).await?;
        Ok(found.map(|(key_id, company_id)| Caller::Company { key_id, company_id }))
    }

    /// Makes a company API key named `name` (not blank).
    pub async fn create_api_key(&self, company_id: i64, name: &str) -> Result<NewApiKey, ServiceError> {
        if name.trim().is_empty() {
            return Err(ServiceError::invalid("invalid_name", "name: must not be empty"));
        }
        let key = format!("ihk_{}", random_token(32));
        let mut tx = self.db.tx().await?;
        let id = api_keys::insert(&mut *tx, company_id, name, &key_hash(&key)).await?;
        tx.commit().await?;
        Ok(NewApiKey { id, key })
    }
}
