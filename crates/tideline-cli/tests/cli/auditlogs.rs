//! `tideline-cli import` of raw cloud audit logs: the announcement's drift story told as raw
//! CloudTrail in the S3 delivery layout gives the EventStream capture's diffs and findings,
//! the real Stratus Red Team detonations import whole, and every record is accounted for.

use std::path::Path;

use tempfile::TempDir;

use crate::*;

/// Runs `import --json` and returns the report.
fn import(session: &Path, input: &Path, from: &str) -> (serde_json::Value, String) {
    let output = cli()
        .args(["import", "--json", "--from", from, "--session"])
        .arg(session)
        .arg("--input")
        .arg(input)
        .output()
        .unwrap();
    assert_success(&output);
    let report = serde_json::from_slice(&output.stdout).expect("the report as JSON");
    (report, String::from_utf8_lossy(&output.stderr).into_owned())
}

fn csv_rows(session: &Path, dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let out = dir.join("timeline.csv");
    assert_success(
        &cli()
            .args(["export", "--format", "csv", "--session"])
            .arg(session)
            .arg("--out")
            .arg(&out)
            .output()
            .unwrap(),
    );
    let mut reader = csv::Reader::from_path(&out).unwrap();
    reader.deserialize().map(Result::unwrap).collect()
}

#[test]
fn the_drift_story_as_raw_cloudtrail_gives_the_added_address_and_the_reverted_and_short_lived_findings()
 {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("story.tideline");
    let story = fixture("auditlog/cloudtrail/seed-story");
    let (report, said) = import(&session, &story, "auto");

    // `auto` says what it recognised and what it skipped; the counts add up.
    assert!(said.contains("Read as AWS CloudTrail (36 files)"), "{said}");
    assert!(
        said.contains("CloudTrail-Digest") && said.contains("README.md: not JSON"),
        "{said}"
    );
    assert_eq!(report["records"], 78);
    assert_eq!(report["change_records"], 28);
    assert_eq!(report["activity_records"], 50);
    assert_eq!(report["quarantined_records"], 0);
    assert_eq!(report["changes"], 31);
    assert_eq!(report["stored"], 81);
    assert_eq!(report["skipped"].as_array().unwrap().len(), 2);

    let rows = csv_rows(&session, dir.path());
    let mut by_type = std::collections::BTreeMap::<(String, String), u32>::new();
    for row in &rows {
        if !row["asset_type"].is_empty() {
            *by_type
                .entry((row["asset_type"].clone(), row["change"].clone()))
                .or_default() += 1;
        }
    }
    // The story's README table: 9 creates, 17 updates, 5 deletes by type.
    let expected = [
        ("compute.instance", "create", 4),
        ("compute.instance", "delete", 3),
        ("compute.instance", "update", 1),
        ("database.instance", "update", 1),
        ("iam.access_key", "create", 1),
        ("iam.access_key", "delete", 1),
        ("iam.role", "create", 1),
        ("iam.role", "update", 1),
        ("iam.user", "create", 1),
        ("iam.user", "delete", 1),
        ("iam.user", "update", 2),
        ("network.firewall", "create", 1),
        ("network.firewall", "update", 5),
        ("network.subnet", "update", 2),
        ("network.vpc", "update", 1),
        ("storage.bucket", "create", 1),
        ("storage.bucket", "update", 4),
    ];
    let expected: std::collections::BTreeMap<(String, String), u32> = expected
        .iter()
        .map(|(t, c, n)| ((t.to_string(), c.to_string()), *n))
        .collect();
    assert_eq!(by_type, expected);

    // jdoe's authorize adds exactly the /32; the revoke (by rule id) removes exactly it.
    let change_of = |action: &str, principal: &str| {
        rows.iter()
            .find(|row| row["action"] == action && row["principal"].ends_with(principal))
            .unwrap_or_else(|| panic!("no {action} by {principal}"))["changes"]
            .clone()
    };
    assert_eq!(
        change_of("AuthorizeSecurityGroupIngress", "user/jdoe"),
        "added IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]"
    );
    assert_eq!(
        change_of("RevokeSecurityGroupIngress", "user/jdoe"),
        "removed IpPermissions[0].IpRanges[CidrIp=203.0.113.66/32]"
    );

    let output = cli()
        .args(["findings", "--json", "--rebuild", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&output);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let describe: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f["rule"], f["summary"]))
        .collect();
    let has = |rule: &str, text: &str| {
        findings
            .iter()
            .any(|f| f["rule"] == rule && f["summary"].as_str().unwrap_or_default().contains(text))
    };
    for (rule, text) in [
        (
            "reverted_change",
            "prod-db-sg allowed 203.0.113.66/32 on 5432 for 16m45s",
        ),
        ("short_lived_asset", "svc-backup-tmp (iam.user)"),
        ("short_lived_asset", "AKIA4EXAMPLEBKUP0001 (iam.access_key)"),
        ("console_where_iac", "prod-db-sg from the console"),
    ] {
        assert!(has(rule, text), "missing {rule} '{text}': {describe:#?}");
    }
    // The Terraform, autoscaling and read-only background raises nothing: every finding is
    // about jdoe's Sunday.
    for finding in &findings {
        let summary = finding["summary"].as_str().unwrap();
        assert!(summary.contains("jdoe"), "a background finding: {summary}");
    }

    // Importing the same logs again adds nothing.
    let (again, _) = import(&session, &story, "cloudtrail");
    assert_eq!(again["stored"], 0);
    assert_eq!(again["duplicates"], 81);
}

