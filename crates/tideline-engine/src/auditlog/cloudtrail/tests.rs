//! Data-driven tests of the CloudTrail normalizer, on real records (`tests/fixtures/auditlog/
//! cloudtrail/`: Stratus Red Team detonations, OTRF, AWS's documentation samples, the seed
//! story): one row per record, `check(file, eventName, expected)`.

use std::path::PathBuf;

use super::normalize;
use crate::auditlog::order::order_key;
use crate::auditlog::{EventKind, Inventory, LogFile, LogFormat, read_log_file, walk};
use crate::json::{self, Value};

fn fixture(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/auditlog/cloudtrail")
        .join(path)
}

/// Every record of a fixture file or folder, parsed.
fn records(path: &str) -> Vec<Value> {
    let mut all = Vec::new();
    for file in walk(&fixture(path)).unwrap() {
        if let LogFile::Records { records, .. } = read_log_file(&file, None).unwrap() {
            all.extend(records.iter().map(|text| {
                (
                    order_key(LogFormat::Cloudtrail, text),
                    json::parse(text).unwrap(),
                )
            }));
        }
    }
    all.sort_by_key(|(key, _)| *key);
    all.into_iter().map(|(_, record)| record).collect()
}

/// What one event says, in one line: `type asset_type asset_id principal method`.
fn line(event: &crate::auditlog::NormalizedEvent) -> String {
    let kind = event.kind.cloudevents_type();
    let kind = kind.trim_start_matches("com.opshelm.");
    let (asset_type, id) = event.asset.as_ref().map_or(("-", "-"), |asset| {
        (asset.asset_type.as_str(), asset.provider_id.as_str())
    });
    let principal = event.attribution.principal.as_deref().unwrap_or("-");
    let principal = crate::attribution::principal_short(principal);
    format!(
        "{kind} {asset_type} {id} {principal} {}",
        event.attribution.method
    )
}

/// Normalizes the `nth` record named `event_name` in `path` and compares each event's line.
fn check(path: &str, event_name: &str, expected: &[&str]) {
    let record = records(path)
        .into_iter()
        .find(|record| record["eventName"].as_str() == Some(event_name))
        .unwrap_or_else(|| panic!("no {event_name} in {path}"));
    let events = normalize(&record, &mut Inventory::empty()).unwrap();
    let lines: Vec<String> = events.iter().map(line).collect();
    assert_eq!(lines, expected, "{path} {event_name}");
}

