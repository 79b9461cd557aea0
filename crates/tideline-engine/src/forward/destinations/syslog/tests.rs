//! syslog's tests: the exact frame bytes, and a real rsyslogd on loopback (TCP with octet
//! counting, UDP) writing what it parsed with RFC 5424's own output template.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::super::testkit::{SAMPLE_TIME_US, event_item, facts, finding_json, within};
use super::super::{DestinationConfig, MapSecrets, connect};
use super::*;

fn origin() -> Origin {
    Origin {
        hostname: "ir-laptop".into(),
        app_name: "tideline".into(),
        procid: "4242".into(),
    }
}

#[test]
fn a_change_is_one_rfc5424_message_in_one_octet_counted_frame() {
    let facts = facts();
    let item = event_item("ev-1", "{}", &facts);
    let message = message(&item, &origin());
    let expected = "<133>1 2024-05-05T10:00:00.123456Z ir-laptop tideline 4242 change \
        [tideline@32473 change=\"update\" asset=\"prod-logs\" asset_type=\"s3_bucket\" \
        principal=\"arn:aws:iam::123456789012:user/alice\" method=\"PutBucketPolicy\" \
        source_ip=\"203.0.113.7\" event_id=\"ev-1\" provider=\"aws\" \
        account=\"123456789012\" region=\"eu-west-1\"] \u{feff}policy.Statement[0].Principal: \
        \"arn:…\" → \"*\"";
    assert_eq!(String::from_utf8(message.clone()).unwrap(), expected);
    let frame = octet_counted(&message);
    assert_eq!(
        frame,
        [
            format!("{} ", expected.len()).as_bytes(),
            expected.as_bytes()
        ]
        .concat()
    );
}

#[test]
fn severities_and_msgids_follow_the_item() {
    let mut facts = facts();
    facts.change = Some("delete".into());
    let pri = |item: &Item<'_>| {
        let text = String::from_utf8(message(item, &origin())).unwrap();
        let fields: Vec<String> = text.split(' ').map(str::to_owned).collect();
        (fields[0].clone(), fields[5].clone())
    };
    assert_eq!(
        pri(&event_item("e", "{}", &facts)),
        ("<132>1".into(), "change".into())
    );
    facts.change = None;
    assert_eq!(
        pri(&event_item("e", "{}", &facts)),
        ("<133>1".into(), "activity".into())
    );
    let json = finding_json();
    for (severity, expected) in [
        ("critical", "<130>1"),
        ("high", "<131>1"),
        ("medium", "<132>1"),
        ("low", "<133>1"),
    ] {
        facts.severity = Some(severity.into());
        let item = Item::Finding {
            key: "k",
            time_us: 0,
            json: &json,
            facts: &facts,
        };
        assert_eq!(pri(&item), (expected.into(), "finding".into()));
    }
}

#[test]
fn hostile_values_cannot_close_the_element_or_the_line() {
    assert_eq!(
        param_value("evil\"] x=\"y\nnext"),
        "evil\\\"\\] x=\\\"y next"
    );
    assert_eq!(param_value("a\\b"), "a\\\\b");
    let mut facts = facts();
    facts.summary = "line one\r\nline two".into();
    let text = String::from_utf8(message(&event_item("e", "{}", &facts), &origin())).unwrap();
    assert!(!text.contains('\n') && !text.contains('\r'));
    assert!(text.ends_with("\u{feff}line one  line two"));
}

#[test]
fn a_huge_summary_is_cut_to_fit_at_a_character_boundary() {
    let mut facts = facts();
    facts.summary = "é".repeat(10_000);
    facts.principal = Some("p".repeat(10_000));
    let message = message(&event_item("e", "{}", &facts), &origin());
    assert!(message.len() <= MAX_MESSAGE_BYTES && message.len() > MAX_MESSAGE_BYTES - 2);
    let text = String::from_utf8(message).expect("cut at a character boundary");
    assert!(text.contains(&format!("principal=\"{}\"", "p".repeat(MAX_VALUE_BYTES))));
}

#[tokio::test]
async fn an_address_that_does_not_resolve_is_refused_at_connect() {
    let config = DestinationConfig::Syslog {
        transport: SyslogTransport::Tcp,
        address: "no-such-host.invalid:514".into(),
        app_name: None,
    };
    let error = connect(&config, &MapSecrets::default()).await.unwrap_err();
    assert!(
        error.to_string().contains("no-such-host.invalid:514"),
        "{error}"
    );
}

