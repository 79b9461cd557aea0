//! Attacker-controlled event text is shown as text, never run: connect to a stream whose
//! events carry HTML and script in a user agent and a tag value.

use std::io::Write;

use eventstream_sim::{SimConfig, StreamSource};
use serde_json::{Value, json};

use crate::harness::Desktop;

const KEY: &str = "e2e-hostile-key-5150";
const USER_AGENT: &str = r#"<img src=x onerror="window.__pwned=1">"#;
const TAG_VALUE: &str = "<script>window.__pwned=2</script>";

fn hostile_event() -> String {
    json!({
        "specversion": "1.0", "id": "hostile-1", "source": "/cloudAccounts/E2E",
        "type": "com.opshelm.asset.update", "time": "2024-05-05T14:01:03.712Z",
        "subject": "ohn:aws:1:us-east-1:network-firewall:sg-hostile",
        "data": {
            "asset": {
                "name": "ohn:aws:1:us-east-1:network-firewall:sg-hostile", "provider": "aws",
                "account": "111111111111", "region": "us-east-1", "type": "network.firewall",
                "display_name": "hostile-sg", "tags": {"owner": TAG_VALUE}
            },
            "attribution": {
                "principal": "arn:aws:iam::111111111111:user/mallory", "source_ip": "203.0.113.9",
                "user_agent": USER_AGENT, "method": "console", "action": "AuthorizeSecurityGroupIngress"
            },
            "config": {"GroupId": "sg-hostile", "Description": TAG_VALUE},
            "previous_config": {"GroupId": "sg-hostile", "Description": "ok"}
        }
    })
    .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_event_text_shows_literally_and_never_runs() {
    let capture = tempfile::NamedTempFile::with_suffix(".ndjson").unwrap();
    writeln!(capture.as_file(), "{}", hostile_event()).unwrap();
    let sim = eventstream_sim::start(
        SimConfig::new(KEY, StreamSource::Replay(capture.path().to_owned())),
        0,
    )
    .await
    .unwrap();

    let mut desktop = Desktop::launch("hostile_input", &[]).await;
    desktop.connect_stream(&sim.url(), KEY).await;

    // No D-Bus session here: the app says the key stays in memory for this run.
    let note = desktop
        .text_when(r#"[data-testid="key-note"]"#, |t| !t.is_empty())
        .await;
    assert!(note.contains("memory"), "{note}");
    desktop
        .click(r#"[data-testid="change-row"][data-asset-label="hostile-sg"]"#)
        .await;

    let agent = desktop
        .text_when(r#"[data-testid="who-user-agent"]"#, |t| !t.is_empty())
        .await;
    assert_eq!(agent, USER_AGENT);
    let tags = desktop
        .text_when(r#"[data-testid="detail-tags"]"#, |t| !t.is_empty())
        .await;
    assert!(tags.contains(TAG_VALUE), "{tags}");
    desktop.screenshot("hostile-text-shown-literally").await;

    assert_eq!(
        desktop.script("return typeof window.__pwned").await,
        Value::from("undefined")
    );
    let injected = desktop
        .script(r#"return document.querySelectorAll('img[src="x"]').length + [...document.scripts].filter(s => s.text.includes('__pwned')).length"#)
        .await;
    assert_eq!(injected, Value::from(0), "event text became elements");
    let page = desktop
        .script("return document.documentElement.outerHTML")
        .await;
    assert!(
        !page.as_str().unwrap().contains(KEY),
        "the API key went back to the page"
    );

    desktop.close().await;
    sim.shutdown().await;
}