#[test]
fn real_records_normalize_to_the_expected_change_asset_principal_and_method() {
    let stratus = "stratus-red-team";
    let story = "seed-story";
    #[rustfmt::skip]
    let table: &[(&str, &str, &str, &[&str])] = &[
        // (fixture, file or folder, eventName, expected events)
        (stratus, "aws.exfiltration.ec2-security-group-open-port-22-ingress.json", "AuthorizeSecurityGroupIngress",
            &["asset.update network.firewall sg-003dc7f1f1c686164 christophe unknown"]),
        (stratus, "aws.persistence.iam-create-admin-user.json", "CreateUser",
            &["asset.create iam.user malicious-iam-user christophe unknown"]),
        (stratus, "aws.persistence.iam-create-admin-user.json", "AttachUserPolicy",
            &["asset.update iam.user malicious-iam-user christophe unknown"]),
        (stratus, "aws.persistence.iam-create-admin-user.json", "CreateAccessKey",
            &["asset.create iam.access_key AKIAXAFZN8JEPF6L682H christophe unknown"]),
        (stratus, "aws.initial-access.console-login-without-mfa.json", "ConsoleLogin",
            &["activity.sign_in - - stratus-red-team-nmfalu-jfzdtsvchl console"]),
        (stratus, "aws.defense-evasion.cloudtrail-stop.json", "StopLogging",
            &["asset.update log.trail stratus-red-team-ct-stop-trail-buykxbqejv christophe unknown"]),
        (stratus, "aws.defense-evasion.cloudtrail-delete.json", "DeleteTrail",
            &["asset.delete log.trail stratus-red-team-cloudtraild-trail-kvrwohmiai christophe unknown"]),
        (stratus, "aws.defense-evasion.vpc-remove-flow-logs.json", "DeleteFlowLogs",
            &["asset.delete log.flow_log fl-0e17aa62a21d4bbfe christophe unknown"]),
        (stratus, "aws.exfiltration.ec2-share-ebs-snapshot.json", "ModifySnapshotAttribute",
            &["asset.update storage.snapshot snap-041993b54a9b3af6f christophe unknown"]),
        (stratus, "aws.persistence.sts-federation-token.json", "GetFederationToken",
            &["activity.role_assumption - - stratus-red-team-user-federation-user sdk"]),
        (stratus, "aws.credential-access.secretsmanager-retrieve-secrets.json", "GetSecretValue",
            &["activity.read - - christophe unknown"]),
        (stratus, "aws.execution.ssm-send-command.json", "SendCommand",
            &["activity.call - - christophe unknown"]),
        // The seed story: Terraform, the provider, the console, the CLI, an SDK.
        (story, "", "CreateSecurityGroup",
            &["asset.create network.firewall sg-0db5e1c2a3b4c5d6e terraform-ci/gh-actions-8812 terraform"]),
        (story, "", "CreateTags", &[
            "asset.update network.vpc vpc-0a11b22c33d44e55f terraform-ci/gh-actions-8812 terraform",
            "asset.update network.subnet subnet-0aa11bb22cc33dd44 terraform-ci/gh-actions-8812 terraform",
            "asset.update network.subnet subnet-0bb22cc33dd44ee55 terraform-ci/gh-actions-8812 terraform",
        ]),
        (story, "", "CreateBucket",
            &["asset.create storage.bucket acme-payments-reports-123456789012 terraform-ci/gh-actions-8827 terraform"]),
        (story, "", "ModifyInstanceAttribute",
            &["asset.update compute.instance i-0f1e2d3c4b5a69788 ops-engineer/asmith@example.com cli"]),
        (story, "", "TerminateInstances",
            &["asset.delete compute.instance i-07c4d5e6f7a8b9c0d AWSServiceRoleForAutoScaling/AutoScaling provider"]),
        (story, "", "CreateUser", &["asset.create iam.user svc-backup-tmp jdoe console"]),
        (story, "", "ConsoleLogin", &["activity.sign_in - - kpatel console"]),
        (story, "", "CreateAccessKey", &["activity.denied - - kpatel console"]),
        (story, "", "AssumeRole", &["activity.role_assumption - - asmith cli"]),
        (story, "", "DescribeInstances", &["activity.read - - kpatel console"]),
        (story, "", "DescribeAutoScalingGroups", &["activity.read - - ops-engineer/asmith@example.com cli"]),
        (story, "", "ModifyDBInstance", &["asset.update database.instance prod-payments-db terraform-ci/gh-actions-8812 terraform"]),
        (story, "", "AssumeRoleWithWebIdentity",
            &["activity.role_assumption - - repo:acme-corp/payments-infra:ref:refs/heads/main unknown"]),
        // OTRF (shipped through Logstash: `@timestamp` instead of `eventTime`).
        ("otrf", "", "DescribeInstanceTypes", &["activity.read - - pedro console"]),
    ];
    for (fixture_folder, file, event_name, expected) in table {
        let path = if file.is_empty() {
            (*fixture_folder).to_owned()
        } else {
            format!("{fixture_folder}/{file}")
        };
        check(&path, event_name, expected);
    }
}

#[test]
fn run_instances_of_two_instances_is_two_creates_with_their_subnet_groups_and_autoscaling_group() {
    let record = records("seed-story")
        .into_iter()
        .find(|r| {
            r["eventName"] == "RunInstances"
                && r["responseElements"]["instancesSet"]["items"]
                    .as_array()
                    .map(Vec::len)
                    == Some(2)
        })
        .unwrap();
    let events = normalize(&record, &mut Inventory::empty()).unwrap();
    assert_eq!(events.len(), 2);
    let id = record["eventID"].as_str().unwrap();
    for (index, event) in events.iter().enumerate() {
        assert!(event.id.starts_with(&format!("{id}~")), "{}", event.id);
        assert!(
            event.id.ends_with(&format!("#{}", index + 1)),
            "{}",
            event.id
        );
        let relations: Vec<&str> = event.associations.iter().map(|a| a.relation).collect();
        assert!(
            relations.contains(&"in_subnet") && relations.contains(&"member_of"),
            "{relations:?}"
        );
        assert!(event.config.is_some());
    }
}