#[tokio::test]
async fn a_collector_that_is_not_listening_is_retried() {
    let port = super::super::testkit::closed_port();
    let config = DestinationConfig::Syslog {
        transport: SyslogTransport::Tcp,
        address: format!("127.0.0.1:{port}"),
        app_name: None,
    };
    let mut syslog = connect(&config, &MapSecrets::default()).await.unwrap();
    let facts = facts();
    assert!(matches!(
        within(syslog.deliver(&[event_item("e", "{}", &facts)])).await,
        Delivery::Retry { .. }
    ));
}

/// rsyslogd in the foreground with only our inputs and one file action; killed on drop.
struct Rsyslog {
    child: Child,
    output: PathBuf,
    tcp_port: u16,
    udp_port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn rsyslogd() -> Option<PathBuf> {
    let candidates = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .chain([PathBuf::from("/usr/sbin"), PathBuf::from("/sbin")]);
    candidates
        .map(|dir| dir.join("rsyslogd"))
        .find(|path| path.is_file())
}

fn free_port(udp: bool) -> u16 {
    if udp {
        std::net::UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    } else {
        super::super::testkit::closed_port()
    }
}

fn start_rsyslog(binary: &Path) -> Rsyslog {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("out.log");
    let (tcp_port, udp_port) = (free_port(false), free_port(true));
    let config = format!(
        r#"global(workDirectory="{dir}")
module(load="imtcp")
module(load="imudp")
input(type="imtcp" address="127.0.0.1" port="{tcp_port}")
input(type="imudp" address="127.0.0.1" port="{udp_port}")
if $app-name == "tideline-test" then {{
  action(type="omfile" file="{output}" template="RSYSLOG_SyslogProtocol23Format")
}}
"#,
        dir = dir.path().display(),
        output = output.display(),
    );
    let config_path = dir.path().join("rsyslog.conf");
    std::fs::write(&config_path, config).unwrap();
    let child = Command::new(binary)
        .arg("-n")
        .arg("-f")
        .arg(&config_path)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("rsyslogd.err")).unwrap())
        .spawn()
        .expect("rsyslogd starts");
    Rsyslog {
        child,
        output,
        tcp_port,
        udp_port,
        _dir: dir,
    }
}

/// Polls until `check` holds or the test's wait runs out.
async fn eventually<T>(what: &str, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `(header fields, structured data, msg)` of one line of RSYSLOG_SyslogProtocol23Format.
fn split_line(line: &str) -> (Vec<&str>, &str, &str) {
    let mut rest = line;
    let mut header = Vec::new();
    for _ in 0..6 {
        let (field, after) = rest.split_once(' ').unwrap();
        header.push(field);
        rest = after;
    }
    // Structured data runs to the first `]` not escaped and not followed by `[`.
    let bytes = rest.as_bytes();
    let mut end = 0;
    if rest.starts_with('-') {
        end = 1;
    } else {
        let mut escaped = false;
        for (index, &byte) in bytes.iter().enumerate() {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b']' if bytes.get(index + 1) != Some(&b'[') => {
                    end = index + 1;
                    break;
                }
                _ => {}
            }
        }
    }
    let (sd, msg) = rest.split_at(end);
    (header, sd, msg.strip_prefix(' ').unwrap_or(msg))
}

/// The PARAM-VALUE of `name` in an SD-ELEMENT, unescaped.
fn sd_param(sd: &str, name: &str) -> Option<String> {
    let start = sd.find(&format!(" {name}=\""))? + name.len() + 3;
    let mut value = String::new();
    let mut chars = sd[start..].chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => value.push(chars.next()?),
            '"' => return Some(value),
            c => value.push(c),
        }
    }
    None
}

