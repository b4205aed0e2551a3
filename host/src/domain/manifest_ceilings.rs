//! Ceilings a manifest's text must stay under before the YAML parser sees it. YAML parsers
//! take time quadratic in the nesting of flow collections (`[[[[…`: 100,000 levels in 200 KB
//! took libyaml 14–18 s), so the host bounds the size and counts brackets first. Brackets are
//! counted, not matched: a `]` inside a quoted string cannot then hide a `[`, and the count is
//! an upper bound of the flow nesting whatever the text holds. Pure: no I/O.

/// Largest manifest the host reads.
pub const MAX_MANIFEST_BYTES: usize = 64 * 1024;
/// Most flow collections (`[` and `{`, quoted text included) in one manifest; also a bound
/// of how deep flow collections can nest. The shipped manifests have 7.
pub const MAX_FLOW_BRACKETS: usize = 256;
/// Deepest block nesting (indentation levels and `- ` entries on one line).
pub const MAX_BLOCK_DEPTH: usize = 32;

/// Why a manifest's text is refused unread: (field, reason).
pub fn check_manifest_text(text: &str) -> Result<(), String> {
    if text.len() > MAX_MANIFEST_BYTES {
        return Err(format!("{} bytes is over the host's limit of {MAX_MANIFEST_BYTES} bytes", text.len()));
    }
    let brackets = text.bytes().filter(|b| matches!(b, b'[' | b'{')).count();
    if brackets > MAX_FLOW_BRACKETS {
        return Err(format!(
            "{brackets} `[` or `{{` is over the host's limit of {MAX_FLOW_BRACKETS} (write long lists in block style)"
        ));
    }
    let depth = block_depth(text);
    if depth > MAX_BLOCK_DEPTH {
        return Err(format!("nested {depth} levels deep, over the host's limit of {MAX_BLOCK_DEPTH}"));
    }
    Ok(())
}

/// An upper bound of the block nesting: the open indentation levels, plus the `- `/`? `
/// entries that open on one line (`- - - x`).
fn block_depth(text: &str) -> usize {
    let mut indents: Vec<usize> = Vec::new();
    let mut deepest = 0;
    for line in text.lines() {
        let content = line.trim_start_matches(' ');
        if content.is_empty() || content.starts_with('#') {
            continue;
        }
        let indent = line.len() - content.len();
        while indents.last().is_some_and(|&open| open > indent) {
            indents.pop();
        }
        if indents.last() != Some(&indent) {
            indents.push(indent);
        }
        let mut rest = content;
        let mut entries = 0;
        while let Some(after) = rest.strip_prefix("- ").or_else(|| rest.strip_prefix("? ")) {
            entries += 1;
            rest = after.trim_start_matches(' ');
        }
        // A mapping and a sequence may share one indentation (`key:` then `- item`).
        deepest = deepest.max(2 * indents.len() + entries);
    }
    deepest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_manifests_are_well_under_the_ceilings() {
        for manifest in [
            include_str!("../../../manifests/payment_mygateway.yaml"),
            include_str!("../../../manifests/payment_stripe.yaml"),
            include_str!("../../../manifests/payment_paypal.yaml"),
            include_str!("../../../manifests/sms_twilio.yaml"),
        ] {
            check_manifest_text(manifest).unwrap();
            assert!(block_depth(manifest) <= 8, "{}", block_depth(manifest));
        }
    }

    #[test]
    fn oversized_and_deep_texts_are_refused() {
        let big = format!("name: x\ndescription: {}\n", "a".repeat(MAX_MANIFEST_BYTES));
        assert!(check_manifest_text(&big).unwrap_err().contains("over the host's limit of 65536 bytes"));
        let flow = format!("name: {}", "[".repeat(MAX_FLOW_BRACKETS + 1));
        assert!(check_manifest_text(&flow).unwrap_err().contains("257 `[` or `{`"));
        // Closing brackets inside quotes cannot hide opening ones.
        let hidden = format!("name: [{}]", "[[[ ']]]', ".repeat(100));
        assert!(check_manifest_text(&hidden).is_err());
        let compact = format!("a:\n  {}x\n", "- ".repeat(40));
        assert!(check_manifest_text(&compact).unwrap_err().contains("levels deep"));
        let indented: String = (0..40).map(|level| format!("{}k{level}:\n", " ".repeat(level))).collect();
        assert!(check_manifest_text(&indented).unwrap_err().contains("levels deep"));
    }

    /// The slowest text the ceilings let through: 64 KiB nested 256 brackets deep, then
    /// filled with items at that depth. The rejection itself is a byte scan.
    #[test]
    fn the_worst_manifest_under_the_ceilings_parses_quickly() {
        let mut worst = format!("name: {}", "[".repeat(MAX_FLOW_BRACKETS));
        while worst.len() < MAX_MANIFEST_BYTES - 2 {
            worst.push_str("a,");
        }
        check_manifest_text(&worst).unwrap();
        let started = std::time::Instant::now();
        let parsed = crate::domain::manifest::Manifest::parse(&worst);
        let elapsed = started.elapsed();
        assert!(parsed.is_err());
        assert!(elapsed < std::time::Duration::from_secs(2), "parsed in {elapsed:?}");
        println!("worst manifest under the ceilings: parsed in {elapsed:?}");

        let refused = format!("name: {}", "[".repeat(MAX_MANIFEST_BYTES - 8));
        let started = std::time::Instant::now();
        assert!(crate::domain::manifest::Manifest::parse(&refused).is_err());
        println!("64 KiB nested 65,000 deep: refused in {:?}", started.elapsed());
    }
}
