//! azure::nsg: a network security group's configuration rebuilt from Activity Log entries.
//!
//! An NSG write's `responseBody` is the NSG as ARM describes it. A security rule write's
//! `responseBody` (else `requestbody`) is the rule; it replaces the rule of the same name in
//! the NSG's `securityRules` (under `properties`, ARM's shape) on top of the last known
//! configuration, and a rule delete removes it. With no known configuration the NSG's whole
//! configuration stays unknown; an added rule (`201 Created`) is then shown as the changed part.

use super::body;
use crate::auditlog::Inventory;
use crate::auditlog::event::{AssetFields, ChangedPart, NormalizedEvent};
use crate::json::{Map, Value};

/// A security rule written or deleted: an update of its NSG.
pub(super) fn rule_change(
    event: &mut NormalizedEvent,
    record: &Value,
    nsg: &AssetFields,
    rule_name: &str,
    delete: bool,
    created: bool,
    inventory: &mut Inventory<'_>,
) {
    let rule = (!delete).then(|| rule_of(record, rule_name)).flatten();
    let previous = inventory.config(&nsg.name);
    match previous {
        Some(previous) => {
            let mut config = previous.clone();
            let rules = rules_mut(&mut config);
            rules.retain(|known| !same_rule(known, rule_name));
            if let Some(rule) = &rule {
                rules.push(rule.clone());
            }
            if delete || rule.is_some() {
                event.config = Some(config);
            } else {
                event.requested_change = body(record, "requestbody");
            }
            event.previous_config = Some(previous);
        }
        None => match rule {
            Some(rule) if created => {
                event.changed_part = Some(ChangedPart {
                    before: rules_object(Vec::new()),
                    after: rules_object(vec![rule.clone()]),
                });
                event.requested_change = Some(rule);
            }
            Some(rule) => event.requested_change = Some(rule),
            None if delete => {
                event.note = Some(format!("security rule {rule_name} deleted from the NSG"));
            }
            None => {}
        },
    }
}

/// An NSG written: its response is the NSG itself.
pub(super) fn nsg_write(event: &mut NormalizedEvent, record: &Value) {
    match body(record, "responseBody").filter(|nsg| nsg["properties"].is_object()) {
        Some(nsg) => event.config = Some(nsg),
        None => event.requested_change = body(record, "requestbody"),
    }
}

/// The rule as the entry gives it, named.
fn rule_of(record: &Value, rule_name: &str) -> Option<Value> {
    let mut rule = body(record, "responseBody")
        .filter(|rule| rule["properties"].is_object())
        .or_else(|| body(record, "requestbody"))?;
    if let Value::Object(fields) = &mut rule
        && !fields.contains_key("name")
    {
        fields.insert("name".to_owned(), Value::String(rule_name.to_owned()));
    }
    Some(rule)
}

fn same_rule(rule: &Value, name: &str) -> bool {
    rule["name"]
        .as_str()
        .is_some_and(|known| known.eq_ignore_ascii_case(name))
}

fn rules_object(rules: Vec<Value>) -> Value {
    let mut object = Map::new();
    object.insert("securityRules".to_owned(), Value::Array(rules));
    Value::Object(object)
}

/// The NSG's `securityRules` list: `properties.securityRules` (ARM), else a top-level one,
/// else a new `properties.securityRules`.
fn rules_mut(config: &mut Value) -> &mut Vec<Value> {
    if !config.is_object() {
        *config = Value::Object(Map::new());
    }
    let top_level =
        config["securityRules"].is_array() && !config["properties"]["securityRules"].is_array();
    let holder = if top_level {
        config
    } else {
        let Value::Object(fields) = config else {
            unreachable!("made an object above")
        };
        let properties = fields
            .entry("properties".to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !properties.is_object() {
            *properties = Value::Object(Map::new());
        }
        properties
    };
    let Value::Object(fields) = holder else {
        unreachable!("an object")
    };
    let rules = fields
        .entry("securityRules".to_owned())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !rules.is_array() {
        *rules = Value::Array(Vec::new());
    }
    match rules {
        Value::Array(rules) => rules,
        _ => unreachable!("made an array above"),
    }
}
