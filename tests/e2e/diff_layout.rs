//! The side-by-side diff in the real window: unchanged runs folded (a click opens one), or the
//! unified diff with a note when the detail panel is too narrow for two columns.

use crate::harness::review_seed_incident;

#[tokio::test(flavor = "multi_thread")]
async fn side_by_side_folds_unchanged_lines_or_falls_back_to_unified_in_a_narrow_panel() {
    let (_dir, _session, mut desktop) = review_seed_incident("diff_layout", &[]).await;
    desktop
        .select_change("prod-db-sg", "AuthorizeSecurityGroupIngress")
        .await;
    // Once the panel's width is measured (`data-width`, pixels).
    desktop
        .find(r#".diff:not([data-width="0"]) [data-testid="diff-unified"]"#)
        .await;
    let width = desktop
        .script(r#"return Number(document.querySelector('[data-testid="diff-unified"]').closest('.diff').dataset.width);"#)
        .await
        .as_f64()
        .unwrap();
    if width < 520.0 {
        // Too narrow: side by side is offered only once the panel is wider, and says so.
        let split = desktop.find(r#"[data-testid="diff-mode-split"]"#).await;
        assert!(split.attr("disabled").await.unwrap().is_some(), "{width}");
        desktop.screenshot("narrow-unified").await;
    } else {
        desktop.click(r#"[data-testid="diff-mode-split"]"#).await;
        let fold = r#"[data-testid="diff-fold"]"#;
        let before = desktop.find_all(fold).await.len();
        assert!(before > 0, "no unchanged run folded");
        desktop
            .scroll_to(r#"[data-testid="diff-side-by-side"]"#)
            .await;
        desktop.screenshot("folded").await;
        desktop.click(fold).await;
        let after = desktop.find_all(fold).await.len();
        assert_eq!(after, before - 1);
        desktop.screenshot("one-opened").await;
    }
    desktop.close().await;
}
