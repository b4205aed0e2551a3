//! `integrations-host rotate-master-key`: every data key unwrapped with the old master key
//! and wrapped under the new one, and the database's recorded master key changed, in one
//! write transaction. Data keys stay the same, so no value is sealed again and hosts keep
//! serving while it runs (they hold their data keys unwrapped). A missing new key file is
//! created (0600). Running it again after it committed changes nothing.

use std::path::{Path, PathBuf};

use super::master_key::KeyFileError;
use super::{KeyId, MasterKey, Scope};
use crate::store::{data_keys, Db};

#[derive(Debug)]
pub struct RotationReport {
    pub rewrapped: usize,
    pub old: KeyId,
    pub new: KeyId,
    /// The new key file did not exist and was created.
    pub created_new_key_file: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum RotationError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error("--old-key-file and --new-key-file hold the same master key ({0})")]
    SameKey(KeyId),
    #[error(
        "the database's data keys are wrapped under master key {stored}, but --old-key-file {} holds {old}: \
         name the key file the database is under",
        .path.display()
    )]
    NotTheOldKey { path: PathBuf, old: KeyId, stored: KeyId },
    #[error("the data key of {scope} does not unwrap under --old-key-file {}: the database row is damaged; nothing was changed", .path.display())]
    DataKeyDamaged { path: PathBuf, scope: String },
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// Re-wraps every data key of `db` from the key in `old_file` to the key in `new_file`. The
/// new key file is created only once the old key is known to be the database's.
pub async fn rotate_master_key(db: &Db, old_file: &Path, new_file: &Path) -> Result<RotationReport, RotationError> {
    let old = MasterKey::read(old_file)?;
    let existing_new = match MasterKey::read(new_file) {
        Ok(key) => Some(key),
        Err(KeyFileError::Unreadable { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => None,
        Err(error) => return Err(error.into()),
    };
    let new_id = existing_new.as_ref().map(|key| key.id().0.clone());
    let is_old_or_new = |id: &str| id == old.id().0 || new_id.as_deref() == Some(id);
    let not_the_old_key = |stored: String| RotationError::NotTheOldKey {
        path: old_file.to_path_buf(),
        old: old.id().clone(),
        stored: KeyId(stored),
    };

    let mut tx = db.tx().await?;
    if let Some(stored) = data_keys::master_key_id_locked(&mut tx).await?.filter(|id| !is_old_or_new(id)) {
        return Err(not_the_old_key(stored));
    }
    let rows = data_keys::all(&mut *tx).await?;
    if let Some(row) = rows.iter().find(|row| !is_old_or_new(&row.master_key_id)) {
        return Err(not_the_old_key(row.master_key_id.clone()));
    }
    let (new, created_new_key_file) = match existing_new {
        Some(key) => (key, false),
        None => match MasterKey::create(new_file)? {
            Some(key) => (key, true),
            None => (MasterKey::read(new_file)?, false),
        },
    };
    if old.id() == new.id() {
        return Err(RotationError::SameKey(old.id().clone()));
    }
    let mut rewrapped = 0;
    for row in rows {
        if row.master_key_id != old.id().0 {
            continue; // already under the new key (a second run)
        }
        let damaged = || RotationError::DataKeyDamaged { path: old_file.to_path_buf(), scope: row.scope.clone() };
        let scope = Scope::parse(&row.scope).ok_or_else(damaged)?;
        let key = old.unwrap(scope, &row.wrapped).map_err(|_| damaged())?;
        data_keys::rewrap(&mut *tx, &row.scope, &new.wrap(scope, &key), &new.id().0).await?;
        rewrapped += 1;
    }
    data_keys::set_master_key_id(&mut *tx, &new.id().0).await?;
    tx.commit().await?;
    Ok(RotationReport { rewrapped, old: old.id().clone(), new: new.id().clone(), created_new_key_file })
}
