//! What a payment module can do (API.md §2, "Capabilities"), declared in its manifest's
//! `runtime.capabilities`, so the ERP is shown only what works and the host refuses the rest
//! with 422 `unsupported` before any gateway is called.
//!
//! Absent, a module refunds in full and in parts (as every 1.0.0 provider's `refund` does),
//! takes any currency, country and amount, and has neither manual capture nor saved payment
//! methods. Those two need exports no contract version this host runs has yet (`capture`,
//! `void`, `charge-saved`), so a manifest declaring them is refused, naming the field.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::contract::ContractVersion;
use super::manifest::ManifestProblem;
use super::money::{Currency, Money};

/// Most currencies or countries a module may list (ISO 4217 has about 180, ISO 3166 249).
pub const MOST_LISTED: usize = 300;

/// How much of an operation a module does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Extent {
    None,
    Full,
    Partial,
}

/// The smallest and largest amount a module takes in one currency, as decimal text in that
/// currency's unit ("0.50").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AmountLimit {
    #[serde(default)]
    pub min: Option<String>,
    #[serde(default)]
    pub max: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capabilities {
    #[serde(default = "no_extent")]
    pub manual_capture: Extent,
    #[serde(default = "partial_extent")]
    pub refunds: Extent,
    #[serde(default)]
    pub tokenization: bool,
    /// ISO 4217 codes; absent: any.
    #[serde(default)]
    pub currencies: Option<Vec<String>>,
    /// ISO 3166-1 alpha-2 codes; absent: any.
    #[serde(default)]
    pub countries: Option<Vec<String>>,
    /// By currency code.
    #[serde(default)]
    pub amount_limits: BTreeMap<String, AmountLimit>,
}

fn no_extent() -> Extent {
    Extent::None
}

fn partial_extent() -> Extent {
    Extent::Partial
}

impl Default for Capabilities {
    fn default() -> Self {
        Self {
            manual_capture: Extent::None,
            refunds: Extent::Partial,
            tokenization: false,
            currencies: None,
            countries: None,
            amount_limits: BTreeMap::new(),
        }
    }
}

/// Why a module does not take a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Currency(String),
    Country(String),
    BelowMinimum { currency: &'static str, min: String },
    AboveMaximum { currency: &'static str, max: String },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Currency(code) => write!(f, "it does not take {code}"),
            Self::Country(code) => write!(f, "it does not take payments from {code}"),
            Self::BelowMinimum { currency, min } => write!(f, "it takes at least {currency} {min}"),
            Self::AboveMaximum { currency, max } => write!(f, "it takes at most {currency} {max}"),
        }
    }
}

impl Capabilities {
    /// Whether the module takes a payment in `currency` (of `amount_minor`, from `country`
    /// when given). Codes are compared in upper case.
    pub fn accepts(&self, currency: Currency, amount_minor: Option<i64>, country: Option<&str>) -> Result<(), Refusal> {
        let code = currency.code();
        if let Some(currencies) = &self.currencies {
            if !currencies.iter().any(|listed| listed.eq_ignore_ascii_case(code)) {
                return Err(Refusal::Currency(code.to_string()));
            }
        }
        if let Some(country) = country.filter(|country| !self.accepts_country(Some(country))) {
            return Err(Refusal::Country(country.to_ascii_uppercase()));
        }
        let limit = self.amount_limits.iter().find(|(listed, _)| listed.eq_ignore_ascii_case(code)).map(|(_, l)| l);
        if let (Some(limit), Some(amount)) = (limit, amount_minor) {
            let bound = |text: &Option<String>| text.as_deref().and_then(|t| Money::parse(t, currency).ok());
            if bound(&limit.min).is_some_and(|min| amount < min.minor) {
                return Err(Refusal::BelowMinimum { currency: code, min: limit.min.clone().unwrap_or_default() });
            }
            if bound(&limit.max).is_some_and(|max| amount > max.minor) {
                return Err(Refusal::AboveMaximum { currency: code, max: limit.max.clone().unwrap_or_default() });
            }
        }
        Ok(())
    }

