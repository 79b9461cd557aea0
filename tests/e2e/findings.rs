//! The analyst's session work in the real app: detections flag the attack in a saved session,
//! a finding selects its events, and stars, tags and comments are kept and filter the list.

use crate::harness::{Desktop, record_seed_scenario};

#[tokio::test(flavor = "multi_thread")]
async fn findings_select_their_events_and_annotations_filter_the_list() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = dir.path().join("seed-incident.tideline");
    record_seed_scenario(&session).await;

    let mut desktop = Desktop::launch(
        "findings_and_annotations",
        &["--open", session.to_str().unwrap()],
    )
    .await;
    desktop
        .find(r#"[data-testid="integrity-badge"][data-intact="true"]"#)
        .await;

    // The Findings panel lists the attack; clicking the reverted firewall selects its two events.
    if desktop
        .find_all(r#"[data-testid="findings-panel"]"#)
        .await
        .is_empty()
    {
        desktop.click(r#"[data-testid="findings-toggle"]"#).await;
    }
    let reverted = r#"[data-testid="finding"][data-rule="reverted_change"]"#;
    desktop.find(reverted).await;
    let mut rules = Vec::new();
    for finding in desktop.find_all(r#"[data-testid="finding"]"#).await {
        rules.push(finding.attr("data-rule").await.unwrap().unwrap_or_default());
    }
    for rule in [
        "reverted_change",
        "short_lived_asset",
        "console_where_iac",
        "new_source_ip",
        "off_hours",
    ] {
        assert!(
            rules.iter().any(|r| r == rule),
            "no {rule} finding in the panel: {rules:?}"
        );
    }
    desktop.screenshot("findings-panel").await;
    let mut clicked = false;
    for finding in desktop.find_all(reverted).await {
        if desktop
            .text_of(finding.clone())
            .await
            .unwrap_or_default()
            .contains("prod-db-sg")
        {
            finding.click().await.unwrap();
            clicked = true;
            break;
        }
    }
    assert!(clicked, "no reverted_change finding about prod-db-sg");
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="finding"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.starts_with("2 ")
        })
        .await;
    let mut actions = Vec::new();
    for row in desktop.find_all(r#"[data-testid="change-row"]"#).await {
        actions.push(row.attr("data-action").await.unwrap().unwrap_or_default());
    }
    actions.sort();
    assert_eq!(
        actions,
        [
            "AuthorizeSecurityGroupIngress",
            "RevokeSecurityGroupIngress"
        ]
    );
    desktop
        .find(r#"[data-testid="change-row"][aria-selected="true"]"#)
        .await;
    desktop.screenshot("finding-selects-its-events").await;

    // Star, tag and comment the change that opened the firewall; the starred filter finds it.
    desktop
        .click(r#"[data-testid="change-row"][data-action="AuthorizeSecurityGroupIngress"]"#)
        .await;
    desktop
        .text_when(r#"[data-testid="detail-action"]"#, |t| {
            t.contains("AuthorizeSecurityGroupIngress")
        })
        .await;
    desktop.click(r#"[data-testid="star-toggle"]"#).await;
    desktop
        .type_into(
            r#"[data-testid="tag-input"]"#,
            &format!("exfil{}", char::from(fantoccini::key::Key::Enter)),
        )
        .await;
    desktop
        .find(r#"[data-testid="tag-chip"][data-tag="exfil"]"#)
        .await;
    desktop
        .type_into(
            r#"[data-testid="comment-input"]"#,
            "<b>opened to the attacker</b>",
        )
        .await;
    desktop.click(r#"[data-testid="comment-submit"]"#).await;
    desktop
        .text_when(r#"[data-testid="comment"]"#, |t| {
            t.contains("<b>opened to the attacker</b>")
        })
        .await;
    desktop.click(r#"[data-testid="filters-clear"]"#).await;
    desktop.click(r#"[data-testid="starred-only"]"#).await;
    desktop
        .text_when(r#"[data-testid="list-total"]"#, |text| {
            text.starts_with("1 ")
        })
        .await;
    desktop.screenshot("starred-only").await;

    // The insights view draws its charts for the current filter (here: everything).
    desktop.click(r#"[data-testid="filters-clear"]"#).await;
    desktop.click(r#"[data-testid="insights-toggle"]"#).await;
    for chart in [
        "chart-rate",
        "chart-heatmap",
        "chart-assets",
        "chart-principals",
        "chart-methods",
    ] {
        desktop.find(&format!(r#"[data-testid="{chart}"]"#)).await;
    }
    let rate = desktop.find(r#"[data-testid="chart-rate"]"#).await;
    let label = rate.attr("aria-label").await.unwrap().unwrap_or_default();
    assert!(
        label.contains("202"),
        "the rate chart's text alternative counts all 202 changes: {label}"
    );
    desktop.screenshot("insights").await;
    desktop.close().await;
}
