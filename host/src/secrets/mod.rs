//! Encryption at rest: credential values (webhook secrets included) and event endpoint
//! secrets are sealed with XChaCha20-Poly1305 under a data key per company (event endpoints
//! without a company use the host-wide key), and every data key is wrapped under the
//! operator's master key, a file outside the database.
//!
//! - `aead`: sealing bytes, with the row's identity as associated data.
//! - `master_key`: the key file (read, create 0600, fingerprint).
//! - `keyring`: data keys, unwrapped once and kept in memory (zeroized on drop).
//! - `opening`: the start-up checks (right key, key file present) and the refusals.
//! - `plain_rows`: sealing what an older version stored in plain text, at start.
//! - `rotation`: `rotate-master-key`.
//!
//! Saved payment methods' gateway tokens are sealed the same way, under their company's key.
//!
//! Nothing outside `store/credentials.rs`, `store/events.rs`, `store/payment_methods.rs` and
//! this folder sees a sealed value or a key; plaintexts leave only as `Zeroizing<String>`.

mod aead;
mod keyring;
mod master_key;
mod opening;
mod plain_rows;
mod rotation;

use std::fmt;

pub use keyring::{DataKey, Keyring};
pub use master_key::{KeyFileError, KeyId, MasterKey};
pub use opening::{default_key_file, OpenError};
pub use rotation::{rotate_master_key, RotationError, RotationReport};

pub(crate) use aead::row_identity;

/// Whose data key: one company's, or the host's (event endpoints without a company).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    Company(i64),
    Host,
}

impl Scope {
    pub fn of(company_id: Option<i64>) -> Self {
        company_id.map_or(Self::Host, Self::Company)
    }

    fn parse(text: &str) -> Option<Self> {
        match text {
            "host" => Some(Self::Host),
            _ => text.strip_prefix("company:")?.parse().ok().map(Self::Company),
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Company(id) => write!(f, "company:{id}"),
            Self::Host => f.write_str("host"),
        }
    }
}

/// Which stored value, for messages (never the value itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SealedValue {
    Credential { integration_id: i64, name: String },
    EndpointSecret { endpoint_id: i64 },
    PaymentMethod { id: i64 },
}

impl fmt::Display for SealedValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Credential { integration_id, name } => {
                write!(f, "credential `{name}` of integration {integration_id}")
            }
            Self::EndpointSecret { endpoint_id } => write!(f, "the secret of event endpoint {endpoint_id}"),
            Self::PaymentMethod { id } => write!(f, "the gateway token of saved payment method {id}"),
        }
    }
}

/// What reading or writing a sealed value can fail with while the host serves.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The value does not open under its data key with its row's identity: damaged, or
    /// copied from another row.
    #[error("{0} cannot be decrypted: the stored value is damaged or was copied from another row; set it again")]
    Undecryptable(SealedValue),
    /// A row the start-up pass should have sealed is plain (written behind the host's back).
    #[error("{0} is stored unencrypted, which this host never writes; set it again")]
    NotSealed(SealedValue),
    /// Another process rotated the master key while this host runs with the old one; it can
    /// still use the data keys it holds, but must not wrap a new one nobody could unwrap.
    #[error(
        "the master key was rotated: the database is under master key {stored}, this host runs with {own} from {}; restart it with the new key file",
        .path.display()
    )]
    MasterKeyRotated { own: KeyId, stored: KeyId, path: std::path::PathBuf },
    #[error("the data key of {scope} does not unwrap under master key {key_id}, whose fingerprint it carries: the row is damaged")]
    DataKeyDamaged { scope: Scope, key_id: KeyId },
    #[error("no data key is stored for {0}, yet values sealed under it are")]
    DataKeyMissing(Scope),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_back_from_their_text() {
        for scope in [Scope::Company(0), Scope::Company(-3), Scope::Company(i64::MAX), Scope::Host] {
            assert_eq!(Scope::parse(&scope.to_string()), Some(scope));
        }
        assert_eq!(Scope::parse("company:x"), None);
        assert_eq!(Scope::parse("hosts"), None);
        assert_eq!(Scope::of(None), Scope::Host);
        assert_eq!(Scope::of(Some(4)), Scope::Company(4));
    }
}
