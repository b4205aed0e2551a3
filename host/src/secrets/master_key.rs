//! The operator's master key: a file holding 32 random bytes (raw, or as 64 hex digits), kept
//! by the operator, never in the database. It only wraps data keys. Its fingerprint (a keyed
//! hash, which reveals nothing of the key) is stored beside every data key it wraps, so a
//! start with another key is told apart from a damaged data key.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use zeroize::Zeroizing;

use super::aead::{DoesNotOpen, SymmetricKey};
use super::Scope;

/// A master key's fingerprint: the first 128 bits of HMAC-SHA256(key, a fixed label), in hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId(pub String);

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a key file cannot be used. Every message names the file, never its contents.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    #[error("cannot read the master key file {}: {source}", .path.display())]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("the master key file {} is not a master key: it must hold 32 random bytes, raw or as 64 hex digits", .path.display())]
    Malformed { path: PathBuf },
    #[error(
        "the master key file {} can be read or written by group or others (mode {mode:03o}); run `chmod 600 {}`",
        .path.display(), .path.display()
    )]
    LoosePermissions { path: PathBuf, mode: u32 },
    #[error("cannot create the master key file {}: {source}", .path.display())]
    Uncreatable { path: PathBuf, source: std::io::Error },
}

/// The master key, read from its file. No `Debug` of the key: only the path and fingerprint.
pub struct MasterKey {
    key: SymmetricKey,
    id: KeyId,
    path: PathBuf,
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterKey").field("path", &self.path).field("id", &self.id).finish_non_exhaustive()
    }
}

const FINGERPRINT_LABEL: &[u8] = b"integrations-host master key fingerprint v1";

impl MasterKey {
    fn from_bytes(bytes: &[u8; 32], path: PathBuf) -> Self {
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(bytes).expect("any key length");
        mac.update(FINGERPRINT_LABEL);
        let id = KeyId(hex::encode(&mac.finalize().into_bytes()[..16]));
        Self { key: SymmetricKey::new(bytes), id, path }
    }

