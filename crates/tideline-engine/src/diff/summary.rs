//! One-line summary of a change list, for a CSV cell or a timeline row.

use crate::json::Value;
use crate::model::ChangeKind;

use super::canonical::canonical_compact;
use super::{ChangeOp, FieldChange};

/// How many field changes a one-line change summary names.
const SUMMARY_ITEMS: usize = 4;
/// Values longer than this many characters are cut and end in `…`.
const VALUE_CHARS: usize = 60;
/// Paths are cut too: a hostile key can be any length.
const PATH_CHARS: usize = 160;

/// `added path` (with `: value` for a scalar), `removed path` (likewise) and
/// `changed path: old → new`, joined by `; `; at most `max_items` entries, then
/// `… (+N more)`. Words rather than signs, so a spreadsheet never reads the cell as a
/// formula. Never holds a line break or another control character.
pub fn summarize(changes: &[FieldChange], max_items: usize) -> String {
    let mut entries: Vec<String> = changes.iter().take(max_items).map(entry).collect();
    let rest = changes.len().saturating_sub(max_items);
    if rest > 0 {
        entries.push(format!("… (+{rest} more)"));
    }
    entries.join("; ").chars().map(one_line).collect()
}

fn entry(change: &FieldChange) -> String {
    let path = if change.path.is_empty() {
        "(root)".to_owned()
    } else {
        shorten(&change.path, PATH_CHARS)
    };
    match change.op {
        ChangeOp::Added => with_scalar("added", &path, change.new.as_ref()),
        ChangeOp::Removed => with_scalar("removed", &path, change.old.as_ref()),
        ChangeOp::Changed => format!(
            "changed {path}: {} → {}",
            short_value(change.old.as_ref()),
            short_value(change.new.as_ref())
        ),
    }
}

/// Added or removed objects and arrays are named by their path alone: their content would
/// not fit a cell anyway.
fn with_scalar(verb: &str, path: &str, value: Option<&Value>) -> String {
    match value {
        Some(value) if !value.is_object() && !value.is_array() => {
            format!("{verb} {path}: {}", short_value(Some(value)))
        }
        _ => format!("{verb} {path}"),
    }
}

fn short_value(value: Option<&Value>) -> String {
    match value {
        Some(value) => shorten(&canonical_compact(value), VALUE_CHARS),
        None => "(none)".to_owned(),
    }
}

fn shorten(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_owned(),
        Some(_) => {
            let cut = text
                .char_indices()
                .nth(max_chars.saturating_sub(1))
                .map_or(text.len(), |(at, _)| at);
            format!("{}…", &text[..cut])
        }
    }
}

/// JSON escaping already removed C0 controls; this also catches C1 controls, the Unicode
/// line and paragraph separators and bidirectional overrides, which JSON leaves as they are.
fn one_line(c: char) -> char {
    let hostile = c.is_control()
        || matches!(c, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
    if hostile { ' ' } else { c }
}

/// What changed, on one line: the field changes of an update, "created" or "deleted".
pub fn change_summary(change: Option<ChangeKind>, data: &Value) -> String {
    let config = data.get("config").filter(|value| !value.is_null());
    let previous = data.get("previous_config").filter(|value| !value.is_null());
    let part = data.get("changed_part");
    let part = part.and_then(|part| Some((part.get("before")?, part.get("after")?)));
    if let (Some(ChangeKind::Update), None, None, Some((before, after))) =
        (change, previous, config, part)
    {
        let changes = super::field_changes(before, after);
        if !changes.is_empty() {
            return summarize(&changes, SUMMARY_ITEMS);
        }
    }
    match (change, previous, config) {
        (Some(ChangeKind::Create), _, _) => "created".to_owned(),
        (Some(ChangeKind::Delete), _, _) => "deleted".to_owned(),
        (Some(ChangeKind::Update), Some(previous), Some(config)) => {
            let changes = super::field_changes(previous, config);
            if changes.is_empty() {
                "no configuration change".to_owned()
            } else {
                summarize(&changes, SUMMARY_ITEMS)
            }
        }
        (Some(ChangeKind::Update), None, _) => "previous configuration unknown".to_owned(),
        (Some(ChangeKind::Update), Some(_), None) => "new configuration missing".to_owned(),
        (None, _, _) => String::new(),
    }
}
