//! Escaping for the human log format: every field value, the message included, is written
//! with control characters (newlines, carriage returns, escape sequences) and invisible
//! line or direction marks spelled out, so one event is always one line whatever a provider
//! or caller put into it.

use std::fmt::{self, Write as _};

use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::FormatFields;

/// `DefaultFields`, escaped (see the module docs).
#[derive(Debug, Default)]
pub struct EscapedFields {
    inner: DefaultFields,
}

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut plain = String::new();
        self.inner.format_fields(Writer::new(&mut plain), fields)?;
        writer.write_str(&escape_control(&plain))
    }
}

/// True for characters that could end a log line or disguise one.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with control and invisible layout characters written as `\n`, `\r`, `\t` or
/// `\u{…}`. Borrowed when nothing needs escaping.
pub fn escape_control(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return text.into();
    }
    let mut escaped = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match c {
            '\n' => escaped.push_str("\\n"),
            '\r' => escaped.push_str("\\r"),
            '\t' => escaped.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(escaped, "\\u{{{:x}}}", c as u32);
            }
            c => escaped.push(c),
        }
    }
    escaped.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn line_breaks_and_escape_sequences_are_spelled_out() {
        assert_eq!(escape_control("a\nb\r\tc\x1b[2K\u{2028}\u{202e}"), "a\\nb\\r\\tc\\u{1b}[2K\\u{2028}\\u{202e}");
        assert!(matches!(escape_control("plain text"), std::borrow::Cow::Borrowed(_)));
    }

    proptest! {
        #[test]
        fn escaped_text_has_no_control_characters(text in any::<String>()) {
            let escaped = escape_control(&text);
            prop_assert!(!escaped.chars().any(needs_escape));
        }
    }
}