#[test]
fn the_stratus_red_team_detonations_import_whole_with_every_record_accounted_for() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("stratus.tideline");
    let (report, _) = import(
        &session,
        &fixture("auditlog/cloudtrail/stratus-red-team"),
        "auto",
    );
    assert_eq!(report["records"], 310);
    assert_eq!(report["quarantined_records"], 0);
    assert_eq!(report["quarantined"], 0);
    let accounted = report["change_records"].as_u64().unwrap()
        + report["activity_records"].as_u64().unwrap()
        + report["quarantined_records"].as_u64().unwrap();
    assert_eq!(accounted, 310);
    assert_eq!(
        report["stored"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap(),
        report["changes"].as_u64().unwrap() + report["activity"].as_u64().unwrap()
    );

    let rows = csv_rows(&session, dir.path());
    let sign_in = rows
        .iter()
        .find(|row| row["action"] == "ConsoleLogin")
        .expect("the console login is kept");
    assert_eq!(sign_in["change"], "com.opshelm.activity.sign_in");
    assert!(sign_in["principal"].ends_with("user/stratus-red-team-nmfalu-jfzdtsvchl"));
    assert_eq!(sign_in["source_ip"], "225.1.0.16");
    let assumptions = rows
        .iter()
        .filter(|row| row["change"] == "com.opshelm.activity.role_assumption")
        .count();
    assert!(assumptions >= 5, "{assumptions}");
    let opened = rows
        .iter()
        .find(|row| row["action"] == "AuthorizeSecurityGroupIngress")
        .unwrap();
    assert_eq!(opened["change"], "update");
    assert_eq!(opened["asset_type"], "network.firewall");
}

#[test]
fn the_other_real_cloudtrail_records_import_with_no_crash_and_counts_that_add_up() {
    for folder in ["otrf", "awsdocs"] {
        let dir = TempDir::new().unwrap();
        let session = dir.path().join("real.tideline");
        let (report, _) = import(
            &session,
            &fixture(&format!("auditlog/cloudtrail/{folder}")),
            "auto",
        );
        let records = report["records"].as_u64().unwrap();
        assert!(records > 0, "{folder}");
        let accounted = report["change_records"].as_u64().unwrap()
            + report["activity_records"].as_u64().unwrap()
            + report["quarantined_records"].as_u64().unwrap();
        assert_eq!(accounted, records, "{folder}");
        assert_eq!(
            report["duplicates"], 0,
            "{folder}: distinct records are not taken for duplicates"
        );
    }
}

#[test]
fn a_gcp_rendition_of_the_drift_story_gives_the_added_range_and_the_reverted_and_short_lived_findings()
 {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("gcp.tideline");
    let (report, said) = import(&session, &fixture("auditlog/gcp-story"), "auto");
    assert!(
        said.contains("Read as GCP Cloud Audit Logs (1 file)"),
        "{said}"
    );
    let accounted =
        report["change_records"].as_u64().unwrap() + report["activity_records"].as_u64().unwrap();
    assert_eq!(accounted, report["records"].as_u64().unwrap());
    assert_eq!(report["quarantined_records"], 0);

    let rows = csv_rows(&session, dir.path());
    let opened = rows
        .iter()
        .find(|row| {
            row["action"] == "v1.compute.firewalls.patch" && row["changes"].contains("203.0.113.66")
        })
        .expect("the firewall patch that opened it");
    assert_eq!(
        opened["changes"],
        r#"added sourceRanges[1]: "203.0.113.66/32""#
    );

    let output = cli()
        .args(["findings", "--json", "--rebuild", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&output);
    let findings: Vec<serde_json::Value> = serde_json::from_slice(&output.stdout).unwrap();
    let rules: Vec<(&str, &str)> = findings
        .iter()
        .map(|f| (f["rule"].as_str().unwrap(), f["summary"].as_str().unwrap()))
        .collect();
    assert!(
        rules
            .iter()
            .any(|(rule, summary)| *rule == "reverted_change"
                && summary.starts_with(
                    "prod-db-allow-app changed (added sourceRanges[1]: \"203.0.113.66/32\")"
                )),
        "{rules:#?}"
    );
    for kind in ["(iam.service_account)", "(iam.access_key)"] {
        assert!(
            rules
                .iter()
                .any(|(rule, summary)| *rule == "short_lived_asset" && summary.contains(kind)),
            "{kind}: {rules:#?}"
        );
    }
    for (_, summary) in &rules {
        assert!(
            summary.contains("jdoe@example.com"),
            "a background finding: {summary}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_cloudtrail_served_live_by_the_simulator_records_the_same_events_as_an_import() {
    let dir = TempDir::new().unwrap();
    let story = fixture("auditlog/cloudtrail/seed-story");
    let sim = serve(
        eventstream_sim::StreamSource::AuditLog {
            path: story.clone(),
            format: tideline_engine::auditlog::LogFormat::Cloudtrail,
        },
        |_| {},
    )
    .await;
    let live = dir.path().join("live.tideline");
    assert_success(&record(&sim.url(), &live, "1", &[]).await);
    sim.shutdown().await;
    let imported = dir.path().join("imported.tideline");
    let (report, _) = import(&imported, &story, "cloudtrail");
    assert_eq!(report["stored"], 81);

    // The same events, byte for byte, whichever way they came in.
    let keys_and_bodies = |path: &Path| {
        let session = tideline_engine::store::Session::open(path).unwrap();
        let mut events: Vec<(String, String)> = session
            .event_keys()
            .unwrap()
            .into_iter()
            .map(|(source, id)| {
                let event = session.event(&source, &id).unwrap().unwrap();
                (format!("{source} {id}"), event.body)
            })
            .collect();
        events.sort();
        events
    };
    test_notes_dir();
    assert_eq!(keys_and_bodies(&live), keys_and_bodies(&imported));
}