#[test]
fn an_ingress_rule_added_to_a_group_of_unknown_state_is_one_added_rule() {
    let record =
        records("stratus-red-team/aws.exfiltration.ec2-security-group-open-port-22-ingress.json")
            .into_iter()
            .find(|r| r["eventName"] == "AuthorizeSecurityGroupIngress")
            .unwrap();
    let event = normalize(&record, &mut Inventory::empty())
        .unwrap()
        .remove(0);
    assert_eq!(
        event.config, None,
        "the group's configuration is not invented"
    );
    assert_eq!(event.previous_config, None);
    let part = event.changed_part.expect("the rule the call added");
    let changes = crate::diff::field_changes(&part.before, &part.after);
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(changes[0].op, crate::diff::ChangeOp::Added);
    assert_eq!(changes[0].path, "IpPermissions[0]");
    let rule = changes[0].new.as_ref().unwrap();
    assert_eq!(rule["FromPort"].to_string(), "22");
    assert_eq!(rule["IpRanges"][0]["CidrIp"], "208.236.235.254/0");
}

#[test]
fn the_admin_user_backdoor_links_its_policy_and_key_to_the_user() {
    let mut inventory = Inventory::empty();
    let mut events = Vec::new();
    for record in records("stratus-red-team/aws.persistence.iam-create-admin-user.json") {
        for event in
            crate::auditlog::normalize(LogFormat::Cloudtrail, &record, &mut inventory).unwrap()
        {
            if matches!(event.kind, EventKind::Change(_)) {
                events.push(event);
            }
        }
    }
    let user = "ohn:aws:";
    let names: Vec<(&str, Vec<(&str, &str)>)> = events
        .iter()
        .map(|event| {
            let asset = event.asset.as_ref().unwrap();
            let links = event
                .associations
                .iter()
                .map(|a| (a.relation, a.name.rsplit(':').next().unwrap()))
                .collect();
            (asset.asset_type.as_str(), links)
        })
        .collect();
    assert_eq!(
        names,
        // Same second: the user's create first, then the key made for it, then the attach.
        vec![
            ("iam.user", vec![]),
            ("iam.access_key", vec![("belongs_to", "malicious-iam-user")]),
            ("iam.user", vec![("attached_policy", "AdministratorAccess")]),
        ]
    );
    assert!(events[1].associations[0].name.starts_with(user));
    // The attach is rebuilt on the user's configuration from its create.
    let attached = &events[2].config.as_ref().unwrap()["AttachedManagedPolicies"];
    assert_eq!(attached[0]["PolicyName"], "AdministratorAccess");
}

#[test]
fn every_real_record_normalizes_without_error() {
    for folder in ["stratus-red-team", "otrf", "awsdocs", "seed-story"] {
        let mut inventory = Inventory::empty();
        for record in records(folder) {
            let events = crate::auditlog::normalize(LogFormat::Cloudtrail, &record, &mut inventory)
                .unwrap_or_else(|error| panic!("{folder}: {error}: {record}"));
            assert!(!events.is_empty());
            // A rebuilt configuration holds what the records said, nothing made up: no `null`
            // appears in one unless a record put it there.
            for event in &events {
                for config in [&event.config, &event.previous_config]
                    .into_iter()
                    .flatten()
                {
                    assert!(!has_null(config), "{folder}: {} {config}", event.id);
                }
            }
        }
    }
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        Value::Object(map) => map.values().any(has_null),
        _ => false,
    }
}

#[test]
fn a_record_reusing_another_records_event_id_is_a_different_event_but_a_redelivery_is_the_same() {
    let record = records("seed-story").remove(0);
    let mut forged = record.clone();
    forged["userAgent"] = Value::String("forged".into());
    let id = |record: &Value| {
        normalize(record, &mut Inventory::empty()).unwrap()[0]
            .id
            .clone()
    };
    assert_eq!(id(&record), id(&record.clone()));
    assert_ne!(id(&record), id(&forged));
}

