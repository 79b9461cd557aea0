//! An asset at a point of its history: picked on the history, its configuration right after
//! that event; two picked, what changed between them.

use crate::harness::review_seed_incident;

#[tokio::test(flavor = "multi_thread")]
async fn an_assets_configuration_at_a_point_and_the_diff_between_two_points_of_its_history() {
    let (_dir, _session, mut desktop) = review_seed_incident("asset_state", &[]).await;
    desktop
        .select_change("prod-db-sg", "AuthorizeSecurityGroupIngress")
        .await;
    desktop.click(r#"[data-testid="history-open"]"#).await;
    let opened = r#"[data-testid="history-entry"][data-action="AuthorizeSecurityGroupIngress"]"#;
    let reverted = r#"[data-testid="history-entry"][data-action="RevokeSecurityGroupIngress"]"#;
    desktop.find(reverted).await;

    // One point: the firewall right after it was opened holds the attacker's /32.
    desktop
        .click(&format!(r#"{opened} [data-testid="history-pick"]"#))
        .await;
    let config = desktop
        .text_when(r#"[data-testid="asset-point-config"]"#, |text| {
            !text.is_empty()
        })
        .await;
    assert!(config.contains("203.0.113.66/32"), "{config}");
    desktop.scroll_to(r#"[data-testid="asset-point"]"#).await;
    desktop.screenshot("one-point").await;

    // Two points: from the opening to the revert, the /32 went.
    desktop
        .click(&format!(r#"{reverted} [data-testid="history-pick"]"#))
        .await;
    let title = desktop
        .text_when(r#"[data-testid="asset-point-title"]"#, |text| {
            text.starts_with("From ")
        })
        .await;
    assert!(title.contains(" to "), "{title}");
    let changes = desktop
        .text_when(
            r#"[data-testid="asset-point"] [data-testid="diff-changes"]"#,
            |text| !text.is_empty(),
        )
        .await;
    assert!(changes.contains("203.0.113.66/32"), "{changes}");
    desktop.scroll_to(r#"[data-testid="asset-point"]"#).await;
    desktop.screenshot("two-points").await;
    desktop.close().await;
}
