//! How the app paints (issue 10, the app's memory): WebKit runs without accelerated
//! compositing unless the user set `WEBKIT_DISABLE_COMPOSITING_MODE`, and a still page in that
//! mode is photographed from the X server, with the seed incident on it.

use crate::harness::{
    Desktop, WEBKIT_DISABLE_COMPOSITING_MODE as VARIABLE, app_processes, review_seed_incident,
    screen,
};

/// WebKit's own account of its hardware acceleration policy (`never`, `always` or
/// `on demand`), read from the "Policy" row of its `webkit://gpu` page in the app's web view.
/// The app's page is left for it: the last step of a desktop.
async fn acceleration_policy(desktop: &Desktop) -> String {
    desktop
        .client
        .goto("webkit://gpu")
        .await
        .expect("webkit://gpu opens");
    desktop
        .text_when("body", |text| {
            text.contains("Hardware Acceleration Information")
        })
        .await;
    let policy = desktop
        .script(
            r#"const row = [...document.querySelectorAll('tr')]
                 .find((r) => r.cells[0]?.textContent.trim() === 'Policy');
               return row?.cells[1]?.textContent.trim() ?? '';"#,
        )
        .await;
    policy.as_str().unwrap_or_default().to_owned()
}

/// The `WEBKIT_DISABLE_COMPOSITING_MODE=…` entry of this test's WebKit web process's
/// environment (`/proc/PID/environ`), if it has one.
fn web_process_variable() -> Option<String> {
    let web = app_processes()
        .into_iter()
        .find(|process| process.role == "web")
        .expect("a web process");
    let environ = std::fs::read(format!("/proc/{}/environ", web.pid)).expect("its environment");
    environ
        .split(|byte| *byte == 0)
        .map(|entry| String::from_utf8_lossy(entry).into_owned())
        .find(|entry| entry.starts_with(&format!("{VARIABLE}=")))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_paints_without_compositing_unless_the_user_chose_otherwise() {
    let (_dir, _session, mut desktop) = review_seed_incident("rendering", &[]).await;
    desktop.find(r#"[data-testid="change-row"]"#).await;
    // A still page is photographed (WebDriver's Take Screenshot waited for a paint that never
    // came in this mode), with what it shows: the whole screen, not a blank or black one.
    let shot = desktop.screenshot("still-page").await;
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("its size")];
    let frame = reader.next_frame(&mut pixels).expect("its pixels");
    assert_eq!((frame.width, frame.height), screen(), "the whole screen");
    // The page's part, below the window's GTK menu bar (the top 40 rows): an empty window, as
    // the X server showed with compositing on, is one or two colours there.
    let below_menu = &pixels[frame.line_size * 40..frame.buffer_size()];
    let colours: std::collections::HashSet<&[u8]> = below_menu.chunks_exact(3).collect();
    assert!(
        colours.len() > 50,
        "{} colours: the page is not on the screen",
        colours.len()
    );
    assert_eq!(
        web_process_variable().as_deref(),
        Some(format!("{VARIABLE}=1").as_str()),
        "the web process inherits the app's choice"
    );
    assert_eq!(acceleration_policy(&desktop).await, "never");
    desktop.close().await;

    // The user's own choice stands: `0` keeps WebKit's compositing (where WebKit can use GL at
    // all: Mesa's software renderer here).
    let desktop = Desktop::launch_with_env("rendering-user-choice", &[], &[(VARIABLE, "0")]).await;
    assert_eq!(
        web_process_variable().as_deref(),
        Some(format!("{VARIABLE}=0").as_str())
    );
    let policy = acceleration_policy(&desktop).await;
    assert!(
        !policy.is_empty() && policy != "never",
        "WebKit's policy with {VARIABLE}=0: {policy:?}"
    );
    desktop.close().await;
}
