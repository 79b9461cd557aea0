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

/// The drift story's CloudTrail imported with the CLI into a new folder, and the app reviewing
/// it with its 31 changes listed: the folder (removed when dropped) and the desktop.
async fn review_the_story(test: &str) -> (tempfile::TempDir, Desktop) {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("story.tideline");
    import(&session, "seed-story");
    let desktop = Desktop::launch(test, &["--open", session.to_str().unwrap()]).await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("31 changes")
        })
        .await;
    (dir, desktop)
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

#[tokio::test(flavor = "multi_thread")]
async fn a_value_in_the_detail_hides_its_changes_from_the_list_and_the_chip_brings_them_back() {
    let (_dir, mut desktop) = review_the_story("hide_a_value").await;

    // The keyboard path: a focused value opens its menu with Enter; "Show only" narrows.
    desktop
        .click(r#"[data-testid="change-row"][data-action="CreateUser"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="detail-action"]"#, |text| {
            text == "CreateUser"
        })
        .await;
    let principal = desktop
        .find(r#"[data-testid="value-menu"][data-facet="principal"]"#)
        .await;
    principal.send_keys("\u{E007}").await.unwrap();
    desktop.click(r#"[data-testid="value-only"]"#).await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-facet="principal"][data-value="arn:aws:iam::123456789012:user/jdoe"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("8 changes")
        })
        .await;
    desktop
        .click(r#"[data-testid="filter-chip"][data-kind="facet"] [data-testid="chip-remove"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("31 changes")
        })
        .await;

    // Right-click on an autoscaling termination's method (the provider's) and hide it.
    desktop
        .click(r#"[data-testid="change-row"][data-action="TerminateInstances"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="detail-action"]"#, |text| {
            text == "TerminateInstances"
        })
        .await;
    let method = r#"[data-testid="value-menu"][data-facet="method"]"#;
    desktop.find(method).await;
    desktop
        .script(&format!(
            "document.querySelector('{}').dispatchEvent(new MouseEvent('contextmenu', {{bubbles: true, cancelable: true}})); return true;",
            method.replace('\'', "\\'")
        ))
        .await;
    desktop.find(r#"[data-testid="value-hide"]"#).await;
    desktop.screenshot("value-menu-open").await;
    desktop.click(r#"[data-testid="value-hide"]"#).await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="hidden"][data-facet="method"][data-value="provider"]"#)
        .await;
    // The 4 launches and 3 terminations of the autoscaling group are hidden; nothing else.
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("24 changes")
        })
        .await;
    desktop.screenshot("provider-hidden").await;

    // Removing the chip brings them back.
    desktop
        .click(r#"[data-testid="filter-chip"][data-kind="hidden"] [data-testid="chip-remove"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("31 changes")
        })
        .await;
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_last_hour_counts_back_from_the_newest_event_and_a_date_alone_is_a_whole_day() {
    let (_dir, mut desktop) = review_the_story("time_ranges").await;
    // Reviewed offline, "last 1 h" is the hour before the session's newest event (14:19:20
    // on Sunday 5 May 2024), not before today: jdoe's 8 changes.
    desktop.click(r#"[data-testid="time-last-60"]"#).await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("8 changes")
        })
        .await;
    desktop.screenshot("last-hour").await;
    // "±15 min" around jdoe's authorize (14:01:03): from 13:46:03 to 14:16:03, i.e. his user,
    // its policy and key, and the authorize itself.
    desktop
        .click(r#"[data-testid="change-row"][data-action="AuthorizeSecurityGroupIngress"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="detail-action"]"#, |text| {
            text == "AuthorizeSecurityGroupIngress"
        })
        .await;
    desktop.click(r#"[data-testid="detail-around"]"#).await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="time_to"][data-value="2024-05-05T14:16:03.000Z"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("4 changes")
        })
        .await;
    desktop.screenshot("around-the-authorize").await;
    desktop
        .click(r#"[data-testid="filter-chip"][data-kind="time_to"] [data-testid="chip-remove"]"#)
        .await;
    desktop
        .click(r#"[data-testid="filter-chip"][data-kind="time_from"] [data-testid="chip-remove"]"#)
        .await;
    // A date alone is that whole day: Sunday is jdoe's 8 and the autoscaling group's launch and
    // termination; Friday, alone in both boxes, is Terraform's 17 — up to, not including,
    // Saturday's first moment (half-open ranges).
    desktop
        // WebDriver's Enter key (U+E007), as a user presses it to apply the box.
        .type_into(r#"[data-testid="time-from"]"#, "2024-05-05\u{e007}")
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("10 changes")
        })
        .await;
    desktop
        .click(r#"[data-testid="filter-chip"][data-kind="time_from"] [data-testid="chip-remove"]"#)
        .await;
    desktop
        .type_into(r#"[data-testid="time-from"]"#, "2024-05-03\u{e007}")
        .await;
    desktop
        .type_into(r#"[data-testid="time-to"]"#, "2024-05-03\u{e007}")
        .await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="time_to"][data-value="2024-05-04T00:00:00.000Z"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("17 changes")
        })
        .await;
    desktop.screenshot("a-day").await;
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_range_brushed_on_the_histogram_filters_the_list_and_a_double_click_clears_it() {
    let (_dir, mut desktop) = review_the_story("time_brush").await;
    desktop.find(r#"[data-testid="time-brush"]"#).await;
    desktop.screenshot("histogram").await;
    // The story runs Friday to Sunday; the last tenth of the histogram is Sunday afternoon:
    // jdoe's changes, not Friday's Terraform.
    desktop
        .drag_across(r#"[data-testid="time-brush"]"#, 0.9, 0.999)
        .await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="time_from"]"#)
        .await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="time_to"]"#)
        .await;
    let brushed = desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            !text.contains("31 changes")
        })
        .await;
    let count: u32 = brushed
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{brushed}"));
    assert!((1..31).contains(&count), "{brushed}");
    let principals = desktop
        .script(
            "return [...document.querySelectorAll('[data-testid=\"change-row\"]')]\
             .map(r => r.textContent).join('\\n')",
        )
        .await;
    let rows = principals.as_str().unwrap_or_default().to_owned();
    assert!(
        rows.contains("jdoe") && !rows.contains("terraform-ci"),
        "{rows}"
    );
    desktop.screenshot("brushed").await;
    // A double-click clears the range.
    desktop
        .script(
            "document.querySelector('[data-testid=\"time-brush\"]')\
             .dispatchEvent(new MouseEvent('dblclick', {bubbles: true})); return true",
        )
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.contains("31 changes")
        })
        .await;
    desktop.close().await;
}