    /// Whether the module takes payments from `country` (any when None or not listed).
    pub fn accepts_country(&self, country: Option<&str>) -> bool {
        match (&self.countries, country) {
            (Some(countries), Some(country)) => countries.iter().any(|listed| listed.eq_ignore_ascii_case(country)),
            _ => true,
        }
    }

    /// Every rule the declaration breaks for a module of contract `version`, each naming its
    /// field under `runtime.capabilities`.
    pub fn problems(&self, version: ContractVersion) -> Vec<ManifestProblem> {
        let mut problems = Vec::new();
        let mut problem = |field: &str, reason: String| {
            problems.push(ManifestProblem { field: format!("runtime.capabilities.{field}"), reason })
        };
        if self.manual_capture != Extent::None && version < ContractVersion::V1_1 {
            problem(
                "manual_capture",
                format!("needs the `capture` and `void` exports of contract 1.1.0; this module's world is {version}"),
            );
        }
        if self.tokenization && version < ContractVersion::V1_1 {
            problem(
                "tokenization",
                format!("needs the `charge-saved` export of contract 1.1.0; this module's world is {version}"),
            );
        }
        if let Some(currencies) = &self.currencies {
            check_list("currencies", currencies, &mut problem, |code| match Currency::parse(code) {
                Ok(currency) if currency.code() == code => None,
                Ok(currency) => Some(format!("`{code}` must be written `{}`", currency.code())),
                Err(error) => Some(error.to_string()),
            });
        }
        if let Some(countries) = &self.countries {
            check_list("countries", countries, &mut problem, |code| {
                let alpha2 = code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase());
                (!alpha2).then(|| format!("`{code}` is not an ISO 3166-1 alpha-2 code (two capital letters)"))
            });
        }
        if self.amount_limits.len() > MOST_LISTED {
            problem("amount_limits", format!("has {} currencies; at most {MOST_LISTED}", self.amount_limits.len()));
        }
        for (code, limit) in &self.amount_limits {
            let field = format!("amount_limits.{code}");
            let currency = match Currency::parse(code) {
                Ok(currency) if currency.code() == code => currency,
                _ => {
                    problem(&field, format!("`{code}` is not an ISO 4217 code in capitals"));
                    continue;
                }
            };
            if let Some(currencies) = &self.currencies {
                if !currencies.iter().any(|listed| listed == code) {
                    problem(&field, format!("{code} is not in runtime.capabilities.currencies"));
                }
            }
            let mut bound = |name: &str, text: &Option<String>| match text.as_deref().map(|t| Money::parse(t, currency))
            {
                Some(Ok(money)) => Some(money.minor),
                Some(Err(error)) => {
                    problem(&format!("{field}.{name}"), error.to_string());
                    None
                }
                None => None,
            };
            let (min, max) = (bound("min", &limit.min), bound("max", &limit.max));
            if limit.min.is_none() && limit.max.is_none() {
                problem(&field, "must give `min`, `max` or both".into());
            }
            if let (Some(min), Some(max)) = (min, max) {
                if min > max {
                    problem(&field, "`min` is more than `max`".into());
                }
            }
        }
        problems
    }
}

