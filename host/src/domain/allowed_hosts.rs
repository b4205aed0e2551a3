//! Which URLs a module may call, and by which route: its manifest's `allowed_hosts` (HTTPS
//! only, default port unless the entry names one, `*.example.com` for subdomains; see
//! [`HostPattern`] for what an entry may be) plus the exact origins of the operator's endpoint
//! overrides (which may be plain HTTP and any address, for sandboxes and mocks).

use url::Url;

use super::host_pattern::HostPattern;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedHosts {
    manifest: Vec<HostPattern>,
    overrides: Vec<Origin>,
}

/// An operator override's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

/// Why a URL is allowed, which decides how the host connects to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The manifest allows it: connect only to public addresses of the name.
    Manifest,
    /// An operator's endpoint override: connect wherever the operator said.
    Override,
}

impl AllowedHosts {
    /// Rules from manifest entries such as `api.stripe.com`, `*.paypal.com`, `api.x.com:8443`.
    /// Entries that are not host patterns are skipped (manifest validation reports them).
    pub fn from_manifest(entries: &[String]) -> Self {
        let manifest = entries.iter().filter_map(|entry| HostPattern::parse(entry).ok()).collect();
        Self { manifest, overrides: Vec::new() }
    }

    /// Adds the exact origin (scheme, host, port) of an operator's endpoint override.
    pub fn allow_origin(&mut self, url: &Url) {
        if let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) {
            self.overrides.push(Origin { scheme: url.scheme().to_string(), host: host.to_ascii_lowercase(), port });
        }
    }

    /// How `url` may be reached, if at all. An override's origin wins over the manifest.
    pub fn route(&self, url: &Url) -> Option<Route> {
        self.admitted_by(url).map(|(route, _)| route)
    }

    /// How `url` may be reached and the rule that admits it, as written: the manifest entry
    /// (`api.x.com`, `*.x.com`, `api.x.com:8443`) or the override's origin. Bounded by the
    /// manifest and the operator, whatever names a provider makes up under a wildcard.
    pub fn admitted_by(&self, url: &Url) -> Option<(Route, String)> {
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return None;
        };
        let host = host.to_ascii_lowercase();
        if let Some(origin) =
            self.overrides.iter().find(|o| o.scheme == url.scheme() && o.port == port && o.host == host)
        {
            return Some((Route::Override, format!("{}://{}:{}", origin.scheme, origin.host, origin.port)));
        }
        if url.scheme() != "https" || !matches!(url.host(), Some(url::Host::Domain(_))) {
            return None;
        }
        let pattern = self.manifest.iter().find(|pattern| pattern.port == port && pattern.matches(&host))?;
        Some((Route::Manifest, pattern.to_string()))
    }

    pub fn allows(&self, url: &Url) -> bool {
        self.route(url).is_some()
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
    fn the_admitting_rule_is_named_as_written_never_as_the_name_asked() {
        let mut rules = AllowedHosts::from_manifest(&["*.paypal.com".into(), "API.x.com:8443".into()]);
        rules.allow_origin(&Url::parse("http://127.0.0.1:9999/base").unwrap());
        let rule = |url: &str| rules.admitted_by(&Url::parse(url).unwrap()).map(|(_, rule)| rule);
        assert_eq!(rule("https://made-up-7.paypal.com/v1").as_deref(), Some("*.paypal.com"));
        assert_eq!(rule("https://api.x.com:8443/").as_deref(), Some("api.x.com:8443"));
        assert_eq!(rule("http://127.0.0.1:9999/v1").as_deref(), Some("http://127.0.0.1:9999"));
        assert_eq!(rule("https://elsewhere.example/"), None);
    }

    #[test]
    fn overrides_allow_their_exact_origin() {
        let mut rules = AllowedHosts::from_manifest(&[]);
        rules.allow_origin(&Url::parse("http://127.0.0.1:9999/base").unwrap());
        assert!(allows(&rules, "http://127.0.0.1:9999/v1/sessions"));
        assert!(!allows(&rules, "http://127.0.0.1:9998/"));
        assert!(!allows(&rules, "https://127.0.0.1:9999/"));
        assert!(!allows(&rules, "http://localhost:9999/"));
        assert_eq!(rules.route(&Url::parse("http://127.0.0.1:9999/").unwrap()), Some(Route::Override));
    }

    #[test]
    fn manifest_rules_never_match_addresses() {
        let rules = AllowedHosts::from_manifest(&["127.0.0.1".into(), "localhost".into(), "*.com".into()]);
        assert_eq!(rules, AllowedHosts::default(), "refused entries make no rules");
        let rules = AllowedHosts::from_manifest(&["api.example.com".into()]);
        assert_eq!(rules.route(&Url::parse("https://api.example.com/").unwrap()), Some(Route::Manifest));
        assert!(!allows(&rules, "https://127.0.0.1/"));
        assert!(!allows(&rules, "https://[::1]/"));
    }
}
