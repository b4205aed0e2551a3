//! What a manifest may name as a host (API.md §2): DNS names under a public suffix
//! (`api.example.com`, `api.example.com:8443`, `*.example.com`). Refused: IP literals,
//! `localhost`, single-label names, names under a suffix that is not on the Public Suffix
//! List (`.internal`, `.local`, …, which resolve only inside some network), a public suffix
//! itself and wildcards over one (`*.com`, `*.co.uk`, `*.github.io`). Pure: no I/O.

use std::net::IpAddr;

/// A manifest host entry, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPattern {
    /// Lower case, without `*.`.
    pub name: String,
    /// `*.name`: any subdomain of `name`, not `name` itself.
    pub wildcard: bool,
    pub port: u16,
}

impl HostPattern {
    /// Parses `entry`, or says why it is refused.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let bare = entry.strip_prefix('[').and_then(|rest| rest.strip_suffix(']'));
        if bare.is_some_and(|inner| inner.parse::<IpAddr>().is_ok()) || entry.parse::<IpAddr>().is_ok() {
            return Err(ip_literal(entry));
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => {
                if host.contains(':') || host.starts_with('[') {
                    return Err(ip_literal(entry));
                }
                let port = port.parse::<u16>().ok().filter(|port| *port != 0);
                (host, port.ok_or_else(|| format!("`{entry}`: the port must be a number from 1 to 65535"))?)
            }
            None => (entry, 443),
        };
        let (name, wildcard) = match host.strip_prefix("*.") {
            Some(parent) => (parent, true),
            None => (host, false),
        };
        let name = name.to_ascii_lowercase();
        let is_suffix = psl::suffix(name.as_bytes()).is_some_and(|s| s.is_known() && s.as_bytes() == name.as_bytes());
        if is_suffix && wildcard {
            return Err(format!(
                "`{entry}` covers every name under the public suffix `{name}`, which anyone can register"
            ));
        }
        check_dns_name(&name).map_err(|reason| format!("`{entry}` {reason}"))?;
        if is_suffix {
            return Err(format!("`{entry}` is a public suffix, not a host"));
        }
        Ok(Self { name, wildcard, port })
    }

    /// Whether `host` (lower case) is covered.
    pub fn matches(&self, host: &str) -> bool {
        if self.wildcard {
            host.strip_suffix(self.name.as_str()).is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
        } else {
            host == self.name
        }
    }
}

/// The entry as a manifest writes it (`*.x.com`, `api.x.com:8443`; the default port left out).
impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.name)?;
        if self.port != 443 {
            write!(f, ":{}", self.port)?;
        }
        Ok(())
    }
}

fn ip_literal(entry: &str) -> String {
    format!("`{entry}` is an IP address; only DNS names are allowed (an operator's --endpoint may point at an address)")
}

/// Checks that `name` (lower case) is a DNS name under a public suffix; the reason completes
/// a sentence that starts with the name.
pub fn check_dns_name(name: &str) -> Result<(), String> {
    if name.parse::<IpAddr>().is_ok() || name.starts_with('[') {
        return Err("is an IP address; only DNS names are allowed".into());
    }
    if name.len() > 253 {
        return Err("is longer than the 253 bytes of a DNS name".into());
    }
    let labels: Vec<&str> = name.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if !labels.iter().all(label_ok) {
        return Err("is not a DNS name (labels of letters, digits and `-`, separated by single dots)".into());
    }
    if labels.last() == Some(&"localhost") {
        return Err("is a loopback name".into());
    }
    if labels.len() < 2 {
        return Err("is a single-label name, which resolves only inside a network".into());
    }
    match psl::suffix(name.as_bytes()) {
        Some(suffix) if suffix.is_known() => Ok(()),
        _ => Err(format!(
            "is not under a public suffix: `.{}` names resolve only inside some network",
            labels.last().unwrap_or(&"")
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn refused(entry: &str) -> String {
        HostPattern::parse(entry).expect_err(entry)
    }

    #[test]
    fn dns_names_with_optional_port_and_wildcard_are_accepted() {
        let plain = HostPattern::parse("API.Stripe.com").unwrap();
        assert_eq!((plain.name.as_str(), plain.wildcard, plain.port), ("api.stripe.com", false, 443));
        assert_eq!(HostPattern::parse("api.example.com:8443").unwrap().port, 8443);
        let wildcard = HostPattern::parse("*.paypal.com").unwrap();
        assert!(wildcard.wildcard && wildcard.matches("api-m.sandbox.paypal.com") && !wildcard.matches("paypal.com"));
        assert!(!wildcard.matches("evilpaypal.com"));
        assert!(HostPattern::parse("api.example.co.uk").is_ok());
        assert!(HostPattern::parse("*.example.co.uk").is_ok());
        assert!(HostPattern::parse("me.github.io").is_ok(), "a name under a private suffix is one site");
    }

    #[test]
    fn addresses_and_local_names_are_refused_with_the_reason() {
        for entry in ["127.0.0.1", "10.0.0.1:8443", "169.254.169.254", "[::1]", "[::1]:443", "::1", "[fd00:ec2::254]"] {
            assert!(refused(entry).contains("is an IP address"), "{entry}: {}", refused(entry));
        }
        assert!(refused("localhost").contains("loopback"));
        assert!(refused("localhost:8080").contains("loopback"));
        assert!(refused("api.localhost").contains("loopback"));
        assert!(refused("intranet").contains("single-label"));
        assert!(refused("metadata.google.internal").contains("`.internal` names resolve only inside"));
        assert!(refused("foo.local").contains("not under a public suffix"));
        assert!(refused("x.internal").contains("not under a public suffix"));
        assert!(refused("api.hostile.example").contains("not under a public suffix"));
        assert!(refused("*.com").contains("public suffix `com`"));
        assert!(refused("*.co.uk").contains("public suffix `co.uk`"));
        assert!(refused("*.github.io").contains("public suffix `github.io`"));
        assert!(refused("co.uk").contains("is a public suffix"));
        assert!(refused("api.example.com:0").contains("port"));
        assert!(refused("api.example.com:http").contains("port"));
        assert!(refused("api..example.com").contains("not a DNS name"));
        assert!(refused("-api.example.com").contains("not a DNS name"));
        assert!(refused("api.example.com.").contains("not a DNS name"));
        assert!(refused("*.*.example.com").contains("not a DNS name"));
        assert!(refused("api_x.example.com").contains("not a DNS name"));
    }

    proptest! {
        /// No IPv4 or IPv6 literal is ever a host pattern, with or without a port.
        #[test]
        fn ip_literals_never_pass(address in any::<std::net::IpAddr>(), port in 1u16..) {
            let entries = match address {
                IpAddr::V4(v4) => vec![v4.to_string(), format!("{v4}:{port}")],
                IpAddr::V6(v6) => vec![v6.to_string(), format!("[{v6}]"), format!("[{v6}]:{port}")],
            };
            for entry in entries {
                prop_assert!(HostPattern::parse(&entry).is_err(), "{}", entry);
            }
        }

        /// A wildcard covers exactly the names that end in `.parent`.
        #[test]
        fn wildcards_cover_strict_subdomains(sub in "[a-z0-9]{1,10}(\\.[a-z0-9]{1,10}){0,2}", other in "[a-z0-9]{1,12}") {
            let pattern = HostPattern::parse("*.example.com").unwrap();
            let covered = format!("{sub}.example.com");
            let lookalike = format!("{other}example.com");
            prop_assert!(pattern.matches(&covered));
            prop_assert!(!pattern.matches(&lookalike));
        }
    }
}
