//! Structural diff: walks both configurations together and lists changes by path.
//!
//! Arrays are the hard part. Cloud APIs return sets as arrays in no stable order (rules, tags,
//! policy statements), so when every element carries a unique identifying field the elements
//! are matched by it. Other arrays are aligned by similar's Myers diff over each element's
//! canonical text, so that an insertion shows as one `Added` rather than a cascade of changes.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::json::{Map, Value};
use similar::{Algorithm, DiffTag, capture_diff_slices_deadline};

use super::canonical::{canonical_compact, json_string};
use super::deep::{clone_flat, same};
use super::{ChangeOp, FieldChange};

/// Nesting depth at which the walk stops: a subtree that still differs there is reported as
/// one `Changed` at its path. Real configurations are far shallower.
pub(super) const MAX_DEPTH: usize = 64;

/// How long all array alignments of one call may take together. Past it, similar's Myers
/// diff stops searching and approximates (still correct, only less minimal), so a hostile
/// pair of huge arrays cannot stall ingest or export.
const ALIGN_BUDGET: Duration = Duration::from_millis(500);

/// Fields that identify an element of an array of objects, in order of preference.
const ID_FIELDS: [&str; 20] = [
    "GroupId",
    "CidrIp",
    "CidrIpv6",
    "PrefixListId",
    "Sid",
    "Key",
    "Name",
    "Id",
    "id",
    "name",
    "key",
    "AccessKeyId",
    "PolicyArn",
    "Arn",
    "UserName",
    "RoleName",
    "VolumeId",
    "SubnetId",
    "NetworkInterfaceId",
    "AllocationId",
];

/// Lists what changed from `previous` to `current`, in walk order: object keys sorted, array
/// elements in the current array's order (removed elements after).
pub fn field_changes(previous: &Value, current: &Value) -> Vec<FieldChange> {
    let mut walk = Walk {
        deadline: Instant::now().checked_add(ALIGN_BUDGET),
        changes: Vec::new(),
    };
    walk.value("", previous, current, 0);
    walk.changes
}

struct Walk {
    deadline: Option<Instant>,
    changes: Vec<FieldChange>,
}

impl Walk {
    fn value(&mut self, path: &str, old: &Value, new: &Value, depth: usize) {
        match (old, new) {
            (Value::Object(old), Value::Object(new)) if depth < MAX_DEPTH => {
                self.object(path, old, new, depth);
            }
            (Value::Array(old), Value::Array(new)) if depth < MAX_DEPTH => {
                self.array(path, old, new, depth);
            }
            _ if !same(old, new) => {
                self.push(path.to_owned(), ChangeOp::Changed, Some(old), Some(new))
            }
            _ => {}
        }
    }

