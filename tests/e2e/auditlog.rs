//! Raw CloudTrail in the app: the announcement's drift story in the S3 layout and the Stratus
//! Red Team detonations, imported with `tideline-cli import`, then reviewed in the real window:
//! the firewall diff shows exactly the added address, a change of unknown configuration shows
//! the part the call proves, and activity (sign-ins, reads, refused calls) is listed apart.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::harness::Desktop;

fn import(session: &Path, input: &str) {
    let cli = PathBuf::from(env!("CARGO_BIN_EXE_tideline")).with_file_name("tideline-cli");
    let input = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/auditlog/cloudtrail")
        .join(input);
    let output = Command::new(cli)
        .args(["import", "--session"])
        .arg(session)
        .arg("--input")
        .arg(&input)
        .output()
        .expect("tideline-cli runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn imported_cloudtrail_shows_the_added_address_the_proven_part_and_the_activity_apart() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("cloudtrail.tideline");
    import(&session, "seed-story");
    import(&session, "stratus-red-team");

    let mut desktop =
        Desktop::launch("auditlog_review", &["--open", session.to_str().unwrap()]).await;
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "prod-db-sg")
        .await;
    let opened = r#"[data-testid="change-row"][data-action="AuthorizeSecurityGroupIngress"][data-asset-label="prod-db-sg"]"#;
    // Terraform's Friday authorize and jdoe's Sunday one: jdoe's is the newer, at the top.
    desktop.click(opened).await;
    let changes = desktop
        .text_when(r#"[data-testid="diff-changes"]"#, |text| {
            text.contains("203.0.113.66/32")
        })
        .await;
    assert!(
        !changes.contains("10.") && !changes.contains("sg-0app"),
        "{changes}"
    );
    desktop
        .text_when(r#"[data-testid="who-source-ip"]"#, |text| {
            text.contains("198.51.100.23")
        })
        .await;
    desktop.screenshot("firewall-diff-from-cloudtrail").await;

    // The Stratus group's earlier state is unknown: the one rule the call added is shown.
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "sg-003dc7f1f1c686164")
        .await;
    desktop
        .click(r#"[data-testid="change-row"][data-action="AuthorizeSecurityGroupIngress"][data-asset-label="sg-003dc7f1f1c686164"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="diff-changes"]"#, |text| {
            text.contains("208.236.235.254/0")
        })
        .await;
    desktop.screenshot("proven-part-of-unknown-group").await;

    // Activity apart: the console logins, the role assumptions, the refused call.
    desktop.click(r#"[data-testid="show-activity"]"#).await;
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "ConsoleLogin")
        .await;
    desktop
        .find(r#"[data-testid="change-row"][data-action="ConsoleLogin"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("activity events")
        })
        .await;
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, "AccessDenied")
        .await;
    desktop
        .click(r#"[data-testid="change-row"][data-action="CreateAccessKey"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="change-badge"]"#, |text| {
            text.contains("denied")
        })
        .await;
    desktop.screenshot("activity-refused-call").await;
    desktop.close().await;
}
