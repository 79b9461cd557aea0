//! search_terms: indicators kept whole for search — the terms of a body's addresses, CIDRs, ARNs
//! and paths that the compound index (`event_compounds`, migration 0007) holds, and which
//! typed words are looked up there instead of as a phrase of the word index.
//!
//! The word index (`event_search`, `unicode61`) splits `10.17.42.0/24` into `10 17 42 0 24`,
//! so finding it is a phrase of five numbers that are each in nearly every event: FTS5 merges
//! five doclists as long as the session (0.4 s at 1M events, 4.5 s at 10M). Here a *compound*
//! is a maximal run of ASCII letters, digits and the separators [`SEPARATORS`] in one decoded
//! text of the body (a string, a name or a number's text, read under the one JSON policy); a
//! compound that *qualifies* ([`qualifies`]: it holds `/`, `@`, `::`, `arn:` or a digit, a dot
//! and a digit) is indexed as itself and as each of its suffixes that starts after a separator,
//! so `arn:aws:sts::1:assumed-role/BreakGlass/x` gives `assumed-role/breakglass/x`,
//! `role/breakglass/x`, `breakglass/x`, ….
//!
//! **Invariant (no match lost):** a typed word takes the compound index only when it qualifies
//! itself and is made of compound characters starting with a letter or digit
//! ([`compound_query`]). Any text in which the word index finds such a word (its tokens in
//! order, the last a prefix) holds it literally inside one compound that qualifies too (it
//! contains the word), starting at the compound's start or after a separator — an indexed
//! suffix, which the prefix query finds. The one narrowing: the compound index matches the
//! word as written, so `10.17.42.0/24` no longer also finds the words `10 17 42 0 24` spelled
//! with other punctuation between them.
//!
//! A body whose compounds are too many or too long ([`MAX_COMPOUND`], [`MAX_TERMS`]) is
//! indexed with [`OVERFLOW_TERM`] instead of its own terms (so a hostile event cannot bloat the
//! index), and a compound query also checks those few events with the word index, one by one.

use std::collections::BTreeSet;

use crate::json;

/// The punctuation kept inside a compound; any other character ends one.
pub(super) const SEPARATORS: [char; 6] = ['.', ':', '/', '-', '_', '@'];

/// The FTS5 `tokenize` option of the compound index: the separators are token characters, so a
/// compound (and a typed word) is one token.
pub(super) const COMPOUND_TOKENIZER: &str = "unicode61 remove_diacritics 2 tokenchars '.:/-_@'";

/// The longest compound indexed, in bytes (an ARN or an IPv6 CIDR is far shorter; a longer
/// run — a path, a base64 text — sends its event to the overflow check).
const MAX_COMPOUND: usize = 256;

/// The most terms one event indexes before it is sent to the overflow check.
const MAX_TERMS: usize = 4_096;

/// The term an event is indexed with when its own terms were too many or too long. `ǂ` is a
/// letter to `unicode61` but never part of a compound (they are ASCII), so no body's terms can
/// be it.
pub(super) const OVERFLOW_TERM: &str = "ǂoverflow";

/// The text the compound index stores for one body: its terms separated by spaces, each once;
/// [`OVERFLOW_TERM`] when there are too many; empty when the body is not JSON (a stored body
/// always is) or has no compound that qualifies.
pub(super) fn compound_terms(body: &str) -> String {
    let mut terms = BTreeSet::new();
    let mut overflow = false;
    let read = json::for_each_text(body, &mut |text| {
        if overflow {
            return;
        }
        for compound in compounds(text) {
            if compound.len() > MAX_COMPOUND {
                overflow = true;
                return;
            }
            if !qualifies(compound) {
                continue;
            }
            for (at, _) in compound.char_indices() {
                let starts = at == 0
                    || compound[..at].ends_with(SEPARATORS)
                        && compound[at..].starts_with(|c: char| c.is_ascii_alphanumeric());
                if starts {
                    terms.insert(compound[at..].to_ascii_lowercase());
                }
            }
            if terms.len() > MAX_TERMS {
                overflow = true;
                return;
            }
        }
    });
    if overflow {
        return OVERFLOW_TERM.to_owned();
    }
    if read.is_err() {
        return String::new();
    }
    terms.into_iter().collect::<Vec<_>>().join(" ")
}

/// The FTS5 query of the compound index for a typed word (the word's text, quoted, as a
/// prefix), or `None` when the word must be found as a phrase of the word index instead (see
/// the module's invariant).
pub(super) fn compound_query(word: &str) -> Option<String> {
    let made_of_compound_characters = word
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || SEPARATORS.contains(&c));
    (made_of_compound_characters
        && word.starts_with(|c: char| c.is_ascii_alphanumeric())
        && word.len() <= MAX_COMPOUND
        && qualifies(word))
    .then(|| format!("\"{word}\" *"))
}