    fn object(
        &mut self,
        path: &str,
        old: &Map<String, Value>,
        new: &Map<String, Value>,
        depth: usize,
    ) {
        let mut keys: Vec<&String> = old.keys().chain(new.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        for key in keys {
            match (old.get(key), new.get(key)) {
                (Some(old), Some(new)) => self.value(&key_path(path, key), old, new, depth + 1),
                (Some(old), None) => {
                    self.push(key_path(path, key), ChangeOp::Removed, Some(old), None)
                }
                (None, Some(new)) => {
                    self.push(key_path(path, key), ChangeOp::Added, None, Some(new))
                }
                (None, None) => {}
            }
        }
    }

    fn array(&mut self, path: &str, old: &[Value], new: &[Value], depth: usize) {
        if old.is_empty() && new.is_empty() {
            return;
        }
        match keyed(old, new) {
            Some(keyed) => self.matched_by_id(path, &keyed, old, new, depth),
            None => self.aligned(path, old, new, depth),
        }
    }

    fn matched_by_id(
        &mut self,
        path: &str,
        keyed: &Keyed<'_>,
        old: &[Value],
        new: &[Value],
        depth: usize,
    ) {
        let old_positions: HashMap<&str, usize> = keyed
            .old_ids
            .iter()
            .enumerate()
            .map(|(index, id)| (id.as_ref(), index))
            .collect();
        for (id, item) in keyed.new_ids.iter().zip(new) {
            let child = id_path(path, keyed.field, id);
            match old_positions.get(id.as_ref()) {
                Some(&index) => self.value(&child, &old[index], item, depth + 1),
                None => self.push(child, ChangeOp::Added, None, Some(item)),
            }
        }
        let new_ids: HashSet<&str> = keyed.new_ids.iter().map(|id| id.as_ref()).collect();
        for (id, item) in keyed.old_ids.iter().zip(old) {
            if !new_ids.contains(id.as_ref()) {
                self.push(
                    id_path(path, keyed.field, id),
                    ChangeOp::Removed,
                    Some(item),
                    None,
                );
            }
        }
    }

    /// Myers alignment over element identities; replaced runs are paired index by index.
    fn aligned(&mut self, path: &str, old: &[Value], new: &[Value], depth: usize) {
        let mut identities: HashMap<String, usize> = HashMap::new();
        let mut identify = |item: &Value| {
            let next = identities.len();
            *identities.entry(canonical_compact(item)).or_insert(next)
        };
        let old_ids: Vec<usize> = old.iter().map(&mut identify).collect();
        let new_ids: Vec<usize> = new.iter().map(&mut identify).collect();
        let ops = capture_diff_slices_deadline(Algorithm::Myers, &old_ids, &new_ids, self.deadline);
        for op in ops {
            let (tag, old_range, new_range) = op.as_tag_tuple();
            if tag == DiffTag::Equal {
                continue;
            }
            let paired = old_range.len().min(new_range.len());
            for offset in 0..paired {
                let (i, j) = (old_range.start + offset, new_range.start + offset);
                self.value(&index_path(path, j), &old[i], &new[j], depth + 1);
            }
            let (removed, added) = (
                old_range.start + paired..old_range.end,
                new_range.start + paired..new_range.end,
            );
            for (i, item) in removed.clone().zip(&old[removed]) {
                self.push(index_path(path, i), ChangeOp::Removed, Some(item), None);
            }
            for (j, item) in added.clone().zip(&new[added]) {
                self.push(index_path(path, j), ChangeOp::Added, None, Some(item));
            }
        }
    }

    fn push(&mut self, path: String, op: ChangeOp, old: Option<&Value>, new: Option<&Value>) {
        self.changes.push(FieldChange {
            path,
            op,
            old: old.map(clone_flat),
            new: new.map(clone_flat),
        });
    }
}

/// The identifying field both arrays agree on, with each element's id in order.
struct Keyed<'a> {
    field: &'static str,
    old_ids: Vec<Cow<'a, str>>,
    new_ids: Vec<Cow<'a, str>>,
}

/// The first of [`ID_FIELDS`] that every element of both arrays has, as a string or number,
/// with no id repeated within either array.
fn keyed<'a>(old: &'a [Value], new: &'a [Value]) -> Option<Keyed<'a>> {
    if !old.iter().chain(new).all(Value::is_object) {
        return None;
    }
    ID_FIELDS.into_iter().find_map(|field| {
        Some(Keyed {
            field,
            old_ids: unique_ids(old, field)?,
            new_ids: unique_ids(new, field)?,
        })
    })
}

fn unique_ids<'a>(items: &'a [Value], field: &str) -> Option<Vec<Cow<'a, str>>> {
    let ids: Vec<Cow<'a, str>> = items
        .iter()
        .map(|item| match item.get(field)? {
            Value::String(s) => Some(Cow::Borrowed(s.as_str())),
            Value::Number(n) => Some(Cow::Borrowed(n.as_str())),
            _ => None,
        })
        .collect::<Option<_>>()?;
    let mut seen = HashSet::with_capacity(ids.len());
    ids.iter().all(|id| seen.insert(id.as_ref())).then_some(ids)
}

fn key_path(parent: &str, key: &str) -> String {
    if !is_identifier(key) {
        format!("{parent}[{}]", json_string(key))
    } else if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

fn index_path(parent: &str, index: usize) -> String {
    format!("{parent}[{index}]")
}

/// `[Field=value]`; the value is JSON-quoted when it could be misread (brackets, quotes,
/// control characters, surrounding spaces, empty).
fn id_path(parent: &str, field: &str, id: &str) -> String {
    let plain = !id.is_empty()
        && id.trim() == id
        && !id
            .chars()
            .any(|c| matches!(c, '[' | ']' | '"' | '\\') || c.is_control());
    if plain {
        format!("{parent}[{field}={id}]")
    } else {
        format!("{parent}[{field}={}]", json_string(id))
    }
}

/// `[A-Za-z_][A-Za-z0-9_-]*`
fn is_identifier(key: &str) -> bool {
    let mut chars = key.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}
