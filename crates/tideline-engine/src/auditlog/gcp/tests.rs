//! Data-driven tests: a record (fixture file) → what it normalizes to.

use std::path::PathBuf;

use super::normalize;
use crate::auditlog::{ActivityKind, EventKind, Inventory, NormalizedEvent};
use crate::json::{self, Value};
use crate::model::ChangeKind;

fn fixture(path: &str) -> Value {
    let file = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/auditlog")
        .join(path);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    json::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

fn one(record: &Value, inventory: &mut Inventory<'_>) -> NormalizedEvent {
    let mut events = normalize(record, inventory).expect("normalizes");
    assert_eq!(events.len(), 1);
    events.remove(0)
}

/// (event type, asset type, end of the asset name, principal, method)
type Expected = (
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

fn check(file: &str, expected: Expected) {
    let event = one(&fixture(&format!("gcp/{file}")), &mut Inventory::empty());
    let actual = (
        event.kind.cloudevents_type(),
        event.asset.as_ref().map(|a| a.asset_type.clone()),
        event.asset.as_ref().map(|a| a.name.clone()),
        event.attribution.principal.clone(),
        event.attribution.method,
    );
    assert_eq!(actual.0, expected.0, "{file}: type ({:?})", event.note);
    assert_eq!(actual.1.as_deref(), expected.1, "{file}: asset type");
    match (actual.2.as_deref(), expected.2) {
        (Some(name), Some(tail)) => {
            assert!(name.ends_with(tail), "{file}: {name} ends with {tail}")
        }
        (name, tail) => assert_eq!(name, tail, "{file}: asset name"),
    }
    assert_eq!(actual.3.as_deref(), expected.3, "{file}: principal");
    assert_eq!(actual.4, expected.4, "{file}: method");
}

#[test]
fn each_sample_record_normalizes_to_its_event_type_asset_principal_and_method() {
    let table: [(&str, Expected); 8] = [
        // Deployment Manager through the Google APIs service agent: the provider's own call.
        (
            "compute-instances-insert-deployment-manager.json",
            (
                "com.opshelm.asset.create",
                Some("compute.instance"),
                Some(
                    ":project-id:us-central1:compute-instance:zones/us-central1-a/instances/x-logs",
                ),
                Some("project-id@cloudservices.gserviceaccount.com"),
                "provider",
            ),
        ),
        (
            "data-access-aggregatedlist-console.json",
            (
                "com.opshelm.activity.read",
                None,
                None,
                Some("xxx@xxx.xxx"),
                "console",
            ),
        ),
        (
            "data-access-denied-status-7.json",
            (
                "com.opshelm.activity.denied",
                None,
                None,
                Some("xxx@xxx.xxx"),
                "console",
            ),
        ),
        (
            "images-insert-gcloud-first.json",
            (
                "com.opshelm.asset.create",
                Some("compute.image"),
                Some(":foo:global:compute-image:global/images/windows-server-2016-v20200805"),
                Some("user@mycompany.com"),
                "cli",
            ),
        ),
        (
            "instances-stop-last.json",
            (
                "com.opshelm.activity.call",
                Some("compute.instance"),
                Some(":foo:us-central1:compute-instance:zones/us-central1-a/instances/win10-test"),
                Some("user@mycompany.com"),
                "console",
            ),
        ),
        (
            "k8s-nodes-list-googlecloudconsole.json",
            (
                "com.opshelm.activity.read",
                None,
                None,
                Some("xxx@xxx.xxx"),
                "console",
            ),
        ),
        (
            "iamcredentials-generateaccesstoken.json",
            (
                "com.opshelm.activity.role_assumption",
                Some("iam.service_account"),
                Some(
                    ":project-id:global:iam-service_account:serviceAccounts/made-up-ci-account@project-id.iam.gserviceaccount.com",
                ),
                Some(
                    "principal://iam.googleapis.com/projects/project-id/locations/global/workloadIdentityPools/...",
                ),
                "sdk",
            ),
        ),
        // An unknown service's create on a project-level `audited_resource`: kept, type unknown.
        (
            "unknown-method-audited-resource.json",
            (
                "com.opshelm.asset.create",
                Some("unknown"),
                Some(":acme-payments-prod:global:unknown:projects/acme-payments-prod"),
                Some("jdoe@example.com"),
                "cli",
            ),
        ),
    ];
    for (file, expected) in table {
        check(file, expected);
    }
}

#[test]
fn activity_keeps_caller_address_agent_action_and_why() {
    let event = one(
        &fixture("gcp/data-access-denied-status-7.json"),
        &mut Inventory::empty(),
    );
    assert_eq!(event.attribution.source_ip.as_deref(), Some("192.168.1.1"));
    assert!(
        event
            .attribution
            .user_agent
            .as_deref()
            .is_some_and(|ua| ua.starts_with("Mozilla/5.0"))
    );
    assert_eq!(
        event.attribution.action.as_deref(),
        Some("beta.compute.instances.aggregatedList")
    );
    assert_eq!(
        event.note.as_deref(),
        Some("the call failed: status 7 PERMISSION_DENIED")
    );
    assert_eq!(event.id, "yonau3dc2zi");
    assert_eq!(event.source, "gcp-audit:elastic-beats");
}

#[test]
fn a_delegated_call_names_the_service_account_as_assumed_and_the_first_party_as_assumer() {
    let event = one(
        &fixture("gcp/compute-instances-insert-deployment-manager.json"),
        &mut Inventory::empty(),
    );
    assert_eq!(
        event.attribution.assumed_role.as_deref(),
        Some("project-id@cloudservices.gserviceaccount.com")
    );
    assert_eq!(
        event.attribution.assumed_id.as_deref(),
        Some("principalA@prod.google.com")
    );
}

#[test]
fn an_instance_insert_is_associated_with_its_network_and_service_account() {
    let event = one(
        &fixture("gcp/compute-instances-insert-deployment-manager.json"),
        &mut Inventory::empty(),
    );
    let links: Vec<(&str, &str)> = event
        .associations
        .iter()
        .map(|a| (a.name.as_str(), a.relation))
        .collect();
    assert_eq!(
        links,
        [
            (
                "ohn:gcp:project-id:global:network-vpc:global/networks/x-logs-network",
                "member_of"
            ),
            (
                "ohn:gcp:project-id:global:iam-service_account:serviceAccounts/x-logs-sa@project-id.iam.gserviceaccount.com",
                "runs_as"
            ),
        ]
    );
    assert_eq!(
        event.config, None,
        "only a firewall's request is taken as its configuration"
    );
    assert!(
        event
            .requested_change
            .as_ref()
            .is_some_and(|r| r["name"] == "x-logs")
    );
}

#[test]
fn records_without_a_time_or_not_objects_are_errors_and_nothing_else_is() {
    assert!(normalize(&json::parse("[1]").unwrap(), &mut Inventory::empty()).is_err());
    assert!(
        normalize(
            &json::parse(r#"{"protoPayload":{}}"#).unwrap(),
            &mut Inventory::empty()
        )
        .is_err()
    );
    let bare =
        json::parse(r#"{"protoPayload":{},"receiveTimestamp":"2024-05-05T14:00:00Z"}"#).unwrap();
    let event = one(&bare, &mut Inventory::empty());
    assert_eq!(event.kind, EventKind::Activity(ActivityKind::Call));
}

// The drift story (tests/fixtures/auditlog/gcp-story), through the dispatcher so that the
// inventory carries each configuration to the next record, oldest first.

fn story() -> Vec<NormalizedEvent> {
    let Value::Array(mut entries) = fixture("gcp-story/gcloud-logging-read.json") else {
        panic!("the story is a JSON array")
    };
    entries.reverse(); // gcloud prints newest first
    let mut inventory = Inventory::empty();
    entries
        .iter()
        .flat_map(|entry| {
            crate::auditlog::normalize(crate::auditlog::LogFormat::GcpAudit, entry, &mut inventory)
                .expect("normalizes")
        })
        .collect()
}

fn at<'a>(events: &'a [NormalizedEvent], id: &str) -> &'a NormalizedEvent {
    events
        .iter()
        .find(|e| e.id == id)
        .unwrap_or_else(|| panic!("no event {id}"))
}

#[test]
fn story_firewall_opening_differs_from_fridays_config_by_exactly_the_added_range() {
    let events = story();
    let open = at(&events, "sun-fw-open-first");
    assert_eq!(open.kind, EventKind::Change(ChangeKind::Update));
    assert_eq!(
        open.attribution.principal.as_deref(),
        Some("jdoe@example.com")
    );
    assert_eq!(open.attribution.source_ip.as_deref(), Some("198.51.100.23"));
    assert_eq!(open.attribution.method, "console");
    let (Some(previous), Some(config)) = (&open.previous_config, &open.config) else {
        panic!("both configurations known: {open:?}")
    };
    let changes = crate::diff::field_changes(previous, config);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        changes[0].new.as_ref().and_then(Value::as_str),
        Some("203.0.113.66/32")
    );
    assert_eq!(changes[0].old, None);
}

#[test]
fn story_firewall_revert_restores_fridays_config_and_each_operation_is_one_change() {
    let events = story();
    let friday = at(&events, "fri-fw-insert-first");
    assert_eq!(friday.kind, EventKind::Change(ChangeKind::Create));
    assert_eq!(friday.attribution.method, "terraform");
    assert_eq!(
        friday.asset.as_ref().map(|a| a.name.as_str()),
        Some(
            "ohn:gcp:acme-payments-prod:global:network-firewall:global/firewalls/prod-db-allow-app"
        )
    );
    let revert = at(&events, "sun-fw-revert-first");
    assert_eq!(revert.config, friday.config);
    assert!(friday.config.is_some());
    let firewall_changes = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Change(_)))
        .filter(|e| {
            e.asset
                .as_ref()
                .is_some_and(|a| a.asset_type == "network.firewall")
        })
        .count();
    assert_eq!(
        firewall_changes, 3,
        "insert, open, revert: the `last` entries are activity"
    );
    let completion = at(&events, "sun-fw-open-last");
    assert_eq!(completion.kind, EventKind::Activity(ActivityKind::Call));
    assert!(
        completion
            .note
            .as_deref()
            .is_some_and(|n| n.starts_with("completion of operation"))
    );
    let vm = at(&events, "fri-vm-insert-first");
    assert!(vm.associations.iter().any(|a| {
        a.name.ends_with("regions/us-central1/subnetworks/prod-app") && a.relation == "in_subnet"
    }));
}

