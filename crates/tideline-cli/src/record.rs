//! record: `tideline-cli record` — the engine's recording (the same one the desktop app starts)
//! on a session file until Ctrl-C, SIGTERM, `--until-idle`, or a fatal error, with a live
//! progress line on stderr and the session's findings kept current.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use tideline_engine::ingest::{Endpoint, IngestOptions};
use tideline_engine::recording::{Forwarding, Recording, RecordingRequest, SessionLabels};
use tokio_util::sync::CancellationToken;

use crate::{api_key, forward, progress};

#[derive(Args)]
pub struct RecordArgs {
    /// The EventStream URL (https://…, or http:// on loopback).
    #[arg(long)]
    endpoint: String,
    /// The session file to record into.
    #[arg(long)]
    session: PathBuf,
    /// Stop after this many seconds in which the EventStream sent no event (keep-alives do not
    /// count), counted from the first connection attempt's outcome; opening the session and
    /// connecting do not count, nor does time spent waiting for the session file to take what
    /// arrived.
    #[arg(long, value_name = "SECS")]
    until_idle: Option<f64>,
    /// Reconnect when the stream sends nothing, not even a keep-alive, for this long.
    #[arg(long, value_name = "SECS", default_value_t = 60.0)]
    idle_timeout: f64,
    /// Keep the session's findings current while recording (in its notes database), as the
    /// desktop app does; off by default: a jump box records, the analyst's machine reviews.
    #[arg(long)]
    findings: bool,
    /// Detection settings for --findings (JSON, as for `findings`; implies --findings).
    #[arg(long, value_name = "FILE")]
    settings: Option<PathBuf>,
    /// Forward matching changes and findings while recording, by this forwarding file (JSON
    /// routes; secrets from TIDELINE_SECRET_<NAME> or `forward secret set`).
    #[arg(long = "forward", value_name = "FILE")]
    forward: Option<PathBuf>,
}

pub fn run(args: RecordArgs) -> anyhow::Result<ExitCode> {
    let endpoint = Endpoint::parse(&args.endpoint)?;
    // Before any async runtime: the keyring client runs its own D-Bus calls.
    let key = api_key::resolve(&endpoint)?;
    let options = IngestOptions {
        idle_timeout: seconds(args.idle_timeout, "--idle-timeout")?,
        stop_when_quiet: args
            .until_idle
            .map(|secs| seconds(secs, "--until-idle"))
            .transpose()?,
        ..IngestOptions::default()
    };
    let keep_findings = args.findings || args.settings.is_some();
    let detections = keep_findings
        .then(|| crate::detection_settings(args.settings.as_deref()))
        .transpose()?;
    // Read before the runtime, like the API key: the keyring runs its own D-Bus calls.
    let forwarding = args
        .forward
        .as_deref()
        .map(|path| -> anyhow::Result<Forwarding> {
            let rules = forward::read_rules(path)?;
            let secrets = forward::secrets_for(&rules);
            Ok(Forwarding { rules, secrets })
        })
        .transpose()?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    runtime.block_on(async move {
        // The same start as the desktop app's: lock, label, writer, recorder, findings.
        let recording = Recording::start(RecordingRequest {
            session: args.session.clone(),
            endpoint,
            key,
            options,
            labels: SessionLabels::default(),
            detections: detections.map(|settings| tokio::sync::watch::channel(settings).1),
            forwarding,
        })?;
        tokio::spawn(stop_on_signal(recording.stopper()));
        let progress = tokio::spawn(progress::report(recording.status()));
        let findings = recording.findings();
        let forwarded = recording.forwarding();
        let result = recording.join().await;
        let _ = progress.await;
        let summary = result?;
        let findings = findings.borrow().clone();
        eprintln!(
            "recorded into {}: {} events, {} quarantined, {} duplicates, stream at id {}{}",
            args.session.display(),
            summary.events,
            summary.quarantined,
            summary.duplicates,
            summary.last_event_id.as_deref().unwrap_or("-"),
            if !keep_findings {
                String::new()
            } else {
                match &findings.problem {
                    Some(problem) => format!("; findings not kept: {problem}"),
                    None => format!(
                        "; {} findings (`tideline-cli findings` lists them)",
                        findings.count
                    ),
                }
            }
        );
        for destination in forwarded.borrow().iter() {
            let mut line = format!(
                "forwarded to {}: {} delivered, {} events behind",
                destination.destination, destination.delivered, destination.behind
            );
            if let Some(error) = destination
                .stopped
                .as_ref()
                .or(destination.last_error.as_ref())
            {
                line.push_str(&format!(" ({error})"));
            }
            eprintln!("{line}");
        }
        Ok(ExitCode::SUCCESS)
    })
}

fn seconds(value: f64, flag: &str) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value)
        .ok()
        .filter(|duration| !duration.is_zero())
        .with_context(|| format!("{flag} must be a positive number of seconds"))
}

/// Ctrl-C or SIGTERM: stop reading, flush what was received, leave the session consistent.
async fn stop_on_signal(cancel: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = ctrl_c => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    cancel.cancel();
}
