//! `tideline-cli findings` over the seed-incident scenario recorded from the real stream
//! server: the announcement's attack is found, the week of benign background is not, and the
//! findings the recorder kept are those a rebuild makes (and are read, not made again).

use tempfile::TempDir;

use eventstream_sim::{Scenario, StreamSource};

use crate::*;

#[tokio::test(flavor = "multi_thread")]
async fn the_seed_incident_attack_is_found_and_its_terraform_and_autoscaling_background_is_not() {
    let dir = TempDir::new().unwrap();
    let sim = serve(StreamSource::Scenario(Scenario::SeedIncident), |_| {}).await;
    let session = dir.path().join("scenario.tideline");
    assert_success(&record(&sim.url(), &session, "1", &["--findings"]).await);
    sim.shutdown().await;

    // `record --findings` kept the findings current while it recorded, in the session's notes
    // (the recording the desktop app starts does the same): `findings` reads them as kept.
    test_notes_dir();
    let kept = tideline_engine::store::Session::open(&session)
        .unwrap()
        .findings()
        .unwrap();
    let listed = cli()
        .args(["findings", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&listed);
    let said = String::from_utf8_lossy(&listed.stderr);
    assert!(
        said.contains(&format!(
            "{} findings, kept in the session's notes",
            kept.len()
        )),
        "{said}"
    );

    let output = cli()
        .args(["findings", "--json", "--rebuild", "--session"])
        .arg(&session)
        .output()
        .unwrap();
    assert_success(&output);
    let findings: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("an array of findings");
    let describe: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f["rule"], f["summary"]))
        .collect();
    let find = |rule: &str, text: &str| {
        findings
            .iter()
            .find(|f| f["rule"] == rule && f["summary"].as_str().unwrap().contains(text))
    };

    let reverted = find(
        "reverted_change",
        "prod-db-sg allowed 203.0.113.66/32 on 5432 for 16m45s",
    )
    .unwrap_or_else(|| panic!("no reverted firewall: {describe:#?}"));
    assert_eq!(
        reverted["events"],
        serde_json::json!(["01HX0000000000000000000007", "01HX0000000000000000000008"])
    );
    assert_eq!(reverted["severity"], "high");
    for (rule, text) in [
        ("short_lived_asset", "svc-backup-tmp (iam.user)"),
        ("short_lived_asset", "(iam.access_key)"),
        ("console_where_iac", "prod-db-sg from the console"),
        ("new_source_ip", "jdoe made a change from 198.51.100.23"),
        ("off_hours", "on Sun 2024-05-05"),
    ] {
        assert!(
            find(rule, text).is_some(),
            "missing {rule} '{text}': {describe:#?}"
        );
    }
    for finding in &findings {
        for key in [
            "rule",
            "severity",
            "events",
            "asset",
            "principal",
            "summary",
            "count",
            "first_time",
            "last_time",
        ] {
            assert!(finding.get(key).is_some(), "{key} missing in {finding}");
        }
        assert!(
            finding["count"].as_u64().unwrap()
                >= finding["events"].as_array().unwrap().len() as u64,
            "{finding}"
        );
        let principal = finding["principal"].as_str().unwrap_or_default();
        assert!(
            !principal.contains("terraform-ci") && !principal.contains("autoscaling"),
            "the benign background raised {finding}"
        );
    }

    // The recorder's findings are a rebuild's: same rules, summaries and counts.
    let mut kept_keys: Vec<(String, String, u64)> = kept
        .iter()
        .map(|f| (f.rule.as_str().to_owned(), f.summary.clone(), f.count))
        .collect();
    let mut printed: Vec<(String, String, u64)> = findings
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["summary"].as_str().unwrap().to_owned(),
                f["count"].as_u64().unwrap(),
            )
        })
        .collect();
    kept_keys.sort();
    printed.sort();
    assert_eq!(
        kept_keys, printed,
        "the recorder's findings differ from a rebuild"
    );
}
