//! Issue 10's two figures that only the real app can give, measured under Xvfb like the tests
//! here. Benchmarks, not tests: both are `#[ignore]`d and run by `scripts/bench-live`, which
//! reads their JSON.
//!
//! * `live_latency`: a new event, socket → row on screen, while the app follows a stream of
//!   `BENCH_RATE` events/s (default 1,000) for `BENCH_SECS` (60). The stream server stamps each
//!   event's `time` with the moment it writes the frame (`--stamp-time`), so an event's send
//!   time is in the event itself, and the stored session has it (`time_us`) beside the moment
//!   the app read it (`received_us`). A MutationObserver in the page notes, for every change row
//!   that enters the DOM, the wall clock then and at the next animation frame (the frame that
//!   paints it). Same machine, same clock.
//! * `session_rss`: the app with `BENCH_SESSION` open and browsed (deep scrolls, a facet, a
//!   search, a change's detail, its asset's history): VmRSS, VmHWM and PSS of the `tideline`
//!   process and of its WebKit children after each step.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::str::FromStr;
use std::time::{Duration, Instant};

use eventstream_sim::{Scenario, SimConfig, StreamSource};
use serde_json::{Value, json};

use crate::harness::{AppProcess, Desktop, WEBKIT_DISABLE_COMPOSITING_MODE, app_processes};

const KEY: &str = "bench-live-key";
/// The change list's fixed row height (ui/src/components/ChangeList.svelte).
const ROW_HEIGHT_PX: f64 = 34.0;
/// The stream keeps going this long after the measured window, for the screenshot.
const TAIL_SECS: f64 = 15.0;

fn env_or<T: FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("{name}={text:?} is not valid")),
        Err(_) => default,
    }
}

/// `WEBKIT_DISABLE_COMPOSITING_MODE` as this benchmark was given it: passed on to the app (`0`:
/// with WebKit's compositing, to compare the two), else the app chooses (without).
fn compositing_mode() -> Option<String> {
    std::env::var(WEBKIT_DISABLE_COMPOSITING_MODE).ok()
}

/// The app's environment for [`compositing_mode`].
fn app_env(compositing: &Option<String>) -> Vec<(&'static str, &str)> {
    compositing
        .iter()
        .map(|value| (WEBKIT_DISABLE_COMPOSITING_MODE, value.as_str()))
        .collect()
}

fn out_path(name: &str) -> PathBuf {
    std::env::var_os("BENCH_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name))
}

fn write_json(path: &Path, value: &Value) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, serde_json::to_string_pretty(value).unwrap() + "\n").unwrap();
    println!("{}", serde_json::to_string_pretty(value).unwrap());
    println!("wrote {}", path.display());
}

