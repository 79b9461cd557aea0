//! Equality and copying of JSON values without recursion.
//!
//! serde_json's own `==` and `clone` recurse once per nesting level and overflow a 2 MiB stack
//! at about 2,000 levels in a debug build. The walk stops at a fixed depth and hands the rest
//! of a subtree over whole, so it compares and copies that rest with these instead.

use crate::json::{Map, Value};

/// `a == b` (objects compared regardless of key order), with an explicit work list.
pub(super) fn same(a: &Value, b: &Value) -> bool {
    let mut pending = vec![(a, b)];
    while let Some(pair) = pending.pop() {
        match pair {
            (Value::Object(a), Value::Object(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                for (key, a) in a {
                    match b.get(key) {
                        Some(b) => pending.push((a, b)),
                        None => return false,
                    }
                }
            }
            (Value::Array(a), Value::Array(b)) => {
                if a.len() != b.len() {
                    return false;
                }
                pending.extend(a.iter().zip(b));
            }
            // Scalars, or different kinds: serde_json's `==` does not descend here.
            (a, b) => {
                if a != b {
                    return false;
                }
            }
        }
    }
    true
}

/// `value.clone()`, built bottom-up with an explicit stack of open containers.
pub(super) fn clone_flat(value: &Value) -> Value {
    enum Open<'a> {
        Object(
            serde_json_lenient::map::Iter<'a>,
            Map<String, Value>,
            String,
        ),
        Array(std::slice::Iter<'a, Value>, Vec<Value>),
    }
    let mut open: Vec<Open<'_>> = Vec::new();
    let mut next = Some(value);
    loop {
        // Step into the next value to copy; a leaf is copied at once.
        let mut finished = match next.take() {
            Some(Value::Object(map)) => {
                open.push(Open::Object(map.iter(), Map::new(), String::new()));
                None
            }
            Some(Value::Array(items)) => {
                open.push(Open::Array(items.iter(), Vec::with_capacity(items.len())));
                None
            }
            Some(leaf) => Some(leaf.clone()),
            None => None,
        };
        // Hand finished copies to their parents until a parent has another child to copy.
        loop {
            let Some(top) = open.last_mut() else {
                return finished.unwrap_or(Value::Null);
            };
            match top {
                Open::Object(children, copy, key) => {
                    if let Some(child) = finished.take() {
                        copy.insert(std::mem::take(key), child);
                    }
                    if let Some((child_key, child)) = children.next() {
                        key.clone_from(child_key);
                        next = Some(child);
                        break;
                    }
                }
                Open::Array(children, copy) => {
                    if let Some(child) = finished.take() {
                        copy.push(child);
                    }
                    if let Some(child) = children.next() {
                        next = Some(child);
                        break;
                    }
                }
            }
            finished = match open.pop() {
                Some(Open::Object(_, copy, _)) => Some(Value::Object(copy)),
                Some(Open::Array(_, copy)) => Some(Value::Array(copy)),
                None => None,
            };
        }
    }
}
