//! diff: what changed between an asset's previous and new configuration.
//!
//! Two views of one change. [`field_changes`] lists what changed field by field, with paths
//! such as `IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]`, for the timeline, detections
//! and the CSV summary ([`summarize`]). The text diff (unified and side by side) compares the
//! [`canonical_pretty`] JSON of both sides, for reading.
//!
//! Values are [`crate::json`]'s: numbers compare and print as their exact text, so a change in
//! an integer past 2^64, or from `1` to `1.0`, is a change. Configurations come from the
//! stream and may be hostile: recursion stops at a fixed depth,
//! array alignment and the text diff run under a time budget (similar's deadline), and keys
//! that are not plain identifiers are quoted in paths, so no key can forge a path or a line.

mod canonical;
mod deep;
mod fields;
mod summary;
#[cfg(test)]
mod tests;
mod text;

use serde::{Deserialize, Serialize, Serializer};

use crate::json::Value;

pub use canonical::{canonical_compact, canonical_pretty};
pub use fields::field_changes;
pub use summary::{change_summary, summarize};

/// What happened at one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeOp {
    /// Only in the current configuration: `old` is `None`.
    Added,
    /// Only in the previous configuration: `new` is `None`.
    Removed,
    /// In both, with different values (or types): both are set.
    Changed,
}

/// One difference between two configurations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Where, from the root: dotted keys, `[3]` for an array index, `[CidrIp=10.0.0.0/8]` for
    /// an element matched by an identifying field, `["odd key"]` for a key that is not a plain
    /// identifier. The empty string is the whole configuration.
    pub path: String,
    pub op: ChangeOp,
    #[serde(serialize_with = "exact_json")]
    pub old: Option<Value>,
    #[serde(serialize_with = "exact_json")]
    pub new: Option<Value>,
}

/// A value as its canonical JSON text, numbers exact, through serde_json's raw values (the
/// JSON crate's own number type would serialize as a private struct).
fn exact_json<S: Serializer>(value: &Option<Value>, serializer: S) -> Result<S::Ok, S::Error> {
    match value {
        None => serializer.serialize_none(),
        Some(value) => {
            let raw = serde_json::value::RawValue::from_string(canonical_compact(value))
                .map_err(serde::ser::Error::custom)?;
            serializer.serialize_some(&raw)
        }
    }
}

/// How one side of a side-by-side row differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Equal,
    Added,
    Removed,
}

/// One row of a side-by-side view. A side with no line (`None`) has kind `Equal`: there is
/// nothing on it to mark.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SideBySideRow {
    /// 1-based line number in the previous text.
    pub left_no: Option<u32>,
    /// The previous text's line, without its newline.
    pub left: Option<String>,
    /// 1-based line number in the current text.
    pub right_no: Option<u32>,
    /// The current text's line, without its newline.
    pub right: Option<String>,
    pub left_kind: LineKind,
    pub right_kind: LineKind,
}

/// A run of unchanged side-by-side rows a view folds away (more than [`text`]'s three lines of
/// context from any change): `rows` rows starting at row index `start`. Expandable: the rows
/// themselves are all in `side_by_side`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Fold {
    pub start: u32,
    pub rows: u32,
}

/// Everything the app shows about one configuration change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigDiff {
    pub changes: Vec<FieldChange>,
    /// Unified diff (3 lines of context, headers `previous` and `current`) of the canonical
    /// pretty JSON; empty when nothing changed.
    pub unified: String,
    pub side_by_side: Vec<SideBySideRow>,
    /// The unchanged runs of `side_by_side` to fold, in order.
    pub side_by_side_folds: Vec<Fold>,
}

/// Diffs an event's `previous_config` against its `config`.
///
/// `previous = None` means unknown or did not exist (a create): one `Added` at `""` with the
/// whole configuration. `current = None` means deleted: one `Removed` at `""`. A JSON `null`
/// counts as missing, as it does on the wire. A missing side is empty text in the text diff.
pub fn diff_configs(previous: Option<&Value>, current: Option<&Value>) -> ConfigDiff {
    let previous = previous.filter(|value| !value.is_null());
    let current = current.filter(|value| !value.is_null());
    let changes = match (previous, current) {
        (None, None) => Vec::new(),
        (None, Some(current)) => vec![FieldChange {
            path: String::new(),
            op: ChangeOp::Added,
            old: None,
            new: Some(deep::clone_flat(current)),
        }],
        (Some(previous), None) => vec![FieldChange {
            path: String::new(),
            op: ChangeOp::Removed,
            old: Some(deep::clone_flat(previous)),
            new: None,
        }],
        (Some(previous), Some(current)) => field_changes(previous, current),
    };
    let old_text = previous.map(canonical_pretty).unwrap_or_default();
    let new_text = current.map(canonical_pretty).unwrap_or_default();
    let lines = text::diff_lines(&old_text, &new_text);
    ConfigDiff {
        changes,
        unified: lines.unified,
        side_by_side: lines.side_by_side,
        side_by_side_folds: lines.folds,
    }
}