/// Records every change row the page adds, once per seq: [dom_ms, frame_ms, index, time title].
/// Installed on the start screen, before the stream is connected.
const OBSERVER: &str = r#"
if (!window.__bench) {
  const rows = new Map();
  const pending = [];
  const frames = [];
  let scheduled = false;
  const see = (el, now) => {
    const seq = Number(el.getAttribute('data-seq'));
    if (!seq || rows.has(seq)) return;
    const entry = [now, 0, Number(el.getAttribute('data-index')), el.querySelector('.time')?.title ?? ''];
    rows.set(seq, entry);
    pending.push(entry);
  };
  const painted = () => {
    const now = Date.now();
    for (const entry of pending) entry[1] = now;
    pending.length = 0;
    scheduled = false;
  };
  new MutationObserver((records) => {
    const now = Date.now();
    for (const r of records) {
      if (r.type === 'attributes') {
        if (r.target.matches('[data-testid="change-row"]')) see(r.target, now);
        continue;
      }
      for (const n of r.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches('[data-testid="change-row"]')) see(n, now);
        else for (const el of n.querySelectorAll('[data-testid="change-row"]')) see(el, now);
      }
    }
    if (pending.length > 0 && !scheduled) {
      scheduled = true;
      requestAnimationFrame(painted);
    }
  }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['data-seq'] });
  // Every command the page sends to Rust: Tauri's IPC on Linux is a fetch of ipc://localhost/CMD
  // (tauri/scripts/ipc-protocol.js), looked up on window at each call. [cmd, sent_ms, answered_ms]
  // (answered: the response's headers are in; its body is read after).
  const calls = [];
  const realFetch = window.fetch;
  window.fetch = function (input, init) {
    const url = typeof input === 'string' ? input : input.url;
    const answer = realFetch.call(this, input, init);
    if (/^ipc:|^https?:\/\/ipc\.localhost\//.test(url)) {
      const entry = [decodeURIComponent(url.split('/').pop()), Date.now(), 0];
      calls.push(entry);
      answer.then(() => { entry[2] = Date.now(); }, () => { entry[2] = -1; });
    }
    return answer;
  };
  const tick = () => {
    frames.push(Date.now());
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  window.__bench = {
    dump() {
      const list = document.querySelector('[data-testid="change-list"]');
      return {
        rows: [...rows].map(([seq, e]) => [seq, ...e]),
        frames,
        calls,
        viewport_px: list ? list.clientHeight : 0,
      };
    },
  };
}
"#;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: scripts/bench-live"]
async fn live_latency() {
    let rate: f64 = env_or("BENCH_RATE", 1000.0);
    let secs: f64 = env_or("BENCH_SECS", 60.0);
    let size: usize = env_or("BENCH_SIZE", 2048);
    let window = (rate * secs) as usize;
    let mut config = SimConfig::new(KEY, StreamSource::Scenario(Scenario::Load));
    config.count = Some(window + (rate * TAIL_SECS) as usize);
    config.size = size;
    config.rate = Some(rate);
    config.pregenerate = true;
    config.stamp_time = true;
    config.retry_ms = 100;
    let sim = eventstream_sim::start(config, 0)
        .await
        .expect("the stream server starts");

    let compositing = compositing_mode();
    let mut desktop =
        Desktop::launch_with_env("bench_live_latency", &[], &app_env(&compositing)).await;
    desktop.find(r#"[data-testid="start-screen"]"#).await;
    desktop.script(OBSERVER).await;
    let procs = app_processes();
    let before = CpuMark::take(&procs);
    desktop.connect_stream(&sim.url(), KEY).await;
    let connected = Instant::now();
    let deadline = connected + Duration::from_secs_f64(secs * 3.0 + 60.0);
    while sim.manifest().valid.len() < window {
        assert!(Instant::now() < deadline, "the stream fell far behind");
        tokio::time::sleep(Duration::from_millis(1000)).await;
    }
    let after = CpuMark::take(&procs);
    let following = desktop
        .script(r#"return document.querySelector('[data-testid="follow-live"]')?.getAttribute('aria-pressed') ?? null"#)
        .await;
    // The stream goes on at the same rate while the screenshot is taken (outside the window).
    let shot = desktop.screenshot("following-live").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let sent_total = sim.manifest().valid.len();
    sim.shutdown().await;
    tokio::time::sleep(Duration::from_secs(3)).await;

    let page = desktop.script("return window.__bench.dump()").await;
    let title = desktop
        .script(r#"return document.querySelector('[data-testid="status-session"]').parentElement.title"#)
        .await;
    let session = PathBuf::from(title.as_str().unwrap().lines().next().unwrap());
    let stored = stored_events(&session);
    desktop.close().await;

    let mut result = live_figures(&page, &stored, window);
    let extra = json!({
        "rate_events_per_s": rate,
        "window_s": secs,
        "event_size_bytes": size,
        "sent": window,
        "sent_including_tail": sent_total,
        "wall_s_connect_to_window_sent": connected.elapsed().as_secs_f64(),
        "cpu_during_window": after.since(&before),
        "following_live_at_window_end": following == json!("true"),
        "screenshot": shot,
        "webkit_disable_compositing_mode": compositing,
    });
    result
        .as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    write_json(&out_path("bench-live-latency.json"), &result);
}

/// `(seq, event index, time_us, received_us)` of every stored event, read with the sqlite3 CLI
/// (the session is the app's own; it stays open in the app meanwhile).
fn stored_events(session: &Path) -> Vec<(i64, usize, i64, i64)> {
    let output = Command::new("sqlite3")
        .args(["-readonly", "-separator", " "])
        .arg(session)
        .arg("SELECT seq, event_id, time_us, received_us FROM events ORDER BY seq")
        .output()
        .expect("sqlite3 runs (apt-get install sqlite3)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split(' ').collect();
            // The load scenario's ids are "01J0" and the 1-based index in 22 digits.
            let n: usize = f[1][4..].parse().unwrap();
            (
                f[0].parse().unwrap(),
                n - 1,
                f[2].parse().unwrap(),
                f[3].parse().unwrap(),
            )
        })
        .collect()
}

/// The figures over the events of the window (the first `window` events sent).
fn live_figures(page: &Value, stored: &[(i64, usize, i64, i64)], window: usize) -> Value {
    let visible_rows = (page["viewport_px"].as_f64().unwrap() / ROW_HEIGHT_PX).ceil() as i64;
    // seq → (dom_ms, frame_ms) for rows that appeared inside the viewport.
    let mut shown: Vec<(i64, f64, f64)> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[3].as_i64().unwrap() < visible_rows)
        .map(|r| {
            (
                r[0].as_i64().unwrap(),
                r[1].as_f64().unwrap(),
                r[2].as_f64().unwrap(),
            )
        })
        .collect();
    shown.sort_by_key(|r| r.0);
    let by_seq: HashMap<i64, (f64, f64)> = shown.iter().map(|r| (r.0, (r.1, r.2))).collect();
    // The first frame at which the list showed this seq or a newer one.
    let mut caught = vec![f64::INFINITY; shown.len() + 1];
    for i in (0..shown.len()).rev() {
        caught[i] = caught[i + 1].min(shown[i].2);
    }

    let in_window: Vec<_> = stored.iter().filter(|e| e.1 < window).collect();
    let ids: HashSet<usize> = in_window.iter().map(|e| e.1).collect();
    let first_send = in_window.iter().map(|e| e.2).min().unwrap_or(0) as f64 / 1000.0;
    let last_send = in_window.iter().map(|e| e.2).max().unwrap_or(0) as f64 / 1000.0;
    let (mut row, mut row_dom, mut caught_up, mut received) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut by_10s: Vec<Vec<f64>> = Vec::new();
    let mut never = 0;
    for &&(seq, _, time_us, received_us) in &in_window {
        let sent = time_us as f64 / 1000.0;
        received.push((received_us - time_us) as f64 / 1000.0);
        if let Some(&(dom, frame)) = by_seq.get(&seq) {
            row.push(frame - sent);
            row_dom.push(dom - sent);
        }
        let at = caught[shown.partition_point(|r| r.0 < seq)];
        if at.is_finite() {
            caught_up.push(at - sent);
            let bucket = ((sent - first_send) / 10_000.0) as usize;
            if by_10s.len() <= bucket {
                by_10s.resize(bucket + 1, Vec::new());
            }
            by_10s[bucket].push(at - sent);
        } else {
            never += 1;
        }
    }
    let frames: Vec<f64> = page["frames"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_f64().unwrap())
        .filter(|t| (first_send..=last_send + 1000.0).contains(t))
        .collect();
    let gaps: Vec<f64> = frames.windows(2).map(|w| w[1] - w[0]).collect();
    // The page's commands sent while the window was being sent: per command, sent → answered,
    // and how many were never answered by the time the page was read.
    let mut by_command: BTreeMap<String, (Vec<f64>, usize)> = BTreeMap::new();
    for call in page["calls"].as_array().unwrap() {
        let (sent, answered) = (call[1].as_f64().unwrap(), call[2].as_f64().unwrap());
        if (first_send..=last_send).contains(&sent) {
            let entry = by_command
                .entry(call[0].as_str().unwrap().to_owned())
                .or_default();
            if answered >= sent {
                entry.0.push(answered - sent);
            } else {
                entry.1 += 1;
            }
        }
    }
    let span_ms = (last_send - first_send).max(1.0);
    let commands: serde_json::Map<String, Value> = by_command
        .into_iter()
        .map(|(command, (mut waits, unanswered))| {
            // Calls of one command can overlap (two pages read at once): the mean number
            // outstanding over the window, which can pass 1.
            let outstanding = waits.iter().sum::<f64>() / span_ms;
            let mut figures = stats(&mut waits);
            figures["mean_outstanding"] = json!((outstanding * 1000.0).round() / 1000.0);
            figures["unanswered"] = json!(unanswered);
            (command, figures)
        })
        .collect();
    json!({
        "stored": in_window.len(),
        "missing_from_store": window - ids.len(),
        "rows_seen": row.len(),
        "rows_visible_at_once": visible_rows,
        "never_caught_up": never,
        "send_span_s": (last_send - first_send) / 1000.0,
        "latency_ms": {
            "row_on_screen": stats(&mut row),
            "row_in_dom": stats(&mut row_dom),
            "caught_up_every_event": stats(&mut caught_up),
            "socket_to_read_by_app": stats(&mut received),
        },
        "commands_ms": commands,
        "caught_up_p99_ms_by_10s": by_10s.iter_mut().map(|v| stats(v)["p99"].clone()).collect::<Vec<_>>(),
        "frames": {
            "count": frames.len(),
            "per_s": frames.len() as f64 * 1000.0 / (last_send + 1000.0 - first_send).max(1.0),
            "gap_ms": stats(&mut gaps.clone()),
            "gaps_over_50ms": gaps.iter().filter(|g| **g > 50.0).count(),
            "gaps_over_100ms": gaps.iter().filter(|g| **g > 100.0).count(),
        },
    })
}

/// Median, p95, p99 (nearest rank) and max, rounded to 0.1 ms.
fn stats(values: &mut [f64]) -> Value {
    if values.is_empty() {
        return json!({"n": 0});
    }
    values.sort_by(f64::total_cmp);
    let rank =
        |p: f64| values[((p * values.len() as f64).ceil() as usize).clamp(1, values.len()) - 1];
    let round = |v: f64| (v * 10.0).round() / 10.0;
    json!({
        "n": values.len(),
        "median": round(rank(0.5)),
        "p95": round(rank(0.95)),
        "p99": round(rank(0.99)),
        "max": round(values[values.len() - 1]),
    })
}

// --- processes ---------------------------------------------------------------------------------

/// VmRSS, VmHWM and RSS by kind (anonymous, file-backed, shared), in MiB, from
/// /proc/PID/status; and PSS (proportional set size: each shared page divided among the
/// processes that map it, so the app's processes add up without counting the GTK and WebKit
/// libraries they share twice), from /proc/PID/smaps_rollup (proc(5); null where it cannot be
/// read: it needs ptrace access and Linux 4.14). `None` once the process is gone.
fn memory(pid: u32) -> Option<Value> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok();
    let mib = |text: &str, key: &str| -> Option<f64> {
        let line = text.lines().find(|l| l.starts_with(key))?;
        let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some((kib / 1024.0 * 10.0).round() / 10.0)
    };
    Some(json!({
        "rss_mib": mib(&status, "VmRSS:")?,
        "hwm_mib": mib(&status, "VmHWM:")?,
        "anon_mib": mib(&status, "RssAnon:")?,
        "file_mib": mib(&status, "RssFile:")?,
        "shmem_mib": mib(&status, "RssShmem:")?,
        "pss_mib": rollup.as_deref().and_then(|rollup| mib(rollup, "Pss:")),
    }))
}

