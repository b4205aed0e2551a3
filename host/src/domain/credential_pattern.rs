//! A credential's shape (API.md §2 "Credential shapes"): `pattern: REGEX`, or `pattern: {test:
//! REGEX, live: REGEX}` by the integration's mode. The whole value must match. The host checks
//! it, secret credentials included, so a live key cannot be enabled in Test mode (nor a test
//! key in Live mode) although the provider never sees the key. Pure: no I/O.

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};

use super::manifest::CredentialField;

/// Longest pattern a manifest may give.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// Most memory one compiled pattern may take.
const MAX_COMPILED_BYTES: usize = 256 * 1024;

/// The integration's payment state, which picks the pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Test,
    Live,
}

impl Mode {
    /// From the integration's `payment_state` ("Test" or "Live").
    pub fn of_state(payment_state: &str) -> Self {
        if payment_state == "Live" {
            Self::Live
        } else {
            Self::Test
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Test => "Test",
            Self::Live => "Live",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum CredentialPattern {
    /// One shape in both modes.
    Always(String),
    /// A shape per mode; a mode without one takes any value.
    ByMode(PatternByMode),
}

#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatternByMode {
    #[serde(default)]
    pub test: Option<String>,
    #[serde(default)]
    pub live: Option<String>,
}

impl CredentialPattern {
    /// The pattern that applies in `mode`, if any.
    pub fn for_mode(&self, mode: Mode) -> Option<&str> {
        match self {
            Self::Always(pattern) => Some(pattern),
            Self::ByMode(by_mode) => match mode {
                Mode::Test => by_mode.test.as_deref(),
                Mode::Live => by_mode.live.as_deref(),
            },
        }
    }

    /// Every pattern it holds, with the mode it is for (None: both).
    fn each(&self) -> Vec<(Option<Mode>, &str)> {
        match self {
            Self::Always(pattern) => vec![(None, pattern.as_str())],
            Self::ByMode(by_mode) => [(Mode::Test, &by_mode.test), (Mode::Live, &by_mode.live)]
                .into_iter()
                .filter_map(|(mode, pattern)| pattern.as_deref().map(|pattern| (Some(mode), pattern)))
                .collect(),
        }
    }

    /// Why the manifest's patterns cannot be used, if they cannot: each reason names the mode.
    pub fn problems(&self) -> Vec<String> {
        let each = self.each();
        if each.is_empty() {
            return vec!["give `test`, `live` or both".into()];
        }
        each.into_iter()
            .filter_map(|(mode, pattern)| {
                let which = mode.map(|mode| format!(" ({} mode)", mode.as_str())).unwrap_or_default();
                compile(pattern).err().map(|reason| format!("the pattern{which} {reason}"))
            })
            .collect()
    }

    /// Whether `value` fits `mode`. A pattern that does not compile (refused at install)
    /// fits nothing.
    pub fn fits(&self, value: &str, mode: Mode) -> bool {
        match self.for_mode(mode) {
            None => true,
            Some(pattern) => compile(pattern).is_ok_and(|regex| regex.is_match(value)),
        }
    }
}

/// The credential's value does not fit `mode`: what the merchant is told (never the value).
pub fn misfit_message(field: &CredentialField, mode: Mode) -> String {
    let expected = match (&field.hint, field.pattern.as_ref().and_then(|p| p.for_mode(mode))) {
        (Some(hint), _) => hint.clone(),
        (None, Some(pattern)) => format!("a value matching `{pattern}`"),
        (None, None) => "another value".into(),
    };
    format!(
        "{} ({}): the value does not fit {} mode; expected {expected}.",
        field.description,
        field.name,
        mode.as_str()
    )
}

/// Compiles a pattern anchored at both ends, within the host's size limits.
fn compile(pattern: &str) -> Result<Regex, String> {
    if pattern.len() > MAX_PATTERN_BYTES {
        return Err(format!("has {} bytes, over the limit of {MAX_PATTERN_BYTES}", pattern.len()));
    }
    RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(MAX_COMPILED_BYTES)
        .dfa_size_limit(MAX_COMPILED_BYTES)
        .build()
        .map_err(|error| match error {
            regex::Error::CompiledTooBig(_) => "is too large once compiled".to_string(),
            other => format!("is not a valid regular expression: {}", other.to_string().lines().last().unwrap_or("")),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn by_mode(test: &str, live: &str) -> CredentialPattern {
        CredentialPattern::ByMode(PatternByMode { test: Some(test.into()), live: Some(live.into()) })
    }

    #[test]
    fn the_whole_value_must_fit_the_mode() {
        let stripe = by_mode("(sk|rk)_test_[0-9A-Za-z]+", "(sk|rk)_live_[0-9A-Za-z]+");
        assert!(stripe.fits("sk_test_51Abc", Mode::Test));
        assert!(stripe.fits("rk_test_51Abc", Mode::Test));
        assert!(!stripe.fits("sk_live_51Abc", Mode::Test));
        assert!(!stripe.fits("sk_test_51Abc", Mode::Live));
        assert!(!stripe.fits("xsk_test_51Abc", Mode::Test), "anchored at the start");
        assert!(!stripe.fits("sk_test_51Abc sk_live_1", Mode::Test), "anchored at the end");
        assert!(!stripe.fits("sk_test_51Abc\n", Mode::Test), "a newline is not part of a key");
        let always = CredentialPattern::Always("whsec_[0-9A-Za-z]+".into());
        assert!(always.fits("whsec_abc", Mode::Test) && always.fits("whsec_abc", Mode::Live));
        let live_only = CredentialPattern::ByMode(PatternByMode { test: None, live: Some("live_.+".into()) });
        assert!(live_only.fits("anything", Mode::Test) && !live_only.fits("anything", Mode::Live));
    }

    #[test]
    fn unusable_patterns_are_named_with_their_mode() {
        assert_eq!(by_mode("sk_(", "sk_live_.+").problems().len(), 1);
        assert!(by_mode("sk_(", "sk_live_.+").problems()[0].starts_with("the pattern (Test mode) is not a valid"));
        let huge = CredentialPattern::Always("a{1000}{1000}".into());
        assert!(huge.problems()[0].contains("too large"), "{:?}", huge.problems());
        let long = CredentialPattern::Always("a".repeat(MAX_PATTERN_BYTES + 1));
        assert!(long.problems()[0].contains("over the limit"));
        let empty = CredentialPattern::ByMode(PatternByMode { test: None, live: None });
        assert_eq!(empty.problems(), ["give `test`, `live` or both"]);
        assert!(!CredentialPattern::Always("(".into()).fits("(", Mode::Test), "a broken pattern fits nothing");
    }

    #[test]
    fn a_manifest_with_a_broken_pattern_names_the_field() {
        let yaml = include_str!("../../../manifests/payment_mygateway.yaml").replace(
            "description: Secret Key, required: true, secret: true }",
            "description: Secret Key, required: true, secret: true, pattern: {test: 'sk_(', live: 'sk_live_.+'} }",
        );
        let error = super::super::manifest::Manifest::parse(&yaml).unwrap_err();
        assert_eq!(error.problems.len(), 1, "{error}");
        assert_eq!(error.problems[0].field, "runtime.credentials[1].pattern");
        assert!(error.problems[0].reason.contains("(Test mode) is not a valid regular expression"), "{error}");
    }

    #[test]
    fn both_yaml_forms_parse() {
        let one: CredentialPattern = serde_yaml::from_str("'whsec_.+'").unwrap();
        assert!(matches!(one, CredentialPattern::Always(_)));
        let two: CredentialPattern = serde_yaml::from_str("{test: 'pk_test_.+', live: 'pk_live_.+'}").unwrap();
        assert_eq!(two.for_mode(Mode::Live), Some("pk_live_.+"));
        assert!(serde_yaml::from_str::<CredentialPattern>("{tset: 'x'}").is_err(), "unknown keys are refused");
    }
}
