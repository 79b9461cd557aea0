//! Following live respects the reader (issue 12 point 5): selecting a row while the demo
//! streams pauses following, the row stays exactly where it was while new events arrive and
//! are counted ("N new — resume"), and resuming brings them in at the top.

use crate::harness::Desktop;

/// The on-screen top (px) of the row with arrival number `seq`, or `null`.
fn top_of(seq: &str) -> String {
    format!(
        r#"const row = document.querySelector('[data-testid="change-row"][data-seq="{seq}"]');
           return row ? row.getBoundingClientRect().top : null"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_selected_row_stays_put_while_new_events_arrive_until_resume() {
    let mut desktop = Desktop::launch("live_tail", &[]).await;
    desktop.click(r#"[data-testid="start-demo"]"#).await;
    desktop
        .find(r#"[data-testid="change-row"]:nth-of-type(4)"#)
        .await;
    let rows = desktop
        .script(r#"return [...document.querySelectorAll('[data-testid="change-row"]')].map((r) => r.dataset.seq)"#)
        .await;
    let seq = rows[2].as_str().expect("a third row").to_owned();
    desktop
        .click(&format!(r#"[data-testid="change-row"][data-seq="{seq}"]"#))
        .await;
    let paused = desktop
        .script(r#"return document.querySelector('[data-testid="follow-live"]')?.getAttribute('aria-pressed') ?? null"#)
        .await;
    assert_eq!(
        paused,
        serde_json::json!("false"),
        "selecting pauses following"
    );
    let top = desktop.script(&top_of(&seq)).await;
    assert!(top.is_number(), "{top}");
    // The top row once paused (rows that came in before the click may have moved it).
    let first = desktop
        .script(
            r#"return document.querySelector('[data-testid="change-row"]')?.dataset.seq ?? null"#,
        )
        .await;
    let first = first.as_str().expect("a top row").to_owned();

    // New events arrive and are counted; nothing moves under the reader.
    let waiting = desktop
        .text_when(r#"[data-testid="new-rows"]"#, |text| {
            text.contains("new — resume")
        })
        .await;
    assert!(waiting.starts_with('↑'), "{waiting}");
    assert_eq!(
        desktop.script(&top_of(&seq)).await,
        top,
        "the selected row moved"
    );
    let still_first = desktop
        .script(
            r#"return document.querySelector('[data-testid="change-row"]')?.dataset.seq ?? null"#,
        )
        .await;
    assert_eq!(still_first, serde_json::json!(first));
    desktop.screenshot("paused-with-new-rows").await;

    // Resume: following again, the newer rows on top, the selection still on its change.
    desktop.click(r#"[data-testid="new-rows"]"#).await;
    let resumed = desktop
        .script(r#"return document.querySelector('[data-testid="follow-live"]')?.getAttribute('aria-pressed') ?? null"#)
        .await;
    assert_eq!(resumed, serde_json::json!("true"));
    // The list reads the newer rows again; they come in at the top.
    let deadline = std::time::Instant::now() + crate::harness::STEP_TIMEOUT;
    loop {
        let newest = desktop
            .script(r#"return document.querySelector('[data-testid="change-row"]')?.dataset.seq ?? null"#)
            .await;
        if newest != serde_json::json!(first) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "resuming never showed the new rows"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    desktop
        .find(&format!(
            r#"[data-testid="change-row"][data-seq="{seq}"][aria-selected="true"]"#
        ))
        .await;
    desktop.screenshot("resumed").await;
    desktop.close().await;
}
