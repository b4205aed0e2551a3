//! Integer fields of request bodies, read as JSON Schema reads `type: integer`: any JSON
//! number with no fractional part, so `94`, `94.0` and `9.4e1` are all 94. Clients that hold
//! every number as a float (Python's `float`, some JSON libraries' defaults) write `94.0`;
//! serde alone would refuse it although the document allows it.
//!
//! A float is taken only when it is whole and within ±2^53, where every integer has an exact
//! f64: a larger one may not be the number the client wrote (`9007199254740993.0` parses as
//! …992), so it is refused rather than rounded. Fields use
//! `#[serde(deserialize_with = "json_integer::required")]` or, for an `Option<i64>` with
//! `#[serde(default)]`, `deserialize_with = "json_integer::optional"` (`null` is absent).

use std::fmt;

use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

/// The largest magnitude up to which every integer is exactly an f64.
const EXACT_FLOAT_LIMIT: f64 = 9_007_199_254_740_992.0;

struct WholeNumber;

impl Visitor<'_> for WholeNumber {
    type Value = i64;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("an integer (a whole number from -2^63 to 2^63-1)")
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<i64, E> {
        Ok(value)
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<i64, E> {
        i64::try_from(value).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(value), &self))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<i64, E> {
        if value.fract() == 0.0 && value.abs() <= EXACT_FLOAT_LIMIT {
            // Whole and within ±2^53: the cast is exact.
            Ok(value as i64)
        } else {
            Err(E::invalid_value(de::Unexpected::Float(value), &self))
        }
    }
}

/// An `i64` field.
pub fn required<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    deserializer.deserialize_any(WholeNumber)
}

/// An `Option<i64>` field: `null` (or absent, with `#[serde(default)]`) is `None`.
pub fn optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    struct MaybeWholeNumber;

    impl<'de> Visitor<'de> for MaybeWholeNumber {
        type Value = Option<i64>;

        fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
            WholeNumber.expecting(formatter)?;
            formatter.write_str(" or null")
        }

        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            required(deserializer).map(Some)
        }
    }

    deserializer.deserialize_option(MaybeWholeNumber)
}

/// An integer query parameter, read as JSON Schema reads `type: integer`: the text of an
/// integer, or of a whole number written as a float (`5.0`, `1e+16`, what clients and tools
/// that hold numbers as floats send), within ±2^53 as for bodies. A fraction is refused.
fn query_integer(text: &str) -> Option<i64> {
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let looks_like_float = text.bytes().any(|b| matches!(b, b'.' | b'e' | b'E'));
    let value: f64 = text.parse().ok().filter(|_| looks_like_float)?;
    (value.is_finite() && value.fract() == 0.0 && value.abs() <= EXACT_FLOAT_LIMIT).then_some(value as i64)
}

fn query_error<E: de::Error>(text: &str) -> E {
    E::custom(format!("`{text}` is not an integer"))
}

/// An `i64` query parameter with `#[serde(default)]`.
pub fn query<'de, D: Deserializer<'de>>(deserializer: D) -> Result<i64, D::Error> {
    let text = String::deserialize(deserializer)?;
    query_integer(&text).ok_or_else(|| query_error(&text))
}

/// An `Option<i64>` query parameter (use with `#[serde(default)]`).
pub fn query_optional<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    let text: Option<String> = Option::deserialize(deserializer)?;
    text.map(|text| query_integer(&text).ok_or_else(|| query_error(&text))).transpose()
}

#[cfg(test)]
mod tests {
    use super::query_integer;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    struct Body {
        #[serde(deserialize_with = "super::required")]
        id: i64,
        #[serde(default, deserialize_with = "super::optional")]
        other: Option<i64>,
    }

    fn parse(json: &str) -> Result<Body, String> {
        serde_json::from_str::<Body>(json).map_err(|e| e.to_string())
    }

    #[test]
    fn whole_floats_are_integers() {
        for (json, id) in
            [("94", 94), ("94.0", 94), ("9.4e1", 94), ("-3.0", -3), ("0.0", 0), ("9007199254740992.0", 1 << 53)]
        {
            assert_eq!(parse(&format!(r#"{{"id": {json}}}"#)).expect(json).id, id, "{json}");
        }
        assert_eq!(parse(&format!(r#"{{"id": {}}}"#, i64::MAX)).expect("i64::MAX").id, i64::MAX);
        assert_eq!(parse(&format!(r#"{{"id": {}}}"#, i64::MIN)).expect("i64::MIN").id, i64::MIN);
    }

    #[test]
    fn fractions_strings_and_inexact_or_overflowing_numbers_are_refused() {
        for json in ["94.5", "\"94\"", "true", "9007199254740994.0", "1e300", "9223372036854775808", "null"] {
            let error = parse(&format!(r#"{{"id": {json}}}"#)).expect_err(json);
            assert!(error.contains("an integer"), "{json}: {error}");
        }
    }

    #[test]
    fn an_optional_integer_is_absent_null_or_whole() {
        assert_eq!(parse(r#"{"id": 1}"#).expect("absent").other, None);
        assert_eq!(parse(r#"{"id": 1, "other": null}"#).expect("null").other, None);
        assert_eq!(parse(r#"{"id": 1, "other": 7.0}"#).expect("7.0").other, Some(7));
        assert!(parse(r#"{"id": 1, "other": 7.5}"#).expect_err("7.5").contains("an integer"));
    }

    #[test]
    fn query_integers_take_whole_floats_and_refuse_fractions() {
        assert_eq!(query_integer("42"), Some(42));
        assert_eq!(query_integer("-7"), Some(-7));
        assert_eq!(query_integer("1099511627775.0"), Some(1_099_511_627_775));
        assert_eq!(query_integer("1e+16"), None, "beyond 2^53 a float may not be the number written");
        assert_eq!(query_integer("1e3"), Some(1000));
        for refused in ["1.5", "one", "", "NaN", "inf", "1.0.0", " 1"] {
            assert_eq!(query_integer(refused), None, "{refused}");
        }
    }
}
