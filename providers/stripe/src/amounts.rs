//! Amounts between the host's ISO 4217 minor units and Stripe's.
//!
//! The host counts money in the currency's ISO 4217 minor unit (JPY 0 decimals, USD 2, KWD
//! 3). Stripe counts in "the currency's smallest unit" by its own rules
//! (<https://docs.stripe.com/currencies>):
//! - zero-decimal currencies (JPY, KRW, …) take whole units;
//! - three-decimal currencies (BHD, JOD, KWD, OMR, TND) take thousandths, but the last digit
//!   must be 0;
//! - every other currency takes hundredths. That includes ISK, which ISO counts without
//!   decimals but Stripe still counts in hundredths (5 ISK is 500), and MGA, which ISO gives
//!   two decimals but Stripe treats as zero-decimal. HUF and TWD are zero-decimal at Stripe
//!   for payouts only; charges and refunds use hundredths like ISO.
//!
//! Nothing is ever rounded: an amount Stripe cannot express is refused with a message.

/// Stripe's zero-decimal currencies.
const STRIPE_ZERO_DECIMAL: &[&str] =
    &["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

/// Stripe's three-decimal currencies, whose amounts must end in 0.
const STRIPE_THREE_DECIMAL: &[&str] = &["BHD", "JOD", "KWD", "OMR", "TND"];

/// ISO 4217 currencies whose minor unit is not hundredths.
const ISO_EXPONENTS: &[(u32, &[&str])] = &[
    (
        0,
        &[
            "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND", "VUV", "XAF",
            "XOF", "XPF",
        ],
    ),
    (3, &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"]),
    (4, &["CLF", "UYW"]),
];

fn iso_exponent(currency: &str) -> u32 {
    ISO_EXPONENTS.iter().find(|(_, codes)| codes.contains(&currency)).map_or(2, |(exponent, _)| *exponent)
}

fn stripe_exponent(currency: &str) -> u32 {
    if STRIPE_ZERO_DECIMAL.contains(&currency) {
        0
    } else if STRIPE_THREE_DECIMAL.contains(&currency) {
        3
    } else {
        2
    }
}

/// `minor` ISO minor units written as a decimal ("12.345").
fn decimal(minor: i64, exponent: u32) -> String {
    if exponent == 0 {
        return minor.to_string();
    }
    let factor = 10i64.pow(exponent);
    format!("{}.{:0width$}", minor / factor, (minor % factor).abs(), width = exponent as usize)
}

/// The host's amount (ISO minor units) in Stripe's units, or why Stripe cannot charge it.
pub fn to_stripe(minor: i64, currency: &str) -> Result<i64, String> {
    let currency = currency.to_ascii_uppercase();
    let (iso, stripe) = (iso_exponent(&currency), stripe_exponent(&currency));
    let amount = if stripe >= iso {
        minor.checked_mul(10i64.pow(stripe - iso))
    } else {
        let factor = 10i64.pow(iso - stripe);
        if minor % factor != 0 {
            return Err(format!(
                "Stripe charges {currency} in whole units only; {} {currency} cannot be charged.",
                decimal(minor, iso)
            ));
        }
        Some(minor / factor)
    };
    let amount = amount.ok_or_else(|| format!("The amount is too large for Stripe ({currency})."))?;
    if stripe == 3 && amount % 10 != 0 {
        return Err(format!(
            "Stripe accepts {currency} amounts only in steps of 0.010; {} {currency} cannot be charged.",
            decimal(minor, iso)
        ));
    }
    Ok(amount)
}

/// A Stripe amount in the host's ISO minor units (rounded down when Stripe holds a fraction
/// the ISO unit cannot express, which only legacy ISK charges can).
pub fn from_stripe(amount: i64, currency: &str) -> i64 {
    let currency = currency.to_ascii_uppercase();
    let (iso, stripe) = (iso_exponent(&currency), stripe_exponent(&currency));
    if iso >= stripe {
        amount.saturating_mul(10i64.pow(iso - stripe))
    } else {
        amount / 10i64.pow(stripe - iso)
    }
}
