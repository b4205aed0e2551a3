//! The name resolution behind every request a manifest's allowlist allows: the host resolves
//! the name itself, keeps only public addresses ([`is_public`]) and hands exactly those to the
//! connector, so nothing is looked up a second time between the check and the connection
//! (no DNS rebinding). A name that resolves to nothing public fails with [`NonPublicName`],
//! which the provider sees as `denied`, without the addresses.
//!
//! [`StaticNames`] answers chosen names before the system resolver is asked, for tests and
//! for operators who pin names; its answers are filtered like any other.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use super::address::is_public;

/// Names answered without asking the system resolver: name (lower case) → addresses (the
/// port is the URL's, as for any answer). Not a way around the address policy: the answers
/// are filtered like the system's.
#[derive(Debug, Clone, Default)]
pub struct StaticNames(BTreeMap<String, Vec<SocketAddr>>);

impl StaticNames {
    pub fn new(entries: impl IntoIterator<Item = (String, SocketAddr)>) -> Self {
        let mut names = BTreeMap::<String, Vec<SocketAddr>>::new();
        for (name, address) in entries {
            names.entry(name.to_ascii_lowercase()).or_default().push(address);
        }
        Self(names)
    }

    fn get(&self, name: &str) -> Option<&Vec<SocketAddr>> {
        self.0.get(&name.to_ascii_lowercase())
    }
}

/// A name whose every address is one a provider may not reach.
#[derive(Debug, thiserror::Error)]
#[error("`{name}` resolves only to addresses that are not public")]
pub struct NonPublicName {
    pub name: String,
}

/// The resolver of the guarded client.
pub struct GuardedResolver {
    names: Arc<StaticNames>,
}

impl GuardedResolver {
    pub fn new(names: StaticNames) -> Self {
        Self { names: Arc::new(names) }
    }

    /// Every public address of `name`, or why there is none.
    pub async fn public_addresses(
        names: &StaticNames,
        name: &str,
    ) -> Result<Vec<SocketAddr>, Box<dyn std::error::Error + Send + Sync>> {
        let answers: Vec<SocketAddr> = match names.get(name) {
            Some(pinned) => pinned.clone(),
            None => tokio::net::lookup_host((name, 0)).await?.collect(),
        };
        let public: Vec<SocketAddr> = answers.into_iter().filter(|address| is_public(address.ip())).collect();
        if public.is_empty() {
            return Err(Box::new(NonPublicName { name: name.to_string() }));
        }
        Ok(public)
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let names = self.names.clone();
        Box::pin(async move {
            let public = Self::public_addresses(&names, name.as_str()).await?;
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

/// Whether a request failed because its name resolves only to non-public addresses.
pub fn non_public_name(error: &reqwest::Error) -> Option<&NonPublicName> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    while let Some(cause) = source {
        if let Some(found) = cause.downcast_ref::<NonPublicName>() {
            return Some(found);
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pinned(entries: &[(&str, &str)]) -> StaticNames {
        StaticNames::new(entries.iter().map(|(name, address)| (name.to_string(), address.parse().unwrap())))
    }

    #[tokio::test]
    async fn pinned_names_are_filtered_like_any_answer() {
        let names = pinned(&[
            ("api.hostile.example.com", "127.0.0.1:9"),
            ("mixed.example.com", "10.0.0.1:0"),
            ("mixed.example.com", "93.184.216.34:0"),
            ("metadata.example.com", "[::ffff:169.254.169.254]:0"),
        ]);
        let refused = GuardedResolver::public_addresses(&names, "API.hostile.example.com").await.unwrap_err();
        let refused = refused.downcast::<NonPublicName>().unwrap();
        assert_eq!(refused.to_string(), "`API.hostile.example.com` resolves only to addresses that are not public");
        assert!(!refused.to_string().contains("127.0.0.1"), "the address stays with the host");
        assert!(GuardedResolver::public_addresses(&names, "metadata.example.com").await.is_err());
        let mixed = GuardedResolver::public_addresses(&names, "mixed.example.com").await.unwrap();
        assert_eq!(mixed, ["93.184.216.34:0".parse::<SocketAddr>().unwrap()], "only the public address is kept");
    }

    #[tokio::test]
    async fn the_system_resolver_is_filtered_too() {
        // `localhost` resolves without a network, to loopback only.
        let refused = GuardedResolver::public_addresses(&StaticNames::default(), "localhost").await.unwrap_err();
        assert!(refused.downcast_ref::<NonPublicName>().is_some(), "{refused}");
    }
}
