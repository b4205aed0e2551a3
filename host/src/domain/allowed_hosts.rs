//! Which URLs a module may call: its manifest's `allowed_hosts` (HTTPS only, default port
//! unless the entry names one, `*.example.com` for subdomains) plus the exact origins of the
//! operator's endpoint overrides (which may be plain HTTP, for sandboxes and mocks).

use url::Url;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    scheme: String,
    host: HostMatch,
    port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostMatch {
    Exact(String),
    /// `*.example.com`: any subdomain of example.com, not example.com itself.
    SubdomainOf(String),
}

impl AllowedHosts {
    /// Rules from manifest entries such as `api.stripe.com`, `*.paypal.com`, `api.x.com:8443`.
    /// Entries that are not host patterns are skipped (manifest validation reports them).
    pub fn from_manifest(entries: &[String]) -> Self {
        let rules = entries
            .iter()
            .filter_map(|entry| {
                let (host, port) = match entry.rsplit_once(':') {
                    Some((host, port)) => (host, port.parse().ok()?),
                    None => (entry.as_str(), 443),
                };
                let host = host.to_ascii_lowercase();
                let host = match host.strip_prefix("*.") {
                    Some(parent) => HostMatch::SubdomainOf(parent.to_string()),
                    None => HostMatch::Exact(host),
                };
                Some(Rule { scheme: "https".into(), host, port })
            })
            .collect();
        Self { rules }
    }

    /// Adds the exact origin (scheme, host, port) of an operator's endpoint override.
    pub fn allow_origin(&mut self, url: &Url) {
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            self.rules.push(Rule {
                scheme: url.scheme().to_string(),
                host: HostMatch::Exact(host.to_ascii_lowercase()),
                port,
            });
        }
    }

    pub fn allows(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return false;
        };
        let host = host.to_ascii_lowercase();
        self.rules.iter().any(|rule| {
            rule.scheme == url.scheme()
                && rule.port == port
                && match &rule.host {
                    HostMatch::Exact(exact) => *exact == host,
                    HostMatch::SubdomainOf(parent) => host
                        .strip_suffix(parent.as_str())
                        .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.')),
                }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(rules: &AllowedHosts, url: &str) -> bool {
        rules.allows(&Url::parse(url).unwrap())
    }

    #[test]
    fn manifest_hosts_are_https_on_their_port() {
        let rules = AllowedHosts::from_manifest(&["api.stripe.com".into(), "api.x.com:8443".into()]);
        assert!(allows(&rules, "https://api.stripe.com/v1/refunds"));
        assert!(allows(&rules, "https://API.Stripe.com:443/v1"));
        assert!(!allows(&rules, "http://api.stripe.com/v1"), "plain http refused");
        assert!(!allows(&rules, "https://api.stripe.com:8443/"), "other port refused");
        assert!(!allows(&rules, "https://api.stripe.com.evil.net/"));
        assert!(!allows(&rules, "https://evilapi.stripe.com/"));
        assert!(allows(&rules, "https://api.x.com:8443/"));
        assert!(!allows(&rules, "https://api.x.com/"));
    }

    #[test]
    fn wildcards_cover_subdomains_only() {
        let rules = AllowedHosts::from_manifest(&["*.paypal.com".into()]);
        assert!(allows(&rules, "https://api-m.sandbox.paypal.com/v1"));
        assert!(!allows(&rules, "https://paypal.com/"));
        assert!(!allows(&rules, "https://evilpaypal.com/"));
    }

    #[test]
    fn overrides_allow_their_exact_origin() {
        let mut rules = AllowedHosts::from_manifest(&[]);
        rules.allow_origin(&Url::parse("http://127.0.0.1:9999/base").unwrap());
        assert!(allows(&rules, "http://127.0.0.1:9999/v1/sessions"));
        assert!(!allows(&rules, "http://127.0.0.1:9998/"));
        assert!(!allows(&rules, "https://127.0.0.1:9999/"));
        assert!(!allows(&rules, "http://localhost:9999/"));
    }
}