/// The compounds of one text: its maximal runs of ASCII letters, digits and [`SEPARATORS`],
/// each without the separators it starts with.
fn compounds(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || SEPARATORS.contains(&c)))
        .map(|run| run.trim_start_matches(SEPARATORS))
        .filter(|run| !run.is_empty())
}

/// Whether a compound is an indicator worth keeping whole: it holds `/`, `@`, `::` or `arn:`
/// (any case), or a dot between two digits (an IPv4 address, a CIDR, a version). A text that
/// contains one that qualifies qualifies itself, which the module's invariant rests on.
fn qualifies(compound: &str) -> bool {
    let bytes = compound.as_bytes();
    compound.contains(['/', '@'])
        || compound.contains("::")
        || compound.to_ascii_lowercase().contains("arn:")
        || bytes
            .windows(3)
            .any(|w| w[0].is_ascii_digit() && w[1] == b'.' && w[2].is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(body: &str) -> Vec<String> {
        compound_terms(body)
            .split(' ')
            .filter(|term| !term.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn an_address_a_cidr_and_an_arn_are_kept_whole_with_their_suffixes() {
        let body = r#"{"ip":"203.0.113.66","cidr":"10.17.42.0\/24",
            "arn":"arn:aws:sts::111:assumed-role/BreakGlass/x","port":443,"name":"web-1"}"#;
        let found = terms(body);
        for expected in [
            "203.0.113.66",
            "0.113.66",
            "66",
            "10.17.42.0/24",
            "42.0/24",
            "24",
            "arn:aws:sts::111:assumed-role/breakglass/x",
            "assumed-role/breakglass/x",
            "role/breakglass/x",
            "breakglass/x",
        ] {
            assert!(
                found.contains(&expected.to_owned()),
                "{expected} in {found:?}"
            );
        }
        // `web-1` and `443` do not qualify: the word index finds them as they are.
        assert!(!found.iter().any(|term| term.contains("web")), "{found:?}");
        assert!(!found.contains(&"443".to_owned()));
    }

    #[test]
    fn escapes_are_read_and_every_text_counts_names_and_numbers_included() {
        // `\u002e` is a dot; a duplicate name's first value is still in the body's text; a
        // number's exact text; a name; an object named like the parser's number marker.
        let body = r#"{"a":"10\u002e0.0.1","a":"x","v":1.25,"198.51.100.7":true,
            "$serde_json_lenient::private::Number":{"ip":"192.0.2.1"}}"#;
        let found = terms(body);
        for expected in ["10.0.0.1", "1.25", "198.51.100.7", "192.0.2.1"] {
            assert!(
                found.contains(&expected.to_owned()),
                "{expected} in {found:?}"
            );
        }
    }

    #[test]
    fn a_body_of_too_many_or_too_long_compounds_is_sent_to_the_overflow_check() {
        let long = format!(r#"{{"blob":"{}"}}"#, "ab/".repeat(200));
        assert_eq!(compound_terms(&long), OVERFLOW_TERM);
        let many: Vec<String> = (0..3_000).map(|n| format!("\"10.0.{n}.1\"")).collect();
        assert_eq!(
            compound_terms(&format!("[{}]", many.join(","))),
            OVERFLOW_TERM
        );
        assert_eq!(compound_terms("not json"), "");
    }

    #[test]
    fn only_words_that_qualify_take_the_compound_index() {
        assert_eq!(
            compound_query("10.17.42.0/24").as_deref(),
            Some("\"10.17.42.0/24\" *")
        );
        assert!(compound_query("assumed-role/BreakGlass").is_some());
        assert!(compound_query("203.0.113").is_some());
        assert!(compound_query("alice@example.com").is_some());
        assert!(compound_query("2001:db8::1").is_some());
        // A word, an id, a time, a leading separator, other punctuation: the word index.
        for word in [
            "payments",
            "sg-0abc",
            "2024-05-05T13:00",
            "/24",
            "10.0.0.1,",
            "é.1.2",
        ] {
            assert_eq!(compound_query(word), None, "{word}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        /// The module's invariant: wherever a qualifying word stands in a text at a token
        /// boundary, the compound index holds a term it is a prefix of.
        #[test]
        fn a_qualifying_word_at_a_token_boundary_is_a_prefix_of_an_indexed_term(
            text in "[a-cA-C0-2./:@_ \\-]{1,40}",
            start in 0usize..40,
            length in 1usize..40,
        ) {
            let chars: Vec<char> = text.chars().collect();
            let start = start.min(chars.len() - 1);
            let end = (start + length).min(chars.len());
            let word: String = chars[start..end].iter().collect();
            let at_boundary = start == 0 || !chars[start - 1].is_ascii_alphanumeric();
            if at_boundary && compound_query(&word).is_some() {
                let body = serde_json::to_string(&text).unwrap();
                let indexed = compound_terms(&body);
                let word = word.to_ascii_lowercase();
                proptest::prop_assert!(
                    indexed.split(' ').any(|term| term.starts_with(&word)),
                    "{word:?} in {text:?}: {indexed:?}"
                );
            }
        }
    }
}