#[test]
fn story_service_account_and_key_live_less_than_21_minutes_and_background_is_activity() {
    let events = story();
    let life = |create: &str, delete: &str, kind: &str| {
        let (create, delete) = (at(&events, create), at(&events, delete));
        assert_eq!(create.kind, EventKind::Change(ChangeKind::Create));
        assert_eq!(delete.kind, EventKind::Change(ChangeKind::Delete));
        let (a, b) = (
            create.asset.as_ref().unwrap(),
            delete.asset.as_ref().unwrap(),
        );
        assert_eq!(a.name, b.name);
        assert_eq!(a.asset_type, kind);
        assert!(delete.time - create.time <= chrono::Duration::minutes(21));
        a.name.clone()
    };
    let account = life("sun-sa-create", "sun-sa-delete", "iam.service_account");
    assert_eq!(
        account,
        "ohn:gcp:acme-payments-prod:global:iam-service_account:serviceAccounts/svc-backup-tmp@acme-payments-prod.iam.gserviceaccount.com"
    );
    life("sun-key-create", "sun-key-delete", "iam.access_key");
    let key = at(&events, "sun-key-create");
    assert_eq!(key.associations.len(), 1);
    assert_eq!(key.associations[0].name, account);
    for read in ["fri-read-list", "fri-read-get"] {
        assert_eq!(
            at(&events, read).kind,
            EventKind::Activity(ActivityKind::Read),
            "{read}"
        );
    }
    let system = at(&events, "fri-system-event");
    assert_eq!(system.kind, EventKind::Activity(ActivityKind::Call));
    assert_eq!(system.attribution.method, "provider");
}