/// A list's rules: not empty, at most [`MOST_LISTED`], no repeats, each entry by `check`.
fn check_list(
    field: &str,
    entries: &[String],
    problem: &mut impl FnMut(&str, String),
    check: impl Fn(&str) -> Option<String>,
) {
    if entries.is_empty() {
        problem(field, "must list at least one, or be left out (any)".into());
    }
    if entries.len() > MOST_LISTED {
        problem(field, format!("has {} entries; at most {MOST_LISTED}", entries.len()));
        return;
    }
    let mut seen = BTreeSet::new();
    for entry in entries {
        if let Some(reason) = check(entry) {
            problem(field, reason);
        } else if !seen.insert(entry.as_str()) {
            problem(field, format!("`{entry}` is listed twice"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    fn declared(yaml: &str) -> Capabilities {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn nothing_declared_takes_everything_and_refunds_in_parts() {
        let none = Capabilities::default();
        assert_eq!(none.accepts(usd(), Some(i64::MAX), Some("ZZ")), Ok(()));
        assert_eq!((none.refunds, none.manual_capture, none.tokenization), (Extent::Partial, Extent::None, false));
        assert_eq!(declared("{}"), none);
        assert!(none.problems(ContractVersion::V1_0).is_empty());
    }

    #[test]
    fn currencies_countries_and_limits_refuse_what_they_leave_out() {
        let caps = declared(
            "{currencies: [USD, EUR], countries: [US, DE], amount_limits: {USD: {min: '0.50', max: '999999.99'}}}",
        );
        assert!(caps.problems(ContractVersion::V1_0).is_empty(), "{:?}", caps.problems(ContractVersion::V1_0));
        assert_eq!(caps.accepts(usd(), Some(50), Some("us")), Ok(()));
        assert_eq!(caps.accepts(usd(), Some(99_999_999), None), Ok(()));
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(caps.accepts(jpy, Some(100), None), Err(Refusal::Currency("JPY".into())));
        assert_eq!(caps.accepts(usd(), Some(100), Some("FR")), Err(Refusal::Country("FR".into())));
        assert_eq!(
            caps.accepts(usd(), Some(49), None),
            Err(Refusal::BelowMinimum { currency: "USD", min: "0.50".into() })
        );
        assert_eq!(
            caps.accepts(usd(), Some(100_000_000), None),
            Err(Refusal::AboveMaximum { currency: "USD", max: "999999.99".into() })
        );
        // EUR has no limits; no amount: only the currency counts.
        assert_eq!(caps.accepts(Currency::parse("EUR").unwrap(), Some(1), None), Ok(()));
        assert_eq!(caps.accepts(usd(), None, None), Ok(()));
    }

    #[test]
    fn a_bad_declaration_names_each_field() {
        let caps = declared(
            "{manual_capture: partial, tokenization: true, currencies: [USD, usd, XAU, USD], countries: [us, USA], \
             amount_limits: {JPY: {min: '0.5'}, USD: {min: '10', max: '1'}, EUR: {}}}",
        );
        let fields: Vec<String> =
            caps.problems(ContractVersion::V1_0).iter().map(|p| format!("{}: {}", p.field, p.reason)).collect();
        let has = |text: &str| fields.iter().any(|f| f.contains(text));
        for expected in [
            "runtime.capabilities.manual_capture: needs the `capture` and `void` exports of contract 1.1.0; this \
             module's world is 1.0.0",
            "runtime.capabilities.tokenization: needs the `charge-saved` export of contract 1.1.0",
            "currencies: `usd` must be written `USD`",
            "currencies: `XAU` is not an ISO 4217 currency",
            "currencies: `USD` is listed twice",
            "countries: `us` is not an ISO 3166-1 alpha-2 code",
            "countries: `USA` is not",
            "amount_limits.JPY: JPY is not in runtime.capabilities.currencies",
            "amount_limits.JPY.min: JPY has 0 decimal places",
            "amount_limits.USD: `min` is more than `max`",
            "amount_limits.EUR: must give `min`, `max` or both",
        ] {
            assert!(has(expected), "{expected} missing from {fields:#?}");
        }
        let fields: Vec<String> = caps.problems(ContractVersion::V1_1).into_iter().map(|p| p.field).collect();
        assert!(
            !fields.iter().any(|f| f.ends_with("manual_capture") || f.ends_with("tokenization")),
            "a 1.1.0 module may capture later and save methods: {fields:?}"
        );
        assert!(serde_yaml::from_str::<Capabilities>("{refunds: some}").is_err());
        assert!(serde_yaml::from_str::<Capabilities>("{colour: red}").is_err());
    }

    #[test]
    fn lists_are_bounded() {
        let many: Vec<String> = (0..=MOST_LISTED)
            .map(|i| format!("{}{}", (b'A' + (i / 26 % 26) as u8) as char, (b'A' + (i % 26) as u8) as char))
            .collect();
        let caps = Capabilities { countries: Some(many), ..Capabilities::default() };
        let problems = caps.problems(ContractVersion::V1_0);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].reason.contains("at most 300"), "{problems:?}");
    }
}
