//! How the app paints (issue 10, the app's memory): WebKit runs without accelerated
//! compositing unless the user set `WEBKIT_DISABLE_COMPOSITING_MODE`, and a still page in that
//! mode is photographed from the X server, with the seed incident on it.

use crate::harness::{Desktop, review_seed_incident};

const VARIABLE: &str = "WEBKIT_DISABLE_COMPOSITING_MODE";

/// WebKit's own account of its hardware acceleration policy (`never`, `always` or
/// `on-demand`), read from its `webkit://gpu` page in the app's web view. The app's page is
/// left for it: the last step of a desktop.
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
    let text = desktop.script("return document.body.innerText").await;
    let text = text.as_str().unwrap_or_default();
    let mut lines = text.lines().skip_while(|line| line.trim() != "Policy");
    lines.nth(1).map(str::trim).unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_page_paints_without_compositing_unless_the_user_chose_otherwise() {
    let (_dir, _session, mut desktop) = review_seed_incident("rendering", &[]).await;
    desktop
        .select_change("prod-db-sg", "AuthorizeSecurityGroupIngress")
        .await;
    // A still page is photographed (WebDriver's Take Screenshot waited for a paint that never
    // came in this mode), with what it shows: the whole screen, not a blank or black one.
    let shot = desktop.screenshot("still-page").await;
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("its size")];
    let frame = reader.next_frame(&mut pixels).expect("its pixels");
    assert_eq!((frame.width, frame.height), (1280, 800), "the whole screen");
    let colours: std::collections::HashSet<&[u8]> =
        pixels[..frame.buffer_size()].chunks_exact(3).collect();
    assert!(
        colours.len() > 50,
        "{} colours: the page is not on the screen",
        colours.len()
    );
    assert_eq!(acceleration_policy(&desktop).await, "never");
    desktop.close().await;

    // The user's own choice stands: `0` keeps WebKit's compositing.
    let desktop = Desktop::launch_with_env("rendering-user-choice", &[], &[(VARIABLE, "0")]).await;
    let policy = acceleration_policy(&desktop).await;
    assert!(
        !policy.is_empty() && policy != "never",
        "WebKit's policy with {VARIABLE}=0: {policy:?}"
    );
    desktop.close().await;
}
