//! What an upgrade changes that an operator must decide on (API.md §2): a credential the live
//! version keeps secret that the new version would make readable (never allowed: a value
//! stored as secret stays secret), and hosts the new version could reach that the live one
//! could not (allowed only when the operator grants them). Pure: no I/O.

use super::host_pattern::HostPattern;
use super::manifest::Manifest;

/// The differences between the live manifest and the one being installed.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UpgradeReview {
    /// Credentials secret in the live version and declared plain in the new one.
    pub declassified: Vec<String>,
    /// `allowed_hosts` entries of the new version not covered by the live version's.
    pub new_hosts: Vec<String>,
}

impl UpgradeReview {
    pub fn of(live: &Manifest, next: &Manifest) -> Self {
        let declassified = next
            .runtime
            .credentials
            .iter()
            .filter(|field| !field.secret && live.credential(&field.name).is_some_and(|old| old.secret))
            .map(|field| field.name.clone())
            .collect();
        let live_hosts: Vec<HostPattern> =
            live.runtime.allowed_hosts.iter().filter_map(|entry| HostPattern::parse(entry).ok()).collect();
        let new_hosts = next
            .runtime
            .allowed_hosts
            .iter()
            .filter(|entry| match HostPattern::parse(entry) {
                Ok(pattern) => !live_hosts.iter().any(|old| covers(old, &pattern)),
                Err(_) => true,
            })
            .cloned()
            .collect();
        Self { declassified, new_hosts }
    }
}

/// Whether every host `next` matches is matched by `old` too.
fn covers(old: &HostPattern, next: &HostPattern) -> bool {
    if old.port != next.port {
        return false;
    }
    match (old.wildcard, next.wildcard) {
        (false, false) => old.name == next.name,
        (false, true) => false,
        // `*.example.com` covers `api.example.com` and `*.api.example.com`, not `example.com`.
        (true, _) => old.matches(&next.name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = include_str!("../../../manifests/payment_mygateway.yaml");

    fn manifest(hosts: &str, secret_key_secret: bool) -> Manifest {
        let yaml = LIVE.replace("allowed_hosts: [api.mygateway.com]", &format!("allowed_hosts: [{hosts}]"));
        let yaml = if secret_key_secret {
            yaml
        } else {
            let line = yaml.lines().find(|line| line.contains("name: mygateway_secret_key")).expect("fixture line");
            yaml.replace(line, &line.replace("secret: true", "secret: false"))
        };
        Manifest::parse(&yaml).unwrap()
    }

    #[test]
    fn the_same_manifest_changes_nothing() {
        let live = manifest("api.mygateway.com", true);
        assert_eq!(UpgradeReview::of(&live, &live), UpgradeReview::default());
    }

    #[test]
    fn a_secret_made_plain_is_named() {
        let review = UpgradeReview::of(&manifest("api.mygateway.com", true), &manifest("api.mygateway.com", false));
        assert_eq!(review.declassified, ["mygateway_secret_key"]);
        let review = UpgradeReview::of(&manifest("api.mygateway.com", false), &manifest("api.mygateway.com", true));
        assert!(review.declassified.is_empty(), "making a plain credential secret is always fine");
    }

    #[test]
    fn hosts_beyond_the_live_ones_are_named() {
        let live = manifest("api.mygateway.com", true);
        let wider = manifest("api.mygateway.com, exfil.example.com, api.mygateway.com:8443", true);
        assert_eq!(UpgradeReview::of(&live, &wider).new_hosts, ["exfil.example.com", "api.mygateway.com:8443"]);
        let wildcard = manifest("api.mygateway.com, '*.mygateway.com'", true);
        assert_eq!(UpgradeReview::of(&live, &wildcard).new_hosts, ["*.mygateway.com"]);
        assert!(UpgradeReview::of(&wildcard, &live).new_hosts.is_empty(), "narrowing needs no grant");
        let under_wildcard = manifest("api.mygateway.com, eu.api.mygateway.com, '*.eu.mygateway.com'", true);
        assert!(UpgradeReview::of(&wildcard, &under_wildcard).new_hosts.is_empty());
        let apex = manifest("api.mygateway.com, mygateway.com", true);
        assert_eq!(UpgradeReview::of(&wildcard, &apex).new_hosts, ["mygateway.com"], "a wildcard is not its apex");
    }
}
