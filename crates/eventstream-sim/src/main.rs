//! The `eventstream-sim` binary: parses the command line, starts the library's server,
//! prints the listening line and runs until SIGINT or SIGTERM.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use eventstream_sim::{Faults, Scenario, SimConfig, StreamSource, parse_faults, start};
use tideline_engine::auditlog::LogFormat;

/// An EventStream-compatible SSE server: demo stream, test peer and load source.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long)]
    port: u16,
    /// API key clients must send as `Authorization: Bearer KEY`.
    #[arg(long)]
    key: String,
    #[command(flatten)]
    stream: Stream,
    /// At most this many valid events (default: all; 10000 for `load`).
    #[arg(long)]
    count: Option<usize>,
    /// Size of each `load` event in bytes (events do not shrink below about 1.7-2.0 KB).
    #[arg(long, default_value_t = 2048)]
    size: usize,
    /// At most this many events per second, over all connections.
    #[arg(long, value_name = "EVENTS_PER_S")]
    rate: Option<f64>,
    /// Faults: drop-every=N,dup=P,malformed=P,oversize=P,stall-after=N (any subset).
    #[arg(long, value_name = "SPEC", value_parser = parse_faults)]
    faults: Option<Faults>,
    /// Keep a JSON manifest of what was sent in this file.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Seed for every generated choice.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// The `retry:` value sent at the start of each connection, in ms.
    #[arg(long, default_value_t = 3000)]
    retry_ms: u64,
    /// Interval between keep-alives, in ms.
    #[arg(long, default_value_t = 15_000)]
    keepalive_ms: u64,
    /// Replay the events' own time gaps (each capped at one hour of event time), scaled
    /// so the whole stream takes about this many seconds.
    #[arg(long, value_name = "SECS")]
    span: Option<f64>,
    /// Build every `load` event before serving (memory: count × size), so serving is a copy:
    /// for benchmarks, where this server shares the machine with the client it measures.
    #[arg(long)]
    pregenerate: bool,
    /// Set each event's `time` to the moment it is sent (wall clock, microseconds): for
    /// measuring socket → screen latency on the same machine.
    #[arg(long)]
    stamp_time: bool,
    /// What `--replay` reads: `eventstream` (a capture, sent as recorded) or raw cloud audit
    /// logs (`cloudtrail`, `gcp-audit`, `azure-activity`: a file or a folder, normalized as
    /// `tideline-cli import` would, in event-time order).
    #[arg(long, default_value = "eventstream", value_parser = ["eventstream", "cloudtrail", "gcp-audit", "azure-activity"])]
    from: String,
}

/// Exactly one of the two stream sources.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Stream {
    /// Replay an `.sse` capture or an NDJSON file, or (with `--from`) raw cloud audit logs.
    #[arg(long, value_name = "PATH")]
    replay: Option<PathBuf>,
    /// Generate a stream: `seed-incident` or `load`.
    #[arg(long, value_name = "NAME")]
    scenario: Option<Scenario>,
}

impl Args {
    fn into_config(self) -> anyhow::Result<(SimConfig, u16)> {
        let from = LogFormat::parse(&self.from).context("--from")?;
        let source = match (self.stream.replay, self.stream.scenario) {
            (Some(path), _) if from != LogFormat::Eventstream => {
                StreamSource::AuditLog { path, format: from }
            }
            (Some(path), _) => StreamSource::Replay(path),
            (None, Some(scenario)) => StreamSource::Scenario(scenario),
            (None, None) => anyhow::bail!("one of --replay or --scenario is required"),
        };
        let span = self
            .span
            .map(|s| {
                Duration::try_from_secs_f64(s)
                    .context("--span must be a non-negative number of seconds")
            })
            .transpose()?;
        let mut config = SimConfig::new(self.key, source);
        config.count = self.count;
        config.size = self.size;
        config.rate = self.rate;
        config.faults = self.faults.unwrap_or_default();
        config.manifest = self.manifest;
        config.seed = self.seed;
        config.retry_ms = self.retry_ms;
        config.keepalive = Duration::from_millis(self.keepalive_ms);
        config.span = span;
        config.pregenerate = self.pregenerate;
        config.stamp_time = self.stamp_time;
        Ok((config, self.port))
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let (config, port) = Args::parse().into_config()?;
    let sim = start(config, port)
        .await
        .context("cannot start the simulator")?;
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {}", sim.url())?;
    stdout.flush()?;
    drop(stdout);
    wait_for_signal().await?;
    sim.shutdown().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot listen for SIGINT"),
        _ = term.recv() => Ok(()),
    }
}

#[cfg(not(unix))]
async fn wait_for_signal() -> anyhow::Result<()> {
    tokio::signal::ctrl_c()
        .await
        .context("cannot listen for Ctrl-C")
}