    /// Reads a key file. Refused when group or others may read or write it (as ssh refuses a
    /// loose private key): a master key anyone on the machine can read protects nothing.
    pub fn read(path: &Path) -> Result<Self, KeyFileError> {
        let unreadable = |source| KeyFileError::Unreadable { path: path.to_path_buf(), source };
        let metadata = std::fs::metadata(path).map_err(unreadable)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = metadata.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(KeyFileError::LoosePermissions { path: path.to_path_buf(), mode });
            }
        }
        let _ = metadata;
        let contents = Zeroizing::new(std::fs::read(path).map_err(unreadable)?);
        let bytes = parse_key(&contents).ok_or_else(|| KeyFileError::Malformed { path: path.to_path_buf() })?;
        Ok(Self::from_bytes(&bytes, path.to_path_buf()))
    }

    /// Creates a new random key file, mode 0600, as 64 hex digits and a newline. Never
    /// overwrites: the file is written under a temporary name and hard-linked into place, so
    /// two hosts starting at once end up with one key (the loser reads the winner's), and a
    /// crash never leaves a half-written key. `Ok(None)` when the file already exists.
    pub fn create(path: &Path) -> Result<Option<Self>, KeyFileError> {
        let uncreatable = |source| KeyFileError::Uncreatable { path: path.to_path_buf(), source };
        let bytes = SymmetricKey::random_bytes();
        let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let temporary = folder.join(format!(".{}.{}.tmp", file_name(path), hex::encode(rand::random::<[u8; 8]>())));
        let written = (|| {
            let mut file = open_private(&temporary)?;
            let mut text = Zeroizing::new(hex::encode(*bytes));
            text.push('\n');
            file.write_all(text.as_bytes())?;
            file.sync_all()
        })();
        let linked = written.and_then(|()| std::fs::hard_link(&temporary, path));
        let _ = std::fs::remove_file(&temporary);
        match linked {
            Ok(()) => {
                if let Ok(dir) = std::fs::File::open(folder) {
                    let _ = dir.sync_all();
                }
                Ok(Some(Self::from_bytes(&bytes, path.to_path_buf())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(None),
            Err(e) => Err(uncreatable(e)),
        }
    }

    /// A key that lives only in memory, for an in-memory database.
    pub fn ephemeral() -> Self {
        Self::from_bytes(&SymmetricKey::random_bytes(), PathBuf::from("(in memory)"))
    }

    pub fn id(&self) -> &KeyId {
        &self.id
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Seals a data key for `scope` (the scope is the associated data, so a wrapped key copied
    /// to another company's row does not unwrap).
    pub(crate) fn wrap(&self, scope: Scope, data_key: &[u8; 32]) -> Vec<u8> {
        self.key.seal(scope.to_string().as_bytes(), data_key)
    }

    pub(crate) fn unwrap(&self, scope: Scope, wrapped: &[u8]) -> Result<Zeroizing<[u8; 32]>, DoesNotOpen> {
        let opened = self.key.open(scope.to_string().as_bytes(), wrapped)?;
        let mut bytes = Zeroizing::new([0u8; 32]);
        if opened.len() != 32 {
            return Err(DoesNotOpen);
        }
        bytes.copy_from_slice(&opened);
        Ok(bytes)
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "master.key".into())
}

fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// 32 raw bytes, or 64 hex digits with surrounding whitespace.
fn parse_key(contents: &[u8]) -> Option<Zeroizing<[u8; 32]>> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    if contents.len() == 32 {
        bytes.copy_from_slice(contents);
        return Some(bytes);
    }
    let text = std::str::from_utf8(contents).ok()?.trim();
    hex::decode_to_slice(text, &mut bytes[..]).ok()?;
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_reads_back_with_the_same_fingerprint_and_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let created = MasterKey::create(&path).unwrap().unwrap();
        assert!(MasterKey::create(&path).unwrap().is_none(), "never overwrites");
        let read = MasterKey::read(&path).unwrap();
        assert_eq!(created.id(), read.id());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
            let error = MasterKey::read(&path).unwrap_err().to_string();
            assert!(error.contains(&path.display().to_string()) && error.contains("chmod 600"), "{error}");
        }
    }

    #[test]
    fn raw_and_hex_key_files_read_alike_and_other_contents_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("raw.key");
        let hexed = dir.path().join("hex.key");
        let bad = dir.path().join("bad.key");
        for (path, contents) in [
            (&raw, vec![7u8; 32]),
            (&hexed, format!("  {}\n", hex::encode([7u8; 32])).into_bytes()),
            (&bad, b"password".to_vec()),
        ] {
            std::fs::write(path, contents).unwrap();
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
            }
        }
        assert_eq!(MasterKey::read(&raw).unwrap().id(), MasterKey::read(&hexed).unwrap().id());
        assert!(matches!(MasterKey::read(&bad), Err(KeyFileError::Malformed { .. })));
        let missing = MasterKey::read(&dir.path().join("none.key")).unwrap_err().to_string();
        assert!(missing.contains("none.key"), "{missing}");
    }

    #[test]
    fn a_wrapped_data_key_unwraps_only_for_its_scope_and_key() {
        let master = MasterKey::ephemeral();
        let data_key = SymmetricKey::random_bytes();
        let wrapped = master.wrap(Scope::Company(1), &data_key);
        assert_eq!(*master.unwrap(Scope::Company(1), &wrapped).unwrap(), *data_key);
        assert!(master.unwrap(Scope::Company(2), &wrapped).is_err());
        assert!(master.unwrap(Scope::Host, &wrapped).is_err());
        assert!(MasterKey::ephemeral().unwrap(Scope::Company(1), &wrapped).is_err());
        assert!(!format!("{master:?}").contains(&hex::encode(*data_key)));
    }
}
