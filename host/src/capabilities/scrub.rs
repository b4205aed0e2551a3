//! Keeps secret values out of the sandbox and the log: every occurrence of an integration's
//! secret credential values, in the forms the host sends them (raw, base64 as in Basic auth,
//! URL-encoded, JSON-escaped), is replaced with [`MARKER`] before a gateway's response reaches
//! the provider, and before a provider's log line reaches the host's log. An endpoint that
//! echoes its request (or a gateway that returns a key in its answer) hands the provider the
//! marker, never the value.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use base64::Engine as _;
use zeroize::Zeroizing;

/// What a removed secret is replaced with.
pub const MARKER: &str = "[REDACTED]";

/// The values to remove; add every secret, then [`Scrubber::build`].
#[derive(Default)]
pub struct ScrubList {
    forms: Vec<Zeroizing<Vec<u8>>>,
}

impl ScrubList {
    /// A secret value, in every form the host may send it or a gateway may echo it.
    pub fn secret(&mut self, value: &str) {
        if value.is_empty() {
            return;
        }
        let engines = [
            &base64::engine::general_purpose::STANDARD,
            &base64::engine::general_purpose::STANDARD_NO_PAD,
            &base64::engine::general_purpose::URL_SAFE,
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        ];
        self.form(value.as_bytes().to_vec());
        for engine in engines {
            self.form(engine.encode(value).into_bytes());
        }
        // `+` for spaces (forms) and `%20` (paths and most echoes).
        let form_encoded: String = url::form_urlencoded::byte_serialize(value.as_bytes()).collect();
        self.form(form_encoded.replace('+', "%20").into_bytes());
        self.form(form_encoded.into_bytes());
        let json = serde_json::to_string(value).unwrap_or_default();
        self.form(json.as_bytes()[1..json.len().saturating_sub(1)].to_vec());
        self.form(value.replace('/', "\\/").into_bytes());
    }

    /// A value made of several credentials, as one Basic auth pair `user:password`: the
    /// pair's base64 holds the secret without holding its base64.
    pub fn basic_pair(&mut self, user: &str, password: &str) {
        self.secret(&format!("{user}:{password}"));
    }

    /// Adds another list's values.
    pub fn extend(&mut self, other: ScrubList) {
        for form in other.forms {
            self.form(form.to_vec());
        }
    }

    fn form(&mut self, bytes: Vec<u8>) {
        let form = Zeroizing::new(bytes);
        if !form.is_empty() && !self.forms.contains(&form) {
            self.forms.push(form);
        }
    }

    pub fn build(self) -> Scrubber {
        // Longest first, so a base64 form is removed whole rather than around a shorter one.
        let matcher = (!self.forms.is_empty()).then(|| {
            // A contiguous NFA: built in a few microseconds (a DFA takes tens), and the
            // prefilter keeps the scan fast.
            AhoCorasick::builder()
                .kind(Some(AhoCorasickKind::ContiguousNFA))
                .match_kind(MatchKind::LeftmostLongest)
                .build(self.forms.iter().map(|form| form.as_slice()))
                .expect("literal patterns always build")
        });
        Scrubber { matcher }
    }
}

/// Replaces every form of the listed secrets with [`MARKER`].
pub struct Scrubber {
    matcher: Option<AhoCorasick>,
}

impl Scrubber {
    pub fn bytes<'a>(&self, input: &'a [u8]) -> Cow<'a, [u8]> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(input) => {
                let markers = vec![MARKER.as_bytes(); matcher.patterns_len()];
                Cow::Owned(matcher.replace_all_bytes(input, &markers))
            }
            _ => Cow::Borrowed(input),
        }
    }

    pub fn text<'a>(&self, input: &'a str) -> Cow<'a, str> {
        match &self.matcher {
            Some(matcher) if matcher.is_match(input) => {
                let markers = vec![MARKER; matcher.patterns_len()];
                Cow::Owned(matcher.replace_all(input, &markers))
            }
            _ => Cow::Borrowed(input),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrubber(secrets: &[&str]) -> Scrubber {
        let mut list = ScrubList::default();
        for secret in secrets {
            list.secret(secret);
        }
        list.build()
    }

    #[test]
    fn every_form_of_a_secret_is_replaced() {
        let secret = "sk_test_a+b/c d?\"é";
        let scrub = scrubber(&[secret]);
        let base64 = base64::engine::general_purpose::STANDARD.encode(secret);
        let url_safe = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        let json = serde_json::to_string(secret).unwrap();
        for echoed in [secret.to_string(), base64, url_safe, form.clone(), form.replace('+', "%20"), json] {
            let body = format!("{{\"echo\":\"{echoed}\",\"n\":1}}");
            let scrubbed = scrub.text(&body);
            assert!(!scrubbed.contains(&echoed), "{echoed} survived: {scrubbed}");
            assert!(scrubbed.contains(MARKER), "{scrubbed}");
            assert!(scrubbed.ends_with(",\"n\":1}"), "the rest is kept: {scrubbed}");
        }
    }

    #[test]
    fn a_basic_pair_is_removed_whole_as_sent() {
        let mut list = ScrubList::default();
        list.secret("auth_token_123");
        list.basic_pair("AC123", "auth_token_123");
        let scrub = list.build();
        let header = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("AC123:auth_token_123"));
        assert_eq!(scrub.text(&header), format!("Basic {MARKER}"));
        assert_eq!(scrub.text("account AC123"), "account AC123", "plain values stay");
    }

    #[test]
    fn bytes_without_secrets_are_not_copied() {
        let scrub = scrubber(&["whsec_abc"]);
        assert!(matches!(scrub.bytes(b"{\"ok\":true}"), Cow::Borrowed(_)));
        assert_eq!(&*scrub.bytes(b"\xffwhsec_abc\xfe"), [b"\xff", MARKER.as_bytes(), b"\xfe"].concat().as_slice());
        let none = ScrubList::default().build();
        assert_eq!(none.text("anything"), "anything");
    }
}
