//! Data-driven tests: a record (fixture file) → what it normalizes to.

use std::path::PathBuf;

use super::normalize;
use crate::auditlog::{ActivityKind, EventKind, Inventory, NormalizedEvent};
use crate::json::{self, Value};
use crate::model::ChangeKind;

const NSG: &str = "ohn:azure:6f4c2d1e-8a9b-4c3d-9e2f-1a2b3c4d5e6f:global:network-firewall:resourcegroups/prod-payments-rg/providers/microsoft.network/networksecuritygroups/prod-db-nsg";

fn fixture(file: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/auditlog/azure")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn one(file: &str, inventory: &mut Inventory<'_>) -> NormalizedEvent {
    let mut events = normalize(&fixture(file), inventory).expect("normalizes");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// (event type, asset type, asset name, principal, method)
type Expected = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

fn check(file: &str, expected: Expected) {
    let event = one(file, &mut Inventory::empty());
    assert_eq!(
        event.kind.cloudevents_type(),
        expected.0,
        "{file}: type ({:?})",
        event.note
    );
    assert_eq!(
        event.asset.as_ref().map(|a| a.asset_type.as_str()),
        expected.1,
        "{file}: asset type"
    );
    assert_eq!(
        event.asset.as_ref().map(|a| a.name.as_str()),
        expected.2,
        "{file}: asset name"
    );
    assert_eq!(
        event.attribution.principal.as_deref(),
        expected.3,
        "{file}: principal"
    );
    assert_eq!(event.attribution.method, expected.4, "{file}: method");
}

#[test]
fn each_sample_record_normalizes_to_its_event_type_asset_principal_and_method() {
    let jdoe = Some("jdoe@example.com");
    let table: [(&str, Expected); 10] = [
        (
            "nsg-rule-write-started.json",
            (
                "com.opshelm.activity.call",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "nsg-rule-write-accepted.json",
            (
                "com.opshelm.activity.call",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "nsg-rule-write-succeeded.json",
            (
                "com.opshelm.asset.update",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        // The storage-account export: string operationName, upper-cased resource id, same asset.
        (
            "pt1h-nsg-rule-write-success.json",
            (
                "com.opshelm.asset.update",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "nsg-rule-write-failed.json",
            (
                "com.opshelm.activity.denied",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "nsg-read.json",
            (
                "com.opshelm.activity.read",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "nsg-rule-delete-succeeded.json",
            (
                "com.opshelm.asset.update",
                Some("network.firewall"),
                Some(NSG),
                jdoe,
                "console",
            ),
        ),
        (
            "vm-delete-succeeded.json",
            (
                "com.opshelm.asset.delete",
                Some("compute.instance"),
                Some(
                    "ohn:azure:6f4c2d1e-8a9b-4c3d-9e2f-1a2b3c4d5e6f:global:compute-instance:resourcegroups/prod-payments-rg/providers/microsoft.compute/virtualmachines/prod-db-1",
                ),
                jdoe,
                "console",
            ),
        ),
        (
            "pt1h-listkeys-start.json",
            (
                "com.opshelm.activity.call",
                Some("microsoft.eventhub/namespaces/authorizationrules"),
                Some(
                    "ohn:azure:8a4de8b5-095c-47d0-a96f-a75130c61d53:global:microsoft-eventhub/namespaces/authorizationrules:resourcegroups/sa-hema/providers/microsoft.eventhub/namespaces/azurelsevents/authorizationrules/rootmanagesharedaccesskey",
                ),
                Some("8a4de8b5-095c-47d0-a96f-a75130c61d53"),
                "unknown",
            ),
        ),
        (
            "resourcehealth-event.json",
            ("com.opshelm.activity.call", None, None, None, "provider"),
        ),
    ];
    for (file, expected) in table {
        check(file, expected);
    }
}

#[test]
fn attribution_comes_from_caller_claims_and_http_request() {
    let event = one("nsg-rule-write-succeeded.json", &mut Inventory::empty());
    let who = &event.attribution;
    assert_eq!(
        who.principal_id.as_deref(),
        Some("0b1c2d3e-4f5a-4b6c-8d7e-9f0a1b2c3d4e")
    );
    assert_eq!(who.source_ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(
        who.action.as_deref(),
        Some("Microsoft.Network/networkSecurityGroups/securityRules/write")
    );
    assert_eq!(event.id, "a1b2c3d4-0003-4e5f-8a9b-0c1d2e3f4a03");
    assert_eq!(
        event.source,
        "azure-activity:6f4c2d1e-8a9b-4c3d-9e2f-1a2b3c4d5e6f"
    );
    let pt1h = one("pt1h-nsg-rule-write-success.json", &mut Inventory::empty());
    assert_eq!(pt1h.attribution.principal_id, who.principal_id);
    assert_eq!(pt1h.attribution.source_ip, who.source_ip);
    assert_eq!(pt1h.source, event.source);
    let listkeys = one("pt1h-listkeys-start.json", &mut Inventory::empty());
    assert!(
        listkeys
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("credential access"))
    );
    assert_eq!(
        listkeys.attribution.source_ip.as_deref(),
        Some("81.2.69.144")
    );
}

#[test]
fn started_accepted_succeeded_of_one_operation_is_exactly_one_change() {
    let mut inventory = Inventory::empty();
    let kinds: Vec<EventKind> = [
        "nsg-rule-write-started.json",
        "nsg-rule-write-accepted.json",
        "nsg-rule-write-succeeded.json",
    ]
    .iter()
    .map(|file| one(file, &mut inventory).kind)
    .collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|k| matches!(k, EventKind::Change(_)))
            .count(),
        1,
        "{kinds:?}"
    );
    assert_eq!(kinds[2], EventKind::Change(ChangeKind::Update));
}

#[test]
fn a_rule_added_to_an_nsg_of_unknown_config_is_shown_as_the_changed_part() {
    for file in [
        "nsg-rule-write-succeeded.json",
        "pt1h-nsg-rule-write-success.json",
    ] {
        let event = one(file, &mut Inventory::empty());
        assert_eq!(event.config, None, "{file}");
        let part = event.changed_part.expect("changed part");
        assert_eq!(part.before, json::parse(r#"{"securityRules":[]}"#).unwrap());
        let rules = part.after["securityRules"].as_array().expect("rules");
        assert_eq!(rules.len(), 1);
        assert_eq!(rules[0]["name"], "allow-5432-partner", "{file}");
        assert_eq!(
            rules[0]["properties"]["sourceAddressPrefix"], "203.0.113.66/32",
            "{file}"
        );
    }
}

#[test]
fn a_rule_write_and_delete_rebuild_a_known_nsg_config() {
    let known = json::parse(
        r#"{"name":"prod-db-nsg","properties":{"securityRules":[{"name":"allow-app","properties":{"access":"Allow","destinationPortRange":"5432","sourceAddressPrefix":"10.10.0.0/16"}}]}}"#,
    )
    .unwrap();
    let prior = known.clone();
    let mut inventory = Inventory::with_prior(Box::new(move |name: &str| {
        (name == NSG).then(|| prior.clone())
    }));
    let mut events = normalize(&fixture("nsg-rule-write-succeeded.json"), &mut inventory).unwrap();
    // Through the dispatcher's bookkeeping by hand: record the new configuration.
    let added = events.remove(0);
    assert_eq!(added.previous_config.as_ref(), Some(&known));
    let config = added.config.clone().expect("rebuilt");
    let names: Vec<&str> = config["properties"]["securityRules"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert_eq!(names, ["allow-app", "allow-5432-partner"]);
    assert_eq!(crate::diff::field_changes(&known, &config).len(), 1);
    inventory.set(NSG, Some(config.clone()));
    let removed = one("nsg-rule-delete-succeeded.json", &mut inventory);
    assert_eq!(removed.kind, EventKind::Change(ChangeKind::Update));
    assert_eq!(removed.config.as_ref(), Some(&known));
    assert_eq!(removed.previous_config.as_ref(), Some(&config));
}

#[test]
fn a_failed_call_is_denied_and_a_read_is_read() {
    let failed = one("nsg-rule-write-failed.json", &mut Inventory::empty());
    assert_eq!(failed.kind, EventKind::Activity(ActivityKind::Denied));
    assert_eq!(
        failed.note.as_deref(),
        Some("the operation failed Forbidden")
    );
    let read = one("nsg-read.json", &mut Inventory::empty());
    assert_eq!(read.kind, EventKind::Activity(ActivityKind::Read));
}

#[test]
fn a_write_is_a_create_or_update_by_its_http_status_or_the_inventory() {
    let write = |extra: &str| {
        json::parse(&format!(
            r#"{{"time":"2024-05-05T14:00:00Z","operationName":"Microsoft.Storage/storageAccounts/write","resultType":"Success","resourceId":"/subscriptions/s1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/acct"{extra}}}"#
        ))
        .unwrap()
    };
    let kind = |record: &Value, inventory: &mut Inventory<'_>| {
        normalize(record, inventory).unwrap()[0].kind
    };
    let mut empty = Inventory::empty();
    assert_eq!(
        kind(&write(""), &mut empty),
        EventKind::Change(ChangeKind::Create)
    );
    assert_eq!(
        kind(&write(r#","properties":{"statusCode":"OK"}"#), &mut empty),
        EventKind::Change(ChangeKind::Update)
    );
    let mut known = Inventory::with_prior(Box::new(|_: &str| Some(Value::Bool(true))));
    assert_eq!(
        kind(&write(""), &mut known),
        EventKind::Change(ChangeKind::Update)
    );
    let odd = json::parse(r#"{"time":"2024-05-05T14:00:00Z","operationName":"Microsoft.Foo/write","resourceId":"/subscriptions/s1/providers/Microsoft.Foo"}"#).unwrap();
    let event = &normalize(&odd, &mut Inventory::empty()).unwrap()[0];
    assert_eq!(
        event.asset.as_ref().map(|a| a.asset_type.as_str()),
        Some("unknown")
    );
    assert!(
        normalize(
            &json::parse(r#"{"operationName":"x"}"#).unwrap(),
            &mut Inventory::empty()
        )
        .is_err()
    );
}
