//! Start-up: find the master key, check it is the one the database is under, unwrap every
//! data key (so a damaged one stops the start, not a payment), and seal what an older
//! version left in plain text.
//!
//! - Key file present: used; refused when the database is under another key.
//! - Key file missing and no data key stored yet: a new key is created (0600), with a loud
//!   warning to back it up.
//! - Key file missing and the database under a key: refused (a new key would leave every
//!   value unreadable).
//!
//! Every refusal names the key file.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::master_key::KeyFileError;
use super::plain_rows::seal_plain_rows;
use super::{KeyId, Keyring, MasterKey, Scope, SecretsError};
use crate::store::{data_keys, Db};

/// Why the host refuses to start.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error(transparent)]
    KeyFile(#[from] KeyFileError),
    #[error(
        "the master key file {} holds master key {own}, but the database's data keys are wrapped under master key {stored}: \
         start with the key file they were wrapped under (`integrations-host rotate-master-key` moves them to another)",
        .path.display()
    )]
    WrongKey { path: PathBuf, own: KeyId, stored: KeyId },
    #[error(
        "the master key file {} does not exist, but the database's data keys are wrapped under master key {stored}: \
         restore that file from its backup, or name it with --master-key-file",
        .path.display()
    )]
    MissingKey { path: PathBuf, stored: KeyId },
    #[error(
        "the data key of {scope} does not unwrap under the master key in {}, although its fingerprint matches: the database row is damaged",
        .path.display()
    )]
    DataKeyDamaged { path: PathBuf, scope: String },
    #[error("sealing the values stored in plain text: {0}")]
    Sealing(#[from] SecretsError),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// `master.key` beside a SQLite database file; None for an in-memory database.
pub fn default_key_file(database: &str) -> Option<PathBuf> {
    let file = database.strip_prefix("sqlite://")?.split('?').next()?;
    if file == ":memory:" || file.is_empty() {
        return None;
    }
    Some(Path::new(file).parent().unwrap_or(Path::new("")).join("master.key"))
}

impl Keyring {
    /// Opens the keyring for `db` with the key in `key_file` (None: an in-memory key, for an
    /// in-memory database). See the module documentation for what is refused.
    pub async fn open(db: &Db, key_file: Option<&Path>) -> Result<Self, OpenError> {
        let stored = stored_key_id(db).await?;
        let master = match key_file {
            None => MasterKey::ephemeral(),
            Some(path) => read_or_create(path, stored.as_ref())?,
        };
        match stored {
            Some(stored) if stored != *master.id() => return Err(wrong_key(&master, stored)),
            Some(_) => {}
            // Nothing was wrapped when read, so any key will do: this one becomes the
            // database's, unless another host (on a shared database) wrapped one since. A host
            // still running with another key then refuses to wrap one (503), as after a
            // rotation.
            None => {
                let mut tx = db.tx().await?;
                let recorded = data_keys::master_key_id_locked(&mut tx).await?;
                match data_keys::all(&mut *tx).await?.into_iter().next() {
                    None => data_keys::set_master_key_id(&mut *tx, &master.id().0).await?,
                    Some(first) => {
                        let stored = KeyId(recorded.unwrap_or(first.master_key_id));
                        if stored != *master.id() {
                            return Err(wrong_key(&master, stored));
                        }
                    }
                }
                tx.commit().await?;
            }
        }

        let keyring = Keyring::new(db.clone(), master);
        for row in data_keys::all(db.read()).await? {
            let damaged = || OpenError::DataKeyDamaged {
                path: keyring.master_key().path().to_path_buf(),
                scope: row.scope.clone(),
            };
            let scope = Scope::parse(&row.scope).ok_or_else(damaged)?;
            match keyring.unwrap_row(scope, &row.wrapped, &row.master_key_id) {
                Ok(key) => {
                    keyring.remember(Arc::new(key));
                }
                Err(SecretsError::MasterKeyRotated { stored, .. }) => {
                    return Err(wrong_key(keyring.master_key(), stored))
                }
                Err(_) => return Err(damaged()),
            }
        }
        let (credentials, endpoints) = seal_plain_rows(db, &keyring).await?;
        if credentials + endpoints > 0 {
            tracing::info!(credentials, endpoint_secrets = endpoints, "sealed the values stored in plain text");
        }
        Ok(keyring)
    }
}

fn wrong_key(master: &MasterKey, stored: KeyId) -> OpenError {
    OpenError::WrongKey { path: master.path().to_path_buf(), own: master.id().clone(), stored }
}

/// The master key the database's data keys are wrapped under: the recorded fingerprint, else
/// (a database whose setting was lost) the one the data keys carry. None while no data key is
/// stored, whatever was recorded: then no value depends on any key.
async fn stored_key_id(db: &Db) -> Result<Option<KeyId>, sqlx::Error> {
    let Some(first) = data_keys::all(db.read()).await?.into_iter().next() else {
        return Ok(None);
    };
    Ok(Some(KeyId(data_keys::master_key_id(db.read()).await?.unwrap_or(first.master_key_id))))
}

fn read_or_create(path: &Path, stored: Option<&KeyId>) -> Result<MasterKey, OpenError> {
    match MasterKey::read(path) {
        Ok(key) => Ok(key),
        Err(KeyFileError::Unreadable { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            if let Some(stored) = stored {
                return Err(OpenError::MissingKey { path: path.to_path_buf(), stored: stored.clone() });
            }
            match MasterKey::create(path)? {
                Some(key) => {
                    tracing::warn!(
                        file = %path.display(),
                        key_id = %key.id(),
                        "GENERATED A NEW MASTER KEY in {}: back this file up now, apart from the database. \
                         Credentials and webhook secrets are encrypted under it; without it they cannot be read again.",
                        path.display()
                    );
                    Ok(key)
                }
                // Another host created it a moment ago.
                None => Ok(MasterKey::read(path)?),
            }
        }
        Err(error) => Err(error.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_key_file_sits_beside_the_database() {
        assert_eq!(default_key_file("sqlite://./data/integrations.db"), Some(PathBuf::from("./data/master.key")));
        assert_eq!(
            default_key_file("sqlite:///var/lib/ih/db.sqlite?mode=rwc"),
            Some(PathBuf::from("/var/lib/ih/master.key"))
        );
        assert_eq!(default_key_file("sqlite://host.db"), Some(PathBuf::from("master.key")));
        assert_eq!(default_key_file("sqlite://:memory:"), None);
    }

    #[tokio::test]
    async fn a_lost_key_file_is_replaced_only_while_no_data_key_depends_on_it() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/host.db", dir.path().display())).await.unwrap();
        let key_file = dir.path().join("master.key");
        let first = Keyring::open(&db, Some(&key_file)).await.unwrap().master_key().id().clone();
        std::fs::remove_file(&key_file).unwrap();
        let keys = Keyring::open(&db, Some(&key_file)).await.unwrap();
        assert_ne!(*keys.master_key().id(), first, "nothing was wrapped under the lost key");
        keys.data_key(Scope::Company(1)).await.unwrap();
        assert_eq!(keys.cached_keys(), 1);

        std::fs::remove_file(&key_file).unwrap();
        let refused = Keyring::open(&db, Some(&key_file)).await.unwrap_err();
        assert!(matches!(refused, OpenError::MissingKey { .. }), "{refused}");
        assert!(!key_file.exists(), "no key replaces one a data key depends on");
    }

    #[tokio::test]
    async fn a_damaged_data_key_stops_the_start_naming_its_scope_and_the_key_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::connect(&format!("sqlite://{}/host.db", dir.path().display())).await.unwrap();
        let key_file = dir.path().join("master.key");
        Keyring::open(&db, Some(&key_file)).await.unwrap().data_key(Scope::Company(7)).await.unwrap();
        let mut tx = db.tx().await.unwrap();
        sqlx::query("UPDATE data_keys SET wrapped = $1").bind(vec![1u8; 72]).execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        let refused = Keyring::open(&db, Some(&key_file)).await.unwrap_err().to_string();
        assert!(refused.contains("company:7") && refused.contains(&key_file.display().to_string()), "{refused}");
        assert!(refused.contains("damaged"), "{refused}");
    }
}