#[test]
fn records_that_are_not_cloudtrail_records_are_refused_with_a_reason() {
    for (text, reason) in [
        ("[]", "a CloudTrail record must be a JSON object"),
        (
            r#"{"eventName":"X"}"#,
            "the record has no eventTime (nor @timestamp)",
        ),
        (
            r#"{"eventTime":"yesterday"}"#,
            "eventTime is not an RFC 3339 time: \"yesterday\"",
        ),
    ] {
        let error = normalize(&json::parse(text).unwrap(), &mut Inventory::empty()).unwrap_err();
        assert_eq!(error.0, reason);
    }
}

/// A CloudTrail record of `name` on `source` by jdoe, at second `second` of 2024-05-05 14:00.
fn call(second: u32, source: &str, name: &str, request: &str, response: &str) -> Value {
    json::parse(&format!(
        r#"{{"eventVersion":"1.09","eventTime":"2024-05-05T14:00:{second:02}Z","eventSource":"{source}.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","recipientAccountId":"123456789012","eventID":"e-{second}","readOnly":false,"userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/jdoe","userName":"jdoe"}},"requestParameters":{request},"responseElements":{response}}}"#
    ))
    .unwrap()
}

/// Runs `records` in order through one inventory; the configuration after each.
fn configs_after(records: &[Value]) -> Vec<Option<Value>> {
    let mut inventory = Inventory::empty();
    records
        .iter()
        .map(|record| {
            let mut events =
                crate::auditlog::normalize(LogFormat::Cloudtrail, record, &mut inventory).unwrap();
            assert_eq!(events.len(), 1, "{record}");
            events.remove(0).config
        })
        .collect()
}

