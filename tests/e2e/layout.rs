//! The analyst's layout (issue 12 point 6): at 1024×700 the side panels collapse and the list
//! shows every principal whole; at 2560×1440 the list and the detail share the width; at
//! 1280×800 at least five findings show, most severe first; the list's columns are resized,
//! hidden (from the keyboard and from the header's context menu), remembered after a restart
//! and reset.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::{Desktop, record_seed_scenario};

/// The principal cells drawn now: how many, their names, and those cut short (text wider than
/// the cell).
const PRINCIPALS: &str = r#"
  const cells = [...document.querySelectorAll('[data-testid="row-principal"]')];
  return {
    count: cells.length,
    names: cells.map((c) => c.textContent),
    cut: cells.filter((c) => c.scrollWidth > c.clientWidth)
      .map((c) => `${c.textContent} (${c.scrollWidth} > ${c.clientWidth})`),
  };"#;

/// Scrolls the change list from top to bottom a screen at a time and checks, at each stop,
/// that no principal is cut short; returns every principal seen.
async fn every_principal_whole(desktop: &Desktop) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    desktop
        .script(r#"document.querySelector('[data-testid="change-list"]').scrollTop = 0"#)
        .await;
    loop {
        // Rows of a new page arrive, then the columns fit their text: on a loaded machine
        // that may take more than the first wait, so the check is repeated up to a deadline.
        tokio::time::sleep(Duration::from_millis(700)).await;
        let deadline = Instant::now() + Duration::from_secs(10);
        let drawn = loop {
            let drawn = desktop.script(PRINCIPALS).await;
            let fitted =
                drawn["count"].as_u64().unwrap_or(0) > 0 && drawn["cut"] == Value::Array(vec![]);
            if fitted || Instant::now() >= deadline {
                break drawn;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        assert!(drawn["count"].as_u64().unwrap_or(0) > 0, "no rows: {drawn}");
        assert_eq!(
            drawn["cut"],
            Value::Array(vec![]),
            "principals cut short 10 s after the page was drawn: {drawn}"
        );
        for name in drawn["names"].as_array().unwrap() {
            seen.insert(name.as_str().unwrap_or_default().to_owned());
        }
        let at_end = desktop
            .script(
                r#"const v = document.querySelector('[data-testid="change-list"]');
                   const end = v.scrollTop + v.clientHeight >= v.scrollHeight - 2;
                   v.scrollTop += v.clientHeight;
                   return end;"#,
            )
            .await;
        if at_end == Value::Bool(true) {
            break;
        }
    }
    desktop
        .script(r#"document.querySelector('[data-testid="change-list"]').scrollTop = 0"#)
        .await;
    seen
}

/// The widths (px) of the sidebar, the list and the detail as drawn (0: not drawn).
const PANEL_WIDTHS: &str = r#"
  const width = (css) => {
    const el = document.querySelector(css);
    return el && getComputedStyle(el).display !== 'none' ? el.getBoundingClientRect().width : 0;
  };
  const panels = document.querySelector('[data-testid="panels"]');
  return {
    panels: panels?.clientWidth,
    columns: panels ? getComputedStyle(panels).gridTemplateColumns : null,
    window: window.innerWidth,
    sidebar: width('[data-testid="sidebar"]'),
    list: width('[data-testid="change-list"]'),
    detail: width('[data-testid="detail-panel"]'),
  };"#;

async fn seed_session(dir: &tempfile::TempDir) -> String {
    let session = dir.path().join("seed-incident.tideline");
    record_seed_scenario(&session).await;
    session.to_str().unwrap().to_owned()
}

async fn wait_for_rows(desktop: &Desktop) {
    desktop
        .find(r#"[data-testid="integrity-badge"][data-intact="true"]"#)
        .await;
    desktop
        .find(r#"[data-testid="change-row"]:nth-of-type(5)"#)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_1024x700_the_side_panels_collapse_and_every_principal_shows_whole() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = seed_session(&dir).await;
    let mut desktop =
        Desktop::launch_at("layout_1024x700", &["--open", &session], (1024, 700)).await;
    wait_for_rows(&desktop).await;

    // Both side panels are collapsed to their rails; the list has the window.
    desktop.find(r#"[data-testid="sidebar-expand"]"#).await;
    desktop.find(r#"[data-testid="detail-expand"]"#).await;
    let widths = desktop.script(PANEL_WIDTHS).await;
    assert_eq!(widths["sidebar"], 0.0, "{widths}");
    assert_eq!(widths["detail"], 0.0, "{widths}");
    assert!(widths["list"].as_f64().unwrap() > 900.0, "{widths}");
    let principals = every_principal_whole(&desktop).await;
    assert!(
        principals.contains("ops-engineer/asmith@example.com"),
        "the longest principal of the scenario was never drawn: {principals:?}"
    );
    desktop.screenshot("list-side-panels-collapsed").await;

    // A change selected: the detail opens beside the list, the left panel stays on its rail.
    desktop.click(r#"[data-testid="change-row"]"#).await;
    desktop
        .find(r#"[data-testid="detail-panel"] [data-testid="detail-asset-label"]"#)
        .await;
    let widths = desktop.script(PANEL_WIDTHS).await;
    assert_eq!(widths["sidebar"], 0.0, "{widths}");
    assert!(widths["list"].as_f64().unwrap() >= 420.0, "{widths}");
    desktop.screenshot("detail-open").await;

    // The rail opens the findings and filters in the detail's place.
    desktop.click(r#"[data-testid="sidebar-expand"]"#).await;
    desktop.find(r#"[data-testid="findings-panel"]"#).await;
    let widths = desktop.script(PANEL_WIDTHS).await;
    assert!(widths["sidebar"].as_f64().unwrap() > 0.0, "{widths}");
    assert_eq!(widths["detail"], 0.0, "{widths}");
    assert!(widths["list"].as_f64().unwrap() >= 420.0, "{widths}");
    desktop.screenshot("sidebar-open").await;
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn at_2560x1440_the_list_and_the_detail_share_the_width_and_every_principal_shows_whole() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = seed_session(&dir).await;
    let mut desktop =
        Desktop::launch_at("layout_2560x1440", &["--open", &session], (2560, 1440)).await;
    wait_for_rows(&desktop).await;
    desktop.click(r#"[data-testid="change-row"]"#).await;
    desktop
        .find(r#"[data-testid="detail-panel"] [data-testid="detail-asset-label"]"#)
        .await;

    // The window grew after the page loaded: the panels follow at the next frame.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let widths = desktop.script(PANEL_WIDTHS).await;
        let (list, detail) = (
            widths["list"].as_f64().unwrap(),
            widths["detail"].as_f64().unwrap(),
        );
        let share = detail / (list + detail);
        if widths["sidebar"].as_f64().unwrap() > 0.0 && (0.35..=0.6).contains(&share) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the detail has {share:.2} of the width beside the left panel: {widths}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let principals = every_principal_whole(&desktop).await;
    assert!(
        principals.contains("ops-engineer/asmith@example.com"),
        "{principals:?}"
    );
    desktop.screenshot("list-and-detail-share-the-width").await;
    desktop.close().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn columns_resize_hide_and_reset_and_are_remembered_after_a_restart() {
    let dir = tempfile::TempDir::new().unwrap();
    let session = seed_session(&dir).await;
    let mut desktop = Desktop::launch("layout_columns", &["--open", &session]).await;
    wait_for_rows(&desktop).await;

    // At 1280×800 five findings or more show without a scroll, most severe first.
    desktop
        .find(r#"[data-testid="findings-panel"] [data-testid="finding"]"#)
        .await;
    let findings = desktop
        .script(
            r#"const box = document.querySelector('[data-testid="findings-scroll"]').getBoundingClientRect();
               const items = [...document.querySelectorAll('[data-testid="findings-panel"] [data-testid="finding"]')];
               return {
                 whole: items.filter((f) => {
                   const r = f.getBoundingClientRect();
                   return r.top >= box.top - 0.5 && r.bottom <= box.bottom + 0.5;
                 }).length,
                 severities: items.map((f) => f.dataset.severity),
               };"#,
        )
        .await;
    desktop.screenshot("findings-and-columns").await;
    assert!(
        findings["whole"].as_u64().unwrap() >= 5,
        "fewer than 5 findings show whole: {findings}"
    );
    let rank = |s: &Value| match s.as_str() {
        Some("high") => 3,
        Some("medium") => 2,
        _ => 1,
    };
    let ranks: Vec<u8> = findings["severities"]
        .as_array()
        .unwrap()
        .iter()
        .map(rank)
        .collect();
    assert!(
        ranks.windows(2).all(|pair| pair[0] >= pair[1]) && ranks.first() > ranks.last(),
        "findings are not most severe first: {findings}"
    );

    let head_width = |col: &str| {
        format!(
            r#"return document.querySelector('[data-testid="column-head"][data-col="{col}"]')?.getBoundingClientRect().width ?? null"#
        )
    };
    // Drag the asset column's edge 60 px to the right.
    let before = desktop.script(&head_width("asset")).await.as_f64().unwrap();
    desktop
        .drag_by(r#"[data-testid="column-resizer"][data-col="asset"]"#, 60.0)
        .await;
    let after = desktop.script(&head_width("asset")).await.as_f64().unwrap();
    assert!(
        (after - before - 60.0).abs() <= 3.0,
        "asset column {before} → {after}"
    );

    // Hide the time column from the keyboard: focus Columns, Enter, ↓ to it, Space.
    desktop
        .script(r#"document.querySelector('[data-testid="columns-button"]').focus()"#)
        .await;
    desktop.press(char::from(fantoccini::key::Key::Enter)).await;
    desktop.find(r#"[data-testid="columns-menu"]"#).await;
    for _ in 0..20 {
        let on = desktop
            .script("return document.activeElement?.dataset.col ?? null")
            .await;
        if on == Value::String("time".into()) {
            break;
        }
        desktop.press(char::from(fantoccini::key::Key::Down)).await;
    }
    desktop.press(' ').await;
    wait_gone(&desktop, r#"[data-testid="column-head"][data-col="time"]"#).await;
    desktop
        .press(char::from(fantoccini::key::Key::Escape))
        .await;
    wait_gone(&desktop, r#"[data-testid="columns-menu"]"#).await;
    // And the change column from the header's context menu.
    desktop
        .right_click(r#"[data-testid="column-head"][data-col="change"]"#)
        .await;
    desktop
        .click(r#"[data-testid="columns-menu"] [data-testid="column-toggle"][data-col="change"]"#)
        .await;
    wait_gone(
        &desktop,
        r#"[data-testid="column-head"][data-col="change"]"#,
    )
    .await;
    desktop.screenshot("columns-arranged").await;

    // After a restart the columns are as the analyst left them.
    let mut desktop = desktop.restart().await;
    wait_for_rows(&desktop).await;
    desktop
        .find(r#"[data-testid="column-head"][data-col="asset"]"#)
        .await;
    tokio::time::sleep(Duration::from_millis(700)).await;
    let kept = desktop.script(&head_width("asset")).await.as_f64().unwrap();
    assert!((kept - after).abs() <= 3.0, "asset column {after} → {kept}");
    for hidden in ["time", "change"] {
        assert!(
            desktop
                .find_all(&format!(
                    r#"[data-testid="column-head"][data-col="{hidden}"]"#
                ))
                .await
                .is_empty(),
            "{hidden} came back after the restart"
        );
    }
    desktop.screenshot("columns-after-restart").await;

    // Reset columns: every column back, the asset as wide as its text.
    desktop.click(r#"[data-testid="columns-button"]"#).await;
    desktop.click(r#"[data-testid="columns-reset"]"#).await;
    desktop
        .find(r#"[data-testid="column-head"][data-col="time"]"#)
        .await;
    desktop
        .find(r#"[data-testid="column-head"][data-col="change"]"#)
        .await;
    let reset = desktop.script(&head_width("asset")).await.as_f64().unwrap();
    assert!(
        (reset - before).abs() <= 3.0,
        "asset column reset to {reset}, was {before}"
    );
    desktop.screenshot("columns-reset").await;
    desktop.close().await;
}

async fn wait_gone(desktop: &Desktop, css: &str) {
    let deadline = Instant::now() + crate::harness::STEP_TIMEOUT;
    while !desktop.find_all(css).await.is_empty() {
        assert!(Instant::now() < deadline, "{css} is still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