fn memory_of(procs: &[AppProcess]) -> Value {
    Value::Array(
        procs
            .iter()
            .map(|p| {
                let mut entry = json!({"process": p.role, "pid": p.pid});
                match memory(p.pid) {
                    Some(Value::Object(m)) => entry.as_object_mut().unwrap().extend(m),
                    _ => entry["gone"] = json!(true),
                }
                entry
            })
            .collect(),
    )
}

/// CPU ticks of each process, and of the whole machine, at one moment.
struct CpuMark {
    at: Instant,
    per_process: Vec<(&'static str, u64)>,
    machine_busy: u64,
    machine_total: u64,
    loadavg: String,
}

impl CpuMark {
    fn take(procs: &[AppProcess]) -> CpuMark {
        let ticks = |pid: u32| -> u64 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let rest = stat.rsplit_once(") ").map(|r| r.1).unwrap_or("");
            let f: Vec<&str> = rest.split(' ').collect();
            f.get(11).and_then(|u| u.parse().ok()).unwrap_or(0u64)
                + f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0u64)
        };
        let stat = std::fs::read_to_string("/proc/stat").unwrap();
        let cpu: Vec<u64> = stat
            .lines()
            .next()
            .unwrap()
            .split_whitespace()
            .skip(1)
            .map(|v| v.parse().unwrap())
            .collect();
        let idle = cpu[3] + cpu.get(4).copied().unwrap_or(0);
        let total: u64 = cpu.iter().take(8).sum();
        CpuMark {
            at: Instant::now(),
            per_process: procs.iter().map(|p| (p.role, ticks(p.pid))).collect(),
            machine_busy: total - idle,
            machine_total: total,
            loadavg: std::fs::read_to_string("/proc/loadavg")
                .unwrap()
                .trim()
                .to_owned(),
        }
    }

    /// Percent of one core per process role; the machine's busy share of all its cores.
    fn since(&self, start: &CpuMark) -> Value {
        let secs = self.at.duration_since(start.at).as_secs_f64();
        let hz = 100.0; // USER_HZ on Linux
        let mut roles: HashMap<&str, u64> = HashMap::new();
        for ((role, end), (_, begin)) in self.per_process.iter().zip(&start.per_process) {
            *roles.entry(role).or_default() += end.saturating_sub(*begin);
        }
        let mut out = serde_json::Map::new();
        for (role, ticks) in roles {
            out.insert(
                format!("{role}_pct_of_one_core"),
                json!((ticks as f64 / hz / secs * 1000.0).round() / 10.0),
            );
        }
        let busy = (self.machine_busy - start.machine_busy) as f64
            / (self.machine_total - start.machine_total).max(1) as f64;
        out.insert(
            "machine_busy_pct_all_cores".into(),
            json!((busy * 1000.0).round() / 10.0),
        );
        out.insert("loadavg_start".into(), json!(start.loadavg));
        out.insert("loadavg_end".into(), json!(self.loadavg));
        Value::Object(out)
    }
}

