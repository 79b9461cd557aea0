//! Line diff of two canonical texts: a unified diff and side-by-side rows.

use std::time::Duration;

use similar::{Algorithm, DiffTag, TextDiff};

use super::{Fold, LineKind, SideBySideRow};

/// Past this, similar's Myers diff approximates instead of searching on.
const TEXT_BUDGET: Duration = Duration::from_millis(500);
const CONTEXT_LINES: usize = 3;

pub(super) struct LineDiff {
    pub(super) unified: String,
    pub(super) side_by_side: Vec<SideBySideRow>,
    pub(super) folds: Vec<Fold>,
}

pub(super) fn diff_lines(old: &str, new: &str) -> LineDiff {
    let diff = TextDiff::configure()
        .algorithm(Algorithm::Myers)
        .timeout(TEXT_BUDGET)
        .diff_lines(old, new);
    let unified = diff
        .unified_diff()
        .context_radius(CONTEXT_LINES)
        .header("previous", "current")
        .to_string();
    let side_by_side = side_by_side(&diff);
    let folds = folds(&side_by_side);
    LineDiff {
        unified,
        side_by_side,
        folds,
    }
}

/// The runs of unchanged rows more than [`CONTEXT_LINES`] away from every change (the same
/// context the unified diff keeps), each longer than one row; none when nothing changed.
fn folds(rows: &[SideBySideRow]) -> Vec<Fold> {
    let unchanged =
        |row: &SideBySideRow| row.left_kind == LineKind::Equal && row.right_kind == LineKind::Equal;
    if rows.iter().all(unchanged) {
        return Vec::new();
    }
    let mut folds = Vec::new();
    let mut at = 0;
    while at < rows.len() {
        if !unchanged(&rows[at]) {
            at += 1;
            continue;
        }
        let start = at;
        while at < rows.len() && unchanged(&rows[at]) {
            at += 1;
        }
        // Context after the change before the run, and before the change after it.
        let from = if start == 0 { 0 } else { start + CONTEXT_LINES };
        let to = if at == rows.len() {
            at
        } else {
            at.saturating_sub(CONTEXT_LINES)
        };
        if to > from + 1 {
            folds.push(Fold {
                start: u32::try_from(from).unwrap_or(u32::MAX),
                rows: u32::try_from(to - from).unwrap_or(u32::MAX),
            });
        }
    }
    folds
}

/// Equal lines side by side; in a changed run the deleted and inserted lines are paired row
/// by row and the longer side continues alone.
fn side_by_side(diff: &TextDiff<'_, '_, '_, str>) -> Vec<SideBySideRow> {
    let (old, new) = (diff.old_slices(), diff.new_slices());
    let mut rows = Vec::new();
    for op in diff.ops() {
        let (tag, old_range, new_range) = op.as_tag_tuple();
        let (left_kind, right_kind) = match tag {
            DiffTag::Equal => (LineKind::Equal, LineKind::Equal),
            _ => (LineKind::Removed, LineKind::Added),
        };
        for offset in 0..old_range.len().max(new_range.len()) {
            let left = (offset < old_range.len()).then(|| old_range.start + offset);
            let right = (offset < new_range.len()).then(|| new_range.start + offset);
            rows.push(SideBySideRow {
                left_no: left.map(line_number),
                left: left.map(|i| line_text(old[i])),
                right_no: right.map(line_number),
                right: right.map(|j| line_text(new[j])),
                left_kind: if left.is_some() {
                    left_kind
                } else {
                    LineKind::Equal
                },
                right_kind: if right.is_some() {
                    right_kind
                } else {
                    LineKind::Equal
                },
            });
        }
    }
    rows
}

fn line_number(index: usize) -> u32 {
    u32::try_from(index + 1).unwrap_or(u32::MAX)
}

fn line_text(line: &str) -> String {
    line.strip_suffix('\n').unwrap_or(line).to_owned()
}
