//! Money as integer minor units of an ISO 4217 currency. Amounts arrive as decimal text
//! ("19.99") and are converted exactly, never through floating point.

use std::fmt;

/// An ISO 4217 currency that has a minor unit (so not XAU, XDR, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    /// Looks up an alphabetic code; lower case is accepted.
    pub fn parse(code: &str) -> Result<Self, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let currency =
            iso_currency::Currency::from_code(&upper).ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))?;
        match currency.exponent() {
            Some(_) => Ok(Self(currency)),
            None => Err(MoneyError::UnknownCurrency(code.to_string())),
        }
    }

    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point: 0 for JPY, 2 for USD, 3 for KWD.
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }
}

/// A positive amount in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Money {
    pub minor: i64,
    pub currency: Currency,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("`{0}` is not an ISO 4217 currency code with a minor unit")]
    UnknownCurrency(String),
    #[error("`{0}` is not a decimal amount (digits with an optional `.` and decimals)")]
    NotADecimal(String),
    #[error("{currency} has {exponent} decimal places; `{text}` has more")]
    TooManyDecimals { text: String, currency: &'static str, exponent: u32 },
    #[error("the amount must be greater than zero")]
    NotPositive,
    #[error("the amount `{0}` is too large")]
    TooLarge(String),
}

impl Money {
    /// Parses a decimal amount exactly. Accepts `19.99`, `19.9`, `19`, `0.5`; refuses signs,
    /// exponents, more decimals than the currency has, zero and overflow.
    pub fn parse(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        if let Some(unsigned) = text.strip_prefix('-') {
            return match Self::parse(unsigned, currency) {
                Ok(_) | Err(MoneyError::NotPositive) => Err(MoneyError::NotPositive),
                Err(_) => Err(MoneyError::NotADecimal(text.to_string())),
            };
        }
        let not_decimal = || MoneyError::NotADecimal(text.to_string());
        let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
        let digits_only = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits_only(whole) || !digits_only(fraction) || text.ends_with('.') {
            return Err(not_decimal());
        }
        let exponent = currency.exponent();
        let fraction = fraction.trim_end_matches('0');
        if fraction.len() > exponent as usize {
            return Err(MoneyError::TooManyDecimals { text: text.to_string(), currency: currency.code(), exponent });
        }
        let too_large = || MoneyError::TooLarge(text.to_string());
        let mut minor: i64 = whole.parse().map_err(|_| too_large())?;
        minor = minor.checked_mul(10i64.pow(exponent)).ok_or_else(too_large)?;
        if !fraction.is_empty() {
            let scale = 10i64.pow(exponent - fraction.len() as u32);
            let fraction_minor: i64 = fraction.parse().map_err(|_| not_decimal())?;
            minor = minor.checked_add(fraction_minor * scale).ok_or_else(too_large)?;
        }
        if minor == 0 {
            return Err(MoneyError::NotPositive);
        }
        Ok(Self { minor, currency })
    }
}

/// Formats minor units as a decimal string in the currency's exponent ("19.99", "1000").
pub fn format_minor(minor: i64, currency: Currency) -> String {
    let exponent = currency.exponent();
    if exponent == 0 {
        return minor.to_string();
    }
    let scale = 10i64.pow(exponent);
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:0width$}", abs / scale as u64, abs % scale as u64, width = exponent as usize)
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", format_minor(self.minor, self.currency), self.currency.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn usd() -> Currency {
        Currency::parse("USD").unwrap()
    }

    #[test]
    fn parses_within_the_currency_exponent() {
        assert_eq!(Money::parse("19.99", usd()).unwrap().minor, 1999);
        assert_eq!(Money::parse("19.9", usd()).unwrap().minor, 1990);
        assert_eq!(Money::parse("19", usd()).unwrap().minor, 1900);
        assert_eq!(Money::parse("0.01", usd()).unwrap().minor, 1);
        assert_eq!(Money::parse("19.990", usd()).unwrap().minor, 1999);
        assert_eq!(Money::parse("1000", Currency::parse("JPY").unwrap()).unwrap().minor, 1000);
        assert_eq!(Money::parse("1.234", Currency::parse("KWD").unwrap()).unwrap().minor, 1234);
    }

    #[test]
    fn refuses_what_is_not_an_exact_positive_amount() {
        assert!(matches!(Money::parse("19.999", usd()), Err(MoneyError::TooManyDecimals { .. })));
        assert!(matches!(
            Money::parse("1.5", Currency::parse("JPY").unwrap()),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        assert_eq!(Money::parse("0", usd()), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("0.00", usd()), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("-5", usd()), Err(MoneyError::NotPositive));
        assert_eq!(Money::parse("-5.10", usd()), Err(MoneyError::NotPositive));
        for bad in ["", ".5", "5.", "1e3", "abc", "1,00", " 1", "+1", "1.2.3", "NaN"] {
            assert!(matches!(Money::parse(bad, usd()), Err(MoneyError::NotADecimal(_))), "{bad:?}");
        }
        assert!(matches!(Money::parse("99999999999999999999", usd()), Err(MoneyError::TooLarge(_))));
        assert!(Money::parse("92233720368547758.07", usd()).is_ok());
        assert!(matches!(Money::parse("92233720368547758.08", usd()), Err(MoneyError::TooLarge(_))));
    }

    #[test]
    fn knows_currencies_and_their_exponents() {
        assert_eq!(Currency::parse("usd").unwrap().code(), "USD");
        assert_eq!(Currency::parse("JPY").unwrap().exponent(), 0);
        assert_eq!(Currency::parse("KWD").unwrap().exponent(), 3);
        assert!(Currency::parse("XYZ").is_err());
        assert!(Currency::parse("XAU").is_err(), "no minor unit, not payable");
    }

    #[test]
    fn formats_minor_units() {
        assert_eq!(format_minor(1999, usd()), "19.99");
        assert_eq!(format_minor(5, usd()), "0.05");
        assert_eq!(format_minor(1000, Currency::parse("JPY").unwrap()), "1000");
        assert_eq!(format_minor(1, Currency::parse("KWD").unwrap()), "0.001");
    }

    proptest! {
        #[test]
        fn format_then_parse_is_identity(minor in 1i64..i64::MAX, code in prop::sample::select(vec!["USD", "JPY", "KWD", "EUR", "BHD", "CLP"])) {
            let currency = Currency::parse(code).unwrap();
            let text = format_minor(minor, currency);
            prop_assert_eq!(Money::parse(&text, currency).unwrap().minor, minor);
        }

        #[test]
        fn parse_never_panics_and_never_yields_non_positive(text in "[-+0-9.eE ]{0,24}") {
            if let Ok(money) = Money::parse(&text, usd()) {
                prop_assert!(money.minor > 0);
            }
        }
    }
}
