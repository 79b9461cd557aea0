//! Canonical JSON text: keys sorted at every level, whatever map type the JSON crate was
//! built with (another crate may turn on `preserve_order`), numbers as their exact text. Written with an explicit work stack
//! rather than recursion, so no nesting depth can overflow the stack.

use crate::json::Value;

/// Canonical pretty JSON: keys sorted at every level, 2-space indent, trailing newline.
pub fn canonical_pretty(value: &Value) -> String {
    let mut out = write(value, Layout::Pretty);
    out.push('\n');
    out
}

/// Canonical JSON on one line, no spaces: the identity of an array element when aligning
/// arrays, and the short form of values in summaries and test expectations.
pub fn canonical_compact(value: &Value) -> String {
    write(value, Layout::Compact)
}

/// `s` as a JSON string literal, quotes included: control characters, quotes and
/// backslashes are escaped, so the result never holds a raw newline.
pub(super) fn json_string(s: &str) -> String {
    // Serializing a str into memory cannot fail.
    serde_json::to_string(s).unwrap_or_default()
}

#[derive(Clone, Copy, PartialEq)]
enum Layout {
    Pretty,
    Compact,
}

/// Pending output, popped from the end of the work stack.
enum Step<'a> {
    Value(&'a Value, usize),
    Key(&'a str),
    /// A line break and indentation to `level` (nothing in the compact layout).
    Break(usize),
    Text(&'static str),
}

fn write(root: &Value, layout: Layout) -> String {
    let mut out = String::new();
    let mut stack = vec![Step::Value(root, 0)];
    while let Some(step) = stack.pop() {
        match step {
            Step::Text(text) => out.push_str(text),
            Step::Break(level) => {
                if layout == Layout::Pretty {
                    out.push('\n');
                    out.extend(std::iter::repeat_n("  ", level));
                }
            }
            Step::Key(key) => {
                out.push_str(&json_string(key));
                out.push_str(if layout == Layout::Pretty { ": " } else { ":" });
            }
            Step::Value(Value::Object(map), level) if !map.is_empty() => {
                out.push('{');
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                stack.push(Step::Text("}"));
                stack.push(Step::Break(level));
                // Pushed last-first so that the first entry is popped first.
                for (index, (key, value)) in entries.into_iter().enumerate().rev() {
                    stack.push(Step::Value(value, level + 1));
                    stack.push(Step::Key(key));
                    stack.push(Step::Break(level + 1));
                    if index > 0 {
                        stack.push(Step::Text(","));
                    }
                }
            }
            Step::Value(Value::Array(items), level) if !items.is_empty() => {
                out.push('[');
                stack.push(Step::Text("]"));
                stack.push(Step::Break(level));
                for (index, item) in items.iter().enumerate().rev() {
                    stack.push(Step::Value(item, level + 1));
                    stack.push(Step::Break(level + 1));
                    if index > 0 {
                        stack.push(Step::Text(","));
                    }
                }
            }
            Step::Value(value, _) => push_leaf(&mut out, value),
        }
    }
    out
}

/// Scalars, and the empty object and array.
fn push_leaf(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(true) => out.push_str("true"),
        Value::Bool(false) => out.push_str("false"),
        // The number's exact text as it arrived (see crate::json): `1.0` stays `1.0`, and an
        // integer past 2^64 keeps every digit.
        Value::Number(number) => out.push_str(number.as_str()),
        Value::String(s) => out.push_str(&json_string(s)),
        Value::Object(_) => out.push_str("{}"),
        Value::Array(_) => out.push_str("[]"),
    }
}
