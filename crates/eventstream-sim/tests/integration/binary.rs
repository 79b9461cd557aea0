//! The `eventstream-sim` binary: listening line, serving, clean exit on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crate::client::{self, Item};
use crate::{IDLE, KEY, fixture};

#[tokio::test]
async fn binary_prints_the_listening_line_with_port_zero_and_exits_on_sigterm() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_eventstream-sim"))
        .args(["--port", "0", "--key", KEY, "--replay"])
        .arg(fixture())
        .stdout(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("listening on ")
        .expect("listening line")
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .and_then(|rest| rest.strip_suffix("/v1/consume/stream"))
        .and_then(|port| port.parse().ok())
        .expect("http://127.0.0.1:PORT/v1/consume/stream");
    assert_ne!(port, 0);

    let mut response = client::stream(&url, KEY, None).await;
    assert_eq!(response.status, 200);
    let items = response.collect(IDLE).await;
    assert_eq!(client::frames(&items).len(), 11);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(child.wait().unwrap().success(), "exits cleanly on SIGTERM");
    assert!(!items.contains(&Item::End));
}

#[test]
fn binary_rejects_a_bad_fault_spec_with_a_clear_error() {
    let output = Command::new(env!("CARGO_BIN_EXE_eventstream-sim"))
        .args([
            "--port",
            "0",
            "--key",
            KEY,
            "--scenario",
            "load",
            "--faults",
            "dup=3",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("dup") && stderr.contains("between 0 and 1"),
        "{stderr}"
    );
}