#[test]
fn configurations_are_rebuilt_from_the_previous_state_plus_each_call() {
    let bucket = r#""bucketName":"b1""#;
    let after = configs_after(&[
        call(1, "s3", "CreateBucket", &format!("{{{bucket}}}"), "null"),
        call(
            2,
            "s3",
            "PutBucketPolicy",
            &format!(
                r#"{{{bucket},"bucketPolicy":{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}}]}}}}"#
            ),
            "null",
        ),
        call(
            3,
            "s3",
            "PutBucketAcl",
            &format!(r#"{{{bucket},"x-amz-acl":["public-read"]}}"#),
            "null",
        ),
        call(
            4,
            "s3",
            "DeleteBucketPolicy",
            &format!("{{{bucket}}}"),
            "null",
        ),
    ]);
    let policy = |i: usize| after[i].as_ref().unwrap().get("Policy").cloned();
    assert_eq!(policy(1).unwrap()["Statement"][0]["Principal"], "*");
    assert_eq!(
        after[2].as_ref().unwrap()["Acl"]["CannedAcl"][0],
        "public-read"
    );
    assert_eq!(policy(3), None, "the delete removes the policy");

    let trail = r#""name":"arn:aws:cloudtrail:us-east-1:123456789012:trail/main""#;
    let after = configs_after(&[
        call(
            1,
            "cloudtrail",
            "CreateTrail",
            r#"{"name":"main","s3BucketName":"logs"}"#,
            r#"{"name":"main","s3BucketName":"logs","isMultiRegionTrail":true}"#,
        ),
        call(
            2,
            "cloudtrail",
            "StartLogging",
            &format!("{{{trail}}}"),
            "null",
        ),
        call(
            3,
            "cloudtrail",
            "PutEventSelectors",
            &format!(r#"{{{trail},"eventSelectors":[{{"readWriteType":"WriteOnly"}}]}}"#),
            "null",
        ),
        call(
            4,
            "cloudtrail",
            "StopLogging",
            &format!("{{{trail}}}"),
            "null",
        ),
    ]);
    let trail = |i: usize| after[i].clone().unwrap();
    assert_eq!(trail(0)["IsLogging"], false);
    assert_eq!(trail(0)["S3BucketName"], "logs");
    assert_eq!(trail(1)["IsLogging"], true);
    assert_eq!(trail(2)["EventSelectors"][0]["readWriteType"], "WriteOnly");
    assert_eq!(trail(3)["IsLogging"], false);

    let after = configs_after(&[
        call(
            1,
            "iam",
            "CreateRole",
            r#"{"roleName":"r","assumeRolePolicyDocument":"{\"Statement\":[{\"Principal\":{\"Service\":\"ec2.amazonaws.com\"}}]}"}"#,
            r#"{"role":{"roleName":"r","roleId":"AROA1","arn":"arn:aws:iam::123456789012:role/r"}}"#,
        ),
        call(
            2,
            "iam",
            "UpdateAssumeRolePolicy",
            r#"{"roleName":"r","policyDocument":"{\"Statement\":[{\"Principal\":{\"AWS\":\"arn:aws:iam::999999999999:root\"}}]}"}"#,
            "null",
        ),
        call(
            3,
            "iam",
            "PutRolePolicy",
            r#"{"roleName":"r","policyName":"inline","policyDocument":"{\"Statement\":[{\"Action\":\"*\"}]}"}"#,
            "null",
        ),
        call(
            4,
            "iam",
            "DeleteRolePolicy",
            r#"{"roleName":"r","policyName":"inline"}"#,
            "null",
        ),
    ]);
    let role = |i: usize| after[i].clone().unwrap();
    assert_eq!(
        role(0)["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"],
        "ec2.amazonaws.com"
    );
    assert_eq!(
        role(1)["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"],
        "arn:aws:iam::999999999999:root"
    );
    assert_eq!(
        role(2)["InlinePolicies"][0]["PolicyDocument"]["Statement"][0]["Action"],
        "*"
    );
    assert_eq!(role(3)["InlinePolicies"], Value::Array(vec![]));

    let user = r#""userName":"u""#;
    let after = configs_after(&[
        call(
            1,
            "iam",
            "CreateUser",
            &format!("{{{user}}}"),
            r#"{"user":{"userName":"u","userId":"AIDA1"}}"#,
        ),
        call(
            2,
            "iam",
            "CreateLoginProfile",
            &format!(r#"{{{user},"passwordResetRequired":false}}"#),
            "null",
        ),
        call(
            3,
            "iam",
            "DeleteLoginProfile",
            &format!("{{{user}}}"),
            "null",
        ),
    ]);
    assert_eq!(
        after[1].as_ref().unwrap()["LoginProfile"]["PasswordResetRequired"],
        false
    );
    assert_eq!(after[2].as_ref().unwrap().get("LoginProfile"), None);

    let snapshot = r#""snapshotId":"snap-1","attributeType":"CREATE_VOLUME_PERMISSION""#;
    let share = |op: &str, who: &str| {
        format!(r#"{{{snapshot},"createVolumePermission":{{"{op}":{{"items":[{who}]}}}}}}"#)
    };
    let after = configs_after(&[
        call(
            1,
            "ec2",
            "CreateSnapshot",
            r#"{"volumeId":"vol-1"}"#,
            r#"{"snapshotId":"snap-1"}"#,
        ),
        call(
            2,
            "ec2",
            "ModifySnapshotAttribute",
            &share("add", r#"{"userId":"999999999999"}"#),
            "null",
        ),
        call(
            3,
            "ec2",
            "ModifySnapshotAttribute",
            &share("add", r#"{"group":"all"}"#),
            "null",
        ),
        call(
            4,
            "ec2",
            "ModifySnapshotAttribute",
            &share("remove", r#"{"userId":"999999999999"}"#),
            "null",
        ),
    ]);
    // The snapshot's create carries no configuration (CreateSnapshot's response is not it):
    // sharing on an unknown snapshot is unknown too, and shows the proven part instead.
    assert_eq!(after[0], None);
    assert_eq!(after[1], None);
    let created = normalize(
        &call(
            1,
            "ec2",
            "CreateSnapshot",
            r#"{"volumeId":"vol-1"}"#,
            r#"{"snapshotId":"snap-1"}"#,
        ),
        &mut Inventory::empty(),
    )
    .unwrap();
    let asset = created[0].asset.as_ref().unwrap();
    assert_eq!(
        asset.name, "ohn:aws:123456789012:us-east-1:storage-snapshot:snap-1",
        "the same asset the sharing calls name"
    );
}
