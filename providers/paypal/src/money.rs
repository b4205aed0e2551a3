//! Money between the host (integer minor units in the currency's ISO 4217 exponent) and
//! PayPal (a decimal string in PayPal's own precision for the currency). Pure integer code.
//!
//! PayPal's precision differs from ISO for some currencies: HUF and TWD have two ISO decimals
//! but none at PayPal, so only whole amounts can be sent. Currencies PayPal does not accept
//! (KWD, BHD, …) are refused before anything is sent.

/// A currency PayPal accepts: code, ISO 4217 exponent, decimals PayPal allows.
struct PayPalCurrency {
    code: &'static str,
    iso_exponent: u32,
    decimals: u32,
}

const fn c(code: &'static str, iso_exponent: u32, decimals: u32) -> PayPalCurrency {
    PayPalCurrency { code, iso_exponent, decimals }
}

/// PayPal's currency codes for payments (developer.paypal.com/reference/currency-codes).
const CURRENCIES: &[PayPalCurrency] = &[
    c("AUD", 2, 2),
    c("BRL", 2, 2),
    c("CAD", 2, 2),
    c("CHF", 2, 2),
    c("CNY", 2, 2),
    c("CZK", 2, 2),
    c("DKK", 2, 2),
    c("EUR", 2, 2),
    c("GBP", 2, 2),
    c("HKD", 2, 2),
    c("HUF", 2, 0),
    c("ILS", 2, 2),
    c("JPY", 0, 0),
    c("MXN", 2, 2),
    c("MYR", 2, 2),
    c("NOK", 2, 2),
    c("NZD", 2, 2),
    c("PHP", 2, 2),
    c("PLN", 2, 2),
    c("SEK", 2, 2),
    c("SGD", 2, 2),
    c("THB", 2, 2),
    c("TWD", 2, 0),
    c("USD", 2, 2),
];

fn lookup(code: &str) -> Option<&'static PayPalCurrency> {
    CURRENCIES.iter().find(|c| c.code == code)
}

/// Why an amount cannot be sent to PayPal.
#[derive(Debug, PartialEq, Eq)]
pub enum AmountError {
    /// PayPal does not accept this currency.
    UnsupportedCurrency(String),
    /// The amount has a fraction PayPal cannot express in this currency.
    Fraction {
        currency: String,
        amount: String,
    },
    NotPositive,
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::UnsupportedCurrency(code) => write!(f, "PayPal does not accept payments in {code}."),
            Self::Fraction { currency, amount } => {
                write!(f, "PayPal accepts only whole {currency} amounts; {amount} {currency} has a fraction.")
            }
            Self::NotPositive => f.write_str("The amount must be greater than zero."),
        }
    }
}

/// Formats integer digits with `decimals` places ("1999", 2 → "19.99").
fn decimal_text(units: i64, decimals: u32) -> String {
    if decimals == 0 {
        return units.to_string();
    }
    let scale = 10i64.pow(decimals);
    format!("{}.{:0width$}", units / scale, units % scale, width = decimals as usize)
}

/// The `value` PayPal expects for `minor` units of `currency`.
pub fn to_paypal(minor: i64, currency: &str) -> Result<String, AmountError> {
    let spec = lookup(currency).ok_or_else(|| AmountError::UnsupportedCurrency(currency.to_string()))?;
    if minor <= 0 {
        return Err(AmountError::NotPositive);
    }
    let factor = 10i64.pow(spec.iso_exponent - spec.decimals);
    if minor % factor != 0 {
        return Err(AmountError::Fraction {
            currency: currency.to_string(),
            amount: decimal_text(minor, spec.iso_exponent),
        });
    }
    Ok(decimal_text(minor / factor, spec.decimals))
}

/// Minor units (ISO exponent) of a PayPal `value`; None when it is not a plain decimal.
pub fn from_paypal(value: &str, currency: &str) -> Option<i64> {
    let exponent = lookup(currency)?.iso_exponent;
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || (value.contains('.') && !digits(fraction)) {
        return None;
    }
    let fraction = fraction.trim_end_matches('0');
    if fraction.len() > exponent as usize {
        return None;
    }
    let mut minor = whole.parse::<i64>().ok()?.checked_mul(10i64.pow(exponent))?;
    if !fraction.is_empty() {
        let scale = 10i64.pow(exponent - fraction.len() as u32);
        minor = minor.checked_add(fraction.parse::<i64>().ok()? * scale)?;
    }
    Some(minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_in_paypal_precision() {
        assert_eq!(to_paypal(1999, "USD").unwrap(), "19.99");
        assert_eq!(to_paypal(500, "EUR").unwrap(), "5.00");
        assert_eq!(to_paypal(7, "USD").unwrap(), "0.07");
        assert_eq!(to_paypal(1500, "JPY").unwrap(), "1500");
        assert_eq!(to_paypal(100_000, "HUF").unwrap(), "1000");
        assert!(matches!(to_paypal(100_050, "HUF"), Err(AmountError::Fraction { .. })));
        assert!(matches!(to_paypal(1234, "KWD"), Err(AmountError::UnsupportedCurrency(_))));
        assert_eq!(to_paypal(0, "USD"), Err(AmountError::NotPositive));
    }

    #[test]
    fn parses_paypal_values() {
        assert_eq!(from_paypal("19.99", "USD"), Some(1999));
        assert_eq!(from_paypal("10", "USD"), Some(1000));
        assert_eq!(from_paypal("1000", "HUF"), Some(100_000));
        assert_eq!(from_paypal("1500", "JPY"), Some(1500));
        assert_eq!(from_paypal("1.5", "JPY"), None);
        assert_eq!(from_paypal("-1.00", "USD"), None);
        assert_eq!(from_paypal("1.", "USD"), None);
    }
}