// --- RSS with a big session open and browsed ---------------------------------------------------

/// How long one browsing step may take on a 1M+ session.
const BROWSE_TIMEOUT: Duration = Duration::from_secs(180);

/// Polls `condition` (a script returning a boolean) until it is true; returns the time taken.
async fn until(desktop: &Desktop, what: &str, condition: &str) -> f64 {
    let started = Instant::now();
    loop {
        if desktop.script(condition).await == Value::Bool(true) {
            return started.elapsed().as_secs_f64() * 1000.0;
        }
        assert!(
            started.elapsed() < BROWSE_TIMEOUT,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The seqs of the rows in the DOM now, as a JS array literal.
async fn row_seqs(desktop: &Desktop) -> String {
    desktop
        .script(r#"return JSON.stringify([...document.querySelectorAll('[data-testid="change-row"]')].map((r) => r.dataset.seq))"#)
        .await
        .as_str()
        .unwrap()
        .to_owned()
}

async fn list_total(desktop: &Desktop) -> i64 {
    let total = desktop
        .script(
            r#"return document.querySelector('[data-testid="list-total"]')?.dataset.total ?? null"#,
        )
        .await;
    total.as_str().and_then(|t| t.parse().ok()).unwrap_or(-1)
}

/// Counts the page's Tauri calls per command in `window.__calls`: [started, answered]. The IPC
/// is a `fetch` of `ipc://localhost/COMMAND`; a call counts as answered once its body is read and
/// the next frame after that has been drawn. A step is done when the list asked Rust again and
/// every answer is in.
const CALL_COUNTER: &str = r#"
if (!window.__calls) {
  window.__calls = {};
  const fetch = window.fetch.bind(window);
  window.fetch = (input, ...rest) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.startsWith('ipc://')) return fetch(input, ...rest);
    const c = (window.__calls[url.slice(url.lastIndexOf('/') + 1)] ??= [0, 0]);
    c[0]++;
    const done = () => requestAnimationFrame(() => setTimeout(() => c[1]++));
    const answer = fetch(input, ...rest);
    answer.then((r) => r.clone().arrayBuffer().then(done, done), done);
    return answer;
  };
}
return true;
"#;

/// `list_changes` calls started so far.
async fn list_calls(desktop: &Desktop) -> i64 {
    desktop
        .script("return (window.__calls.list_changes ?? [0, 0])[0]")
        .await
        .as_i64()
        .unwrap()
}

/// The list asked Rust for rows after `before` calls, every answer is in, and the rows are drawn.
fn list_answered(before: i64) -> String {
    format!(
        r#"const c = window.__calls.list_changes ?? [0, 0];
           return c[0] > {before} && c[0] === c[1]
             && !document.querySelector('[data-testid="change-row-loading"]')
             && (!!document.querySelector('[data-testid="change-row"]')
                 || !!document.querySelector('[data-testid="list-empty"]'));"#
    )
}

/// Rows are drawn, none is a loading placeholder, and (`but_not`) none of them was drawn before.
fn rows_loaded(but_not: &str) -> String {
    format!(
        r#"const rows = [...document.querySelectorAll('[data-testid="change-row"]')];
           const old = new Set({but_not});
           return rows.length > 0 && !document.querySelector('[data-testid="change-row-loading"]')
             && rows.every((r) => !old.has(r.dataset.seq));"#
    )
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: scripts/bench-live"]
async fn session_rss() {
    let session = std::env::var("BENCH_SESSION").expect("BENCH_SESSION=FILE: the session to open");
    let settle: f64 = env_or("BENCH_SETTLE_SECS", 60.0);
    let launched = Instant::now();
    let compositing = compositing_mode();
    let mut desktop = Desktop::launch_with_env(
        "bench_session_rss",
        &["--open", &session],
        &app_env(&compositing),
    )
    .await;
    desktop
        .find_within(r#"[data-testid="change-row"]"#, BROWSE_TIMEOUT)
        .await;
    let open_ms = launched.elapsed().as_secs_f64() * 1000.0;
    assert_eq!(
        desktop.script(CALL_COUNTER).await,
        Value::Bool(true),
        "the page's Tauri calls cannot be counted"
    );
    let procs = app_processes();
    let mut steps = vec![
        json!({"step": "opened, first page on screen", "ms": open_ms,
        "note": "from launching Xvfb + WebKitWebDriver", "memory": memory_of(&procs)}),
    ];
    let record = |steps: &mut Vec<Value>, step: &str, ms: f64| {
        println!("{step}: {ms:.0} ms");
        steps.push(
            json!({"step": step, "ms": (ms * 10.0).round() / 10.0, "memory": memory_of(&procs)}),
        );
    };

    // Deep scrolls: a quarter, half, nine tenths, the end.
    for fraction in [0.25, 0.5, 0.9, 1.0] {
        let before = row_seqs(&desktop).await;
        desktop
            .script(&format!(
                r#"const v = document.querySelector('[data-testid="change-list"]');
                   v.scrollTop = (v.scrollHeight - v.clientHeight) * {fraction};"#
            ))
            .await;
        let ms = until(&desktop, "rows after a deep scroll", &rows_loaded(&before)).await;
        record(
            &mut steps,
            &format!("scrolled to {:.0}% of the list", fraction * 100.0),
            ms,
        );
    }
    desktop.screenshot("scrolled-to-the-end").await;

    // A facet: the first value of BENCH_FACET (default region), the most common one.
    let facet: String = env_or("BENCH_FACET", "region".to_owned());
    let option = format!(r#"[data-testid="facet-option"][data-facet="{facet}"]"#);
    if desktop
        .find_all(r#"[data-testid="facet-option"]"#)
        .await
        .is_empty()
    {
        let waited = until(
            &desktop,
            "the facet counts",
            r#"return !!document.querySelector('[data-testid="facet-option"]') || !!document.querySelector('[data-testid="filters-toggle"][aria-pressed="false"]');"#,
        )
        .await;
        println!("facets or a closed filter panel after {waited:.0} ms");
        if desktop
            .find_all(r#"[data-testid="facet-option"]"#)
            .await
            .is_empty()
        {
            desktop.click(r#"[data-testid="filters-toggle"]"#).await;
        }
    }
    desktop.find_within(&option, BROWSE_TIMEOUT).await;
    let value = desktop
        .script(&format!(
            r#"return document.querySelector('{option}').dataset.value"#
        ))
        .await;
    let before = list_calls(&desktop).await;
    let started = Instant::now();
    desktop.click(&option).await;
    until(&desktop, "the filtered list", &list_answered(before)).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    record(
        &mut steps,
        &format!("facet {facet} = {}", value.as_str().unwrap_or("?")),
        ms,
    );

    // A search: BENCH_SEARCH, else the label of the first asset below the top row's.
    let text = match std::env::var("BENCH_SEARCH") {
        Ok(text) => text,
        Err(_) => desktop
            .script(
                r#"const labels = [...document.querySelectorAll('[data-testid="change-row"]')]
                     .sort((a, b) => a.dataset.index - b.dataset.index).map((r) => r.dataset.assetLabel);
                   return labels.find((l) => l !== labels[0]) ?? labels[0];"#,
            )
            .await
            .as_str()
            .unwrap()
            .to_owned(),
    };
    let before = list_calls(&desktop).await;
    let started = Instant::now();
    desktop
        .type_into(r#"[data-testid="filter-text"]"#, &text)
        .await;
    // Typed key by key: done once the chip holds the whole text and its rows are in.
    let chip = format!(
        r#"[...document.querySelectorAll('[data-testid="filter-chip"][data-kind="text"]')].some((c) => c.dataset.value === {})"#,
        Value::String(text.clone())
    );
    let done = list_answered(before).replacen("return ", &format!("return {chip} && "), 1);
    until(&desktop, "the searched list", &done).await;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    record(
        &mut steps,
        &format!("search {text:?} (200 ms debounce included)"),
        ms,
    );
    desktop.screenshot("searched").await;
    let found = list_total(&desktop).await;

    // A change's detail, then its asset's history.
    let started = Instant::now();
    desktop.click(r#"[data-testid="change-row"]"#).await;
    until(
        &desktop,
        "the detail",
        r#"const a = document.querySelector('[data-testid="detail-action"]');
           return !!a && !document.querySelector('[data-testid="detail-loading"]');"#,
    )
    .await;
    record(
        &mut steps,
        "change detail open",
        started.elapsed().as_secs_f64() * 1000.0,
    );
    let started = Instant::now();
    desktop.click(r#"[data-testid="history-open"]"#).await;
    until(
        &desktop,
        "the asset history",
        r#"return !!document.querySelector('[data-testid="history-entry"]');"#,
    )
    .await;
    record(
        &mut steps,
        "asset history open",
        started.elapsed().as_secs_f64() * 1000.0,
    );
    desktop.screenshot("history-open").await;

    // Left open: what the app does in the background (integrity check, findings) shows here.
    let idle_from = Instant::now();
    while idle_from.elapsed().as_secs_f64() < settle {
        tokio::time::sleep(Duration::from_secs(5)).await;
        let integrity = desktop
            .script(r#"return document.querySelector('[data-testid="integrity-text"]')?.textContent.trim() ?? ''"#)
            .await;
        let step = format!(
            "idle {:.0} s after browsing (integrity: {})",
            idle_from.elapsed().as_secs_f64(),
            integrity.as_str().unwrap_or("?")
        );
        record(&mut steps, &step, 0.0);
    }
    desktop.close().await;

    write_json(
        &out_path("bench-session-rss.json"),
        &json!({
            "session": session,
            "session_bytes": std::fs::metadata(&session).map(|m| m.len()).unwrap_or(0),
            "webkit_disable_compositing_mode": compositing,
            "search_matches": found,
            "steps": steps,
        }),
    );
}
