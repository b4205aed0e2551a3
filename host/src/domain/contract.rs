//! The versions of the provider contract, WIT package `integrations:provider`, this host
//! runs side by side. A released version is frozen; a component names one version in its
//! manifest's world and imports and exports that version only.

use std::fmt;

/// The WIT package every provider world belongs to.
pub const WIT_PACKAGE: &str = "integrations:provider";

/// A version of the contract this host supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ContractVersion {
    /// `integrations:provider@1.0.0`, released.
    V1_0,
    /// `integrations:provider@1.1.0`, a preview: 1.0.0 plus host-brokered OAuth client
    /// credentials in `http`. It may still gain functions before it is released.
    V1_1,
}

impl ContractVersion {
    /// Every supported version, oldest first.
    pub const ALL: [Self; 2] = [Self::V1_0, Self::V1_1];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::V1_0 => "1.0.0",
            Self::V1_1 => "1.1.0",
        }
    }

    pub fn parse(version: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == version)
    }

    /// The full name of one of the package's interfaces or worlds at this version
    /// (`integrations:provider/payment@1.1.0`).
    pub fn qualified(self, name: &str) -> String {
        format!("{WIT_PACKAGE}/{name}@{}", self.as_str())
    }

    /// The version a full name (`integrations:provider/payment-provider@1.1.0`) names, when
    /// it names `name` in this package at a supported version.
    pub fn of_qualified(qualified: &str, name: &str) -> Option<Self> {
        let version = qualified.strip_prefix(WIT_PACKAGE)?.strip_prefix('/')?.strip_prefix(name)?.strip_prefix('@')?;
        Self::parse(version)
    }

    /// "1.0.0, 1.1.0", for messages.
    pub fn supported() -> String {
        Self::ALL.map(Self::as_str).join(", ")
    }
}

impl fmt::Display for ContractVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_carry_their_version() {
        assert_eq!(ContractVersion::V1_1.qualified("payment"), "integrations:provider/payment@1.1.0");
        let world = "integrations:provider/payment-provider@1.1.0";
        assert_eq!(ContractVersion::of_qualified(world, "payment-provider"), Some(ContractVersion::V1_1));
        assert_eq!(ContractVersion::of_qualified(world, "messaging-provider"), None);
        assert_eq!(
            ContractVersion::of_qualified("integrations:provider/payment-provider@2.0.0", "payment-provider"),
            None
        );
        assert_eq!(ContractVersion::of_qualified("other:provider/payment-provider@1.0.0", "payment-provider"), None);
        assert_eq!(ContractVersion::supported(), "1.0.0, 1.1.0");
    }
}
