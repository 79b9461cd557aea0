//! The announcement's attack story, watched live in the demo.

use std::time::{Duration, Instant};

use crate::harness::{Desktop, STEP_TIMEOUT};

const FIREWALL_OPENED: &str = r#"[data-testid="change-row"][data-asset-label="prod-db-sg"][data-action="AuthorizeSecurityGroupIngress"]"#;

#[tokio::test(flavor = "multi_thread")]
async fn demo_shows_the_firewall_change_its_diff_who_made_it_and_its_history() {
    let mut desktop = Desktop::launch("demo_incident", &[]).await;

    // 1. Start the demo from the start screen.
    desktop.find(r#"[data-testid="start-screen"]"#).await;
    desktop.screenshot("start-screen").await;
    desktop.click(r#"[data-testid="start-demo"]"#).await;
    desktop.find(r#"[data-testid="change-row"]"#).await;
    desktop.screenshot("demo-running").await;

    // 2. Wait for the firewall change on prod-db-sg, then select it.
    desktop
        .find_within(FIREWALL_OPENED, Duration::from_secs(120))
        .await
        .click()
        .await
        .unwrap();

    // 3. The diff shows 203.0.113.66/32 added; Who shows jdoe, 198.51.100.23 and the console.
    let changes = desktop
        .text_when(r#"[data-testid="diff-changes"]"#, |text| {
            text.contains("203.0.113.66/32")
        })
        .await;
    assert!(
        changes.contains("IpRanges[CidrIp=203.0.113.66/32]"),
        "{changes}"
    );
    let added = desktop.find_all(r#"[data-testid="diff-field"]"#).await;
    assert_eq!(added.len(), 1, "exactly one field change: {changes}");
    let principal = desktop
        .text_when(r#"[data-testid="who-principal"]"#, |t| t.contains("jdoe"))
        .await;
    assert!(
        principal.contains("arn:aws:iam::123456789012:user/jdoe"),
        "{principal}"
    );
    desktop
        .text_when(r#"[data-testid="who-source-ip"]"#, |t| {
            t.contains("198.51.100.23")
        })
        .await;
    let method = desktop
        .text_when(r#"[data-testid="who-method"]"#, |t| !t.is_empty())
        .await;
    assert!(method.to_lowercase().contains("console"), "{method}");
    // Who made it and what changed answer first: both inside the 1280×800 window, no scroll.
    let in_view = desktop
        .script(
            r#"const seen = (css) => {
                 const box = document.querySelector(css)?.getBoundingClientRect();
                 return !!box && box.top >= 0 && box.bottom <= window.innerHeight;
               };
               return seen('[data-testid="who-principal-short"]') && seen('[data-testid="who-source-ip"]')
                 && seen('[data-testid="diff-changes"]');"#,
        )
        .await;
    assert_eq!(
        in_view,
        serde_json::Value::Bool(true),
        "who and what changed need a scroll"
    );
    desktop.screenshot("firewall-change-selected").await;

    // 4. Follow the association to the database: the list pivots to that asset.
    desktop
        .click(r#"[data-testid="association-link"][data-asset-name$=":prod-payments-db"]"#)
        .await;
    desktop
        .find(r#"[data-testid="filter-chip"][data-kind="asset"][data-value$=":prod-payments-db"]"#)
        .await;
    // The chip shows at once; the list's rows are read again after it (rows found before that
    // are replaced, so their elements go stale): every row drawn is the database's in time.
    let deadline = Instant::now() + STEP_TIMEOUT;
    loop {
        let drawn = desktop
            .script(
                r#"return [...document.querySelectorAll('[data-testid="change-row"]')]
                     .map((row) => row.dataset.assetName ?? '');"#,
            )
            .await;
        let assets: Vec<String> = serde_json::from_value(drawn).unwrap_or_default();
        if !assets.is_empty() && assets.iter().all(|a| a.ends_with(":prod-payments-db")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pivoted list shows {assets:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    desktop.screenshot("pivoted-to-database").await;

    // 5. Back to prod-db-sg: its history shows the rule being opened and then reverted.
    desktop.click(r#"[data-testid="pivot-back"]"#).await;
    desktop
        .text_when(r#"[data-testid="detail-action"]"#, |t| {
            t.contains("AuthorizeSecurityGroupIngress")
        })
        .await;
    desktop.click(r#"[data-testid="history-open"]"#).await;
    desktop
        .find(r#"[data-testid="history-entry"][data-current="true"]"#)
        .await;
    let mut actions = Vec::new();
    for entry in desktop.find_all(r#"[data-testid="history-entry"]"#).await {
        actions.push(entry.attr("data-action").await.unwrap().unwrap_or_default());
    }
    // Newest first: the revert comes before (above) the opening it undid.
    let reverted = actions
        .iter()
        .position(|a| a == "RevokeSecurityGroupIngress");
    let opened = reverted.and_then(|r| {
        actions[r..]
            .iter()
            .position(|a| a == "AuthorizeSecurityGroupIngress")
    });
    assert!(
        opened.is_some() && reverted.is_some(),
        "history should open then revert the rule: {actions:?}"
    );
    let current = desktop
        .find(r#"[data-testid="history-entry"][data-current="true"]"#)
        .await;
    assert_eq!(
        current.attr("data-action").await.unwrap().as_deref(),
        Some("AuthorizeSecurityGroupIngress")
    );
    desktop
        .scroll_to(r#"[data-testid="history-entry"][data-current="true"]"#)
        .await;
    desktop.screenshot("history-opened-then-reverted").await;

    // The integrity badge keeps up with what is stored while the demo records: it checks only
    // what was added, every few seconds.
    let digits = |text: &str| -> u64 {
        text.chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or(0)
    };
    let stored = digits(
        &desktop
            .text_when(r#"[data-testid="status-stored"]"#, |t| !t.is_empty())
            .await,
    );
    assert!(stored > 0);
    desktop
        .text_when(r#"[data-testid="integrity-text"]"#, |text| {
            // "Intact · 1,234 events", with " · N new to check" until the next check.
            let verified = text
                .strip_prefix("Intact · ")
                .and_then(|rest| rest.split(' ').next())
                .map_or(0, digits);
            verified >= stored && !text.contains("new to check")
        })
        .await;
    desktop.screenshot("integrity-keeps-up").await;
    desktop.close().await;
}
