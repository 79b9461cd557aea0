//! The weekday × hour heatmap follows the time zone the analyst chose: in local time (here a
//! UTC+05:30 machine) its cells and its label are local. (A cell's filter in local time is
//! held equal to the cell's count by the store's test under the same zone.)

use crate::harness::{Desktop, review_seed_incident};

#[tokio::test(flavor = "multi_thread")]
async fn the_heatmap_follows_the_local_time_zone_its_cells_and_label() {
    // India: UTC+05:30 all year (the page's ICU and the engine's libc both read the tz database,
    // Debian's tzdata, for it).
    let (_dir, _session, mut desktop) =
        review_seed_incident("local_time", &[("TZ", "Asia/Kolkata")]).await;
    desktop.click(r#"[data-testid="insights-toggle"]"#).await;
    let utc = heatmap_label(&desktop).await;
    assert!(utc.starts_with("Busiest hour by weekday (UTC)"), "{utc}");

    // The zone is switched on the change list's time column, then the charts drawn again.
    desktop.click(r#"[data-testid="insights-toggle"]"#).await;
    desktop.click(r#"[data-testid="zone-toggle"]"#).await;
    desktop
        .find(r#"[data-testid="zone-toggle"][data-zone="local"]"#)
        .await;
    desktop.click(r#"[data-testid="insights-toggle"]"#).await;
    let mut local = heatmap_label(&desktop).await;
    for _ in 0..50 {
        if local.starts_with("Busiest hour by weekday (UTC+05:30)") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        local = heatmap_label(&desktop).await;
    }
    assert!(
        local.starts_with("Busiest hour by weekday (UTC+05:30)"),
        "{local}"
    );
    // The same changes, counted by other hours: the busiest cells are not the UTC ones.
    let busiest = |text: &str| {
        text.split("Busiest: ")
            .nth(1)
            .unwrap_or_default()
            .to_owned()
    };
    assert_ne!(busiest(&utc), busiest(&local));
    desktop.screenshot("heatmap-local").await;
    desktop.close().await;
}

/// The heatmap's text alternative: its zone and busiest cells.
async fn heatmap_label(desktop: &Desktop) -> String {
    desktop
        .find(r#"[data-testid="chart-heatmap"]"#)
        .await
        .attr("aria-label")
        .await
        .unwrap()
        .unwrap_or_default()
}