#[tokio::test]
async fn rsyslog_parses_what_we_send_over_tcp_and_udp() {
    let Some(binary) = rsyslogd() else {
        println!("skipped: rsyslogd is not installed (apt-get install rsyslog)");
        return;
    };
    let rsyslog = start_rsyslog(&binary);
    let tcp_address = format!("127.0.0.1:{}", rsyslog.tcp_port);
    eventually("rsyslogd to listen", || {
        std::net::TcpStream::connect(&tcp_address).ok()
    })
    .await;

    let mut hostile = facts();
    hostile.principal = Some("evil\"] x=\"y\nnext".into());
    hostile.summary = "acl: private → public-read\nFAKE: line".into();
    let mut deleted = facts();
    deleted.change = Some("delete".into());
    let mut finding = facts();
    finding.rule = Some("public-bucket".into());
    finding.severity = Some("high".into());
    finding.summary = "prod-logs made public".into();
    let json = finding_json();

    let tcp = DestinationConfig::Syslog {
        transport: SyslogTransport::Tcp,
        address: tcp_address.clone(),
        app_name: Some("tideline-test".into()),
    };
    let mut over_tcp = connect(&tcp, &MapSecrets::default()).await.unwrap();
    assert_eq!(over_tcp.name(), format!("syslog tcp://{tcp_address}"));
    let batch = [
        event_item("ev-1", "{}", &hostile),
        event_item("ev-2", "{}", &deleted),
    ];
    assert_eq!(within(over_tcp.deliver(&batch)).await, Delivery::Delivered);

    let udp = DestinationConfig::Syslog {
        transport: SyslogTransport::Udp,
        address: format!("127.0.0.1:{}", rsyslog.udp_port),
        app_name: Some("tideline-test".into()),
    };
    let mut over_udp = connect(&udp, &MapSecrets::default()).await.unwrap();
    let item = Item::Finding {
        key: "public-bucket|prod-logs",
        time_us: SAMPLE_TIME_US,
        json: &json,
        facts: &finding,
    };
    assert_eq!(within(over_udp.deliver(&[item])).await, Delivery::Delivered);

    let text = eventually("rsyslogd to write three messages", || {
        let text = std::fs::read_to_string(&rsyslog.output).ok()?;
        (text.lines().count() >= 3).then_some(text)
    })
    .await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "one line per message:\n{text}");
    assert!(
        !text.contains("#012") && !text.contains("#015"),
        "no control character arrived:\n{text}"
    );

    let hostname = header_field(&local_hostname(), 255);
    let mut by_msgid = std::collections::HashMap::new();
    for line in &lines {
        let (header, sd, msg) = split_line(line);
        assert_eq!(header[0].split('>').nth(1), Some("1"), "{line}");
        assert!(
            header[1].starts_with("2024-05-05T10:00:00.123456"),
            "{line}"
        );
        assert_eq!(header[2], hostname, "{line}");
        assert_eq!(header[3], "tideline-test", "{line}");
        assert_eq!(header[4], std::process::id().to_string(), "{line}");
        assert!(
            sd.starts_with("[tideline@32473 "),
            "parsed as RFC 5424: {line}"
        );
        let msg = msg.strip_prefix('\u{feff}').unwrap_or(msg);
        by_msgid
            .entry((header[5].to_owned(), sd_param(sd, "event_id")))
            .or_insert((header[0].to_owned(), sd.to_owned(), msg.to_owned()));
    }

    let (pri, sd, msg) = &by_msgid[&("change".to_owned(), Some("ev-1".to_owned()))];
    assert_eq!(pri, "<133>1");
    assert_eq!(
        sd_param(sd, "principal").as_deref(),
        Some("evil\"] x=\"y next")
    );
    assert_eq!(
        sd_param(sd, "x"),
        None,
        "the hostile value made no parameter of its own"
    );
    assert_eq!(sd_param(sd, "asset").as_deref(), Some("prod-logs"));
    assert_eq!(sd_param(sd, "change").as_deref(), Some("update"));
    assert_eq!(msg, "acl: private → public-read FAKE: line");
    assert_eq!(
        *sd,
        structured_data(&batch[0]),
        "the element arrived byte for byte"
    );

    let (pri, _, _) = &by_msgid[&("change".to_owned(), Some("ev-2".to_owned()))];
    assert_eq!(pri, "<132>1", "a delete is a warning");

    let (pri, sd, msg) = &by_msgid[&("finding".to_owned(), None)];
    assert_eq!(pri, "<131>1", "a high finding is an error");
    assert_eq!(sd_param(sd, "rule").as_deref(), Some("public-bucket"));
    assert_eq!(
        sd_param(sd, "finding_key").as_deref(),
        Some("public-bucket|prod-logs")
    );
    assert_eq!(msg, "prod-logs made public");
}

#[tokio::test]
async fn a_tcp_connection_the_collector_closed_is_reopened() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = DestinationConfig::Syslog {
        transport: SyslogTransport::Tcp,
        address: address.to_string(),
        app_name: None,
    };
    let mut syslog = connect(&config, &MapSecrets::default()).await.unwrap();
    let facts = facts();
    let item = event_item("ev-1", "{}", &facts);

    assert_eq!(within(syslog.deliver(&[item])).await, Delivery::Delivered);
    let (mut first, _) = within(listener.accept()).await.unwrap();
    let mut received = vec![0u8; 4];
    within(tokio::io::AsyncReadExt::read_exact(
        &mut first,
        &mut received,
    ))
    .await
    .unwrap();
    drop(first); // the collector restarts

    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(within(syslog.deliver(&[item])).await, Delivery::Delivered);
    let (mut second, _) = within(listener.accept()).await.unwrap();
    let mut frame = vec![0u8; 16];
    let read = within(tokio::io::AsyncReadExt::read(&mut second, &mut frame))
        .await
        .unwrap();
    assert!(read > 0, "the message arrived on a new connection");
}
