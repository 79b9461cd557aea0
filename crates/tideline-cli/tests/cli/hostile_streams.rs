//! Hostile streams: bytes a real server (or a broken proxy) may send, served byte for byte by a
//! raw test peer (eventstream-sim re-frames what it sends, so it cannot send these), recorded by
//! the real binary; and hostile captures through `import`.

use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tideline_engine::store::Session;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use crate::record::stored_count;
use crate::*;

const HEAD: &[u8] =
    b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n\r\n";

/// A loopback peer that answers its own requests with 200 `text/event-stream`. The first
/// connection gets `first` (which writes the body); later ones an empty stream held open.
///
/// Its URL carries a token of its own, and a request without it gets 404 and is not counted:
/// other tests in this binary leave ports free meanwhile (a webhook down for 30 s, a port that
/// must refuse), which the kernel may hand to this peer's listener, and a stray request (a
/// forwarder's POST, another recorder) must not take `first` or block the accept loop while
/// `first` waits on its test.
struct RawPeer {
    url: String,
    connections: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl RawPeer {
    async fn start<F, Fut>(first: F) -> RawPeer
    where
        F: FnOnce(TcpStream) -> Fut + Send + 'static,
        Fut: Future<Output = std::io::Result<TcpStream>> + Send + 'static,
    {
        static PEERS: AtomicUsize = AtomicUsize::new(0);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let token = format!(
            "peer={}-{}",
            std::process::id(),
            PEERS.fetch_add(1, Ordering::SeqCst)
        );
        let url = format!(
            "http://127.0.0.1:{}/v1/consume/stream?{token}",
            listener.local_addr().unwrap().port()
        );
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = connections.clone();
        let task = tokio::spawn(async move {
            let mut first = Some(first);
            let mut held = Vec::new();
            while let Ok((mut stream, _)) = listener.accept().await {
                let Ok(request_line) = read_request(&mut stream).await else {
                    continue;
                };
                if !request_line.starts_with("GET ")
                    || !request_line.contains(&format!("?{token} "))
                {
                    let _ = stream
                        .write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                        .await;
                    continue;
                }
                counter.fetch_add(1, Ordering::SeqCst);
                if stream.write_all(HEAD).await.is_err() {
                    continue;
                }
                let _ = stream.set_nodelay(true);
                match first.take() {
                    Some(write_body) => {
                        if let Ok(stream) = write_body(stream).await {
                            held.push(stream);
                        }
                    }
                    None => held.push(stream),
                }
            }
        });
        RawPeer {
            url,
            connections,
            task,
        }
    }

    /// Serves `bytes` verbatim, cut at `cuts`, with a pause between the pieces.
    async fn serving(bytes: Vec<u8>, cuts: &[usize]) -> RawPeer {
        let mut bounds = vec![0];
        bounds.extend(cuts.iter().copied().filter(|&cut| cut < bytes.len()));
        bounds.push(bytes.len());
        RawPeer::start(move |mut stream| async move {
            for piece in bounds.windows(2) {
                stream.write_all(&bytes[piece[0]..piece[1]]).await?;
                stream.flush().await?;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok(stream)
        })
        .await
    }
}

impl Drop for RawPeer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads a request's head; returns its first line (`GET /path?query HTTP/1.1`).
async fn read_request(stream: &mut TcpStream) -> std::io::Result<String> {
    let mut request = Vec::new();
    let mut buf = [0; 1024];
    while !request.windows(4).any(|window| window == b"\r\n\r\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        request.extend_from_slice(&buf[..n]);
    }
    let head = String::from_utf8_lossy(&request);
    Ok(head.lines().next().unwrap_or_default().to_owned())
}

fn case(name: &str) -> Vec<u8> {
    std::fs::read(fixture(&format!("cases/{name}"))).unwrap()
}

fn stored_ids(session: &Path) -> Vec<String> {
    stored_keys(session).into_iter().map(|(_, id)| id).collect()
}

fn run_import(session: &Path, input: &Path) -> Output {
    let output = cli()
        .args(["import", "--session"])
        .arg(session)
        .arg("--input")
        .arg(input)
        .output()
        .unwrap();
    assert_success(&output);
    output
}

#[tokio::test(flavor = "multi_thread")]
async fn until_idle_stops_a_stream_of_comments_only_as_keep_alives_are_not_events() {
    let dir = TempDir::new().unwrap();
    // Comments only, as fast as the socket takes them: bytes keep coming, no event.
    let peer = RawPeer::start(|mut stream| async move {
        let flood = b": keep-alive\n".repeat(4_096);
        loop {
            stream.write_all(&flood).await?;
        }
    })
    .await;
    let session = dir.path().join("flood.tideline");
    let mut child = cli()
        .args(["record", "--endpoint", &peer.url, "--session"])
        .arg(&session)
        .args(["--until-idle", "1"])
        .env("TIDELINE_API_KEY", KEY)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A bound for the test, not a timing: the recording should end about 1 s in.
    let give_up = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > give_up {
            child.kill().unwrap();
            panic!("still recording 60 s into a stream that sent no event, with --until-idle 1");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let output = child.wait_with_output().unwrap();
    assert_success(&output);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("sent no event for 1 s"),
        "the stop names its cause: {stderr}"
    );
    assert_eq!(stored_count(&session), 0);
    assert_eq!(info_json(&session)["quarantined"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retry_that_is_not_digits_is_ignored_and_both_events_are_stored() {
    let dir = TempDir::new().unwrap();
    let peer = RawPeer::serving(case("05-retry-bad.sse"), &[3, 11, 12, 40, 700]).await;
    let session = dir.path().join("retry.tideline");
    let output = record(&peer.url, &session, "1", &[]).await;
    assert_success(&output);
    assert_eq!(
        stored_ids(&session),
        ["01HXTEST000000000000000001", "01HXTEST000000000000000002"]
    );
    assert_eq!(info_json(&session)["quarantined"], 0);
    assert_eq!(peer.connections.load(Ordering::SeqCst), 1, "one connection");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_frame_that_is_not_utf8_is_quarantined_with_its_bytes_and_the_stream_goes_on() {
    let dir = TempDir::new().unwrap();
    let bytes = case("07b-invalid-utf8.sse");
    let bad = bytes.windows(2).position(|w| w == b"\xFF\xFE").unwrap();
    // Cut inside the bad sequence too: decoding is per frame, not per chunk.
    let peer = RawPeer::serving(bytes, &[bad + 1, bad + 40]).await;
    let session = dir.path().join("utf8.tideline");
    let output = record(&peer.url, &session, "1", &[]).await;
    assert_success(&output);

    assert_eq!(stored_ids(&session), ["01HXTEST000000000000000003"]);
    let quarantined = Session::open(&session).unwrap().quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    let frame = &quarantined[0];
    assert!(frame.reason.contains("not valid UTF-8"), "{}", frame.reason);
    assert!(frame.raw.starts_with(b"id: g2\nevent: data\ndata: {"));
    assert!(frame.raw.windows(2).any(|w| w == b"\xFF\xFE"));
    assert_eq!(frame.raw_len as usize, frame.raw.len());
    assert_eq!(frame.sse_id.as_deref(), Some("g2"));
    assert_eq!(
        peer.connections.load(Ordering::SeqCst),
        1,
        "no reconnect loop"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn record_exits_non_zero_naming_the_cause_when_it_never_connected() {
    let dir = TempDir::new().unwrap();
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let session = dir.path().join("refused.tideline");
    let url = format!("http://127.0.0.1:{port}/v1/consume/stream");
    let output = record(&url, &session, "1", &[]).await;
    assert!(!output.status.success(), "exit status {}", output.status);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("never connected"), "{stderr}");
    assert!(stderr.contains("refused"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_starting_with_a_bom_imports_all_its_events() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("bom.tideline");
    run_import(&session, &fixture("cases/01-bom-start.sse"));
    assert_eq!(
        stored_ids(&session),
        ["01HXTEST000000000000000001", "01HXTEST000000000000000002"]
    );
    assert_eq!(info_json(&session)["quarantined"], 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_capture_ending_inside_a_frame_quarantines_it_as_incomplete_and_keeps_the_rest() {
    let dir = TempDir::new().unwrap();
    let session = dir.path().join("cut.tideline");
    run_import(&session, &fixture("cases/03-no-final-blank-line.sse"));
    assert_eq!(stored_ids(&session), ["01HXTEST000000000000000001"]);
    let quarantined = Session::open(&session).unwrap().quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert!(
        quarantined[0].reason.contains("incomplete trailing frame"),
        "{}",
        quarantined[0].reason
    );
    assert!(quarantined[0].raw.starts_with(b"id: c2\n"));
}

async fn wait_for_stored(session: &Path, count: usize) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while stored_count(session) < count {
        assert!(
            Instant::now() < deadline,
            "only {} stored",
            stored_count(session)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The kernel's view of a process's memory, in KiB.
fn proc_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_200_mb_data_line_costs_the_recorder_under_64_mb_and_the_next_event_is_stored() {
    const LINE: usize = 200 * 1024 * 1024;
    let dir = TempDir::new().unwrap();
    let go = Arc::new(Notify::new());
    let start = go.clone();
    let before = format!(
        "id: before\nevent: data\ndata: {}\n\n",
        event("before", "arn:aws:iam::1:user/a", "aws-cli/2", 10)
    );
    let after = format!(
        "\n\nid: after\nevent: data\ndata: {}\n\n",
        event("after", "arn:aws:iam::1:user/a", "aws-cli/2", 10)
    );
    let peer = RawPeer::start(move |mut stream| async move {
        stream.write_all(before.as_bytes()).await?;
        start.notified().await;
        stream
            .write_all(b"id: huge\nevent: data\ndata: {\"pad\":\"")
            .await?;
        let block = vec![b'x'; 64 * 1024];
        for _ in 0..LINE / block.len() {
            stream.write_all(&block).await?;
        }
        stream.write_all(after.as_bytes()).await?;
        Ok(stream)
    })
    .await;

    let session = dir.path().join("huge.tideline");
    let mut child = cli()
        .args(["record", "--endpoint", &peer.url, "--session"])
        .arg(&session)
        .args(["--until-idle", "600", "--idle-timeout", "600"])
        .env("TIDELINE_API_KEY", KEY)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for_stored(&session, 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let idle_kib = proc_kib(pid, "VmRSS:");
    go.notify_one();
    wait_for_stored(&session, 2).await;
    let peak_kib = proc_kib(pid, "VmHWM:");
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    let status = child.wait().unwrap();
    eprintln!("recorder RSS: idle {idle_kib} KiB, peak {peak_kib} KiB");
    assert!(status.success(), "{status}");
    assert!(
        peak_kib.saturating_sub(idle_kib) < 64 * 1024,
        "peak {peak_kib} KiB vs idle {idle_kib} KiB"
    );

    assert_eq!(stored_ids(&session), ["before", "after"]);
    let quarantined = Session::open(&session).unwrap().quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    let frame = &quarantined[0];
    assert!(
        frame.reason.contains("over the 1048576-byte limit"),
        "{}",
        frame.reason
    );
    assert!(frame.raw_len as usize > LINE, "{}", frame.raw_len);
    assert_eq!(frame.raw.len(), 64 * 1024);
    assert_eq!(frame.sse_id.as_deref(), Some("huge"));
}
