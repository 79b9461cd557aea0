//! forward: `tideline-cli forward` — send a session's stored changes and findings to the
//! destinations of a forwarding file (a backfill, from `--since`), show each destination's
//! state, and keep the destinations' secrets in the OS keyring. `record --forward FILE` runs
//! the same forwarding beside a recording.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use tideline_engine::forward::{self, DestinationStatus, ForwardingRules, SecretSource};
use tideline_engine::store::Session;
use tokio_util::sync::CancellationToken;

const KEYRING_SERVICE: &str = "tideline-forwarding";
const ENV_PREFIX: &str = "TIDELINE_SECRET_";

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ForwardArgs {
    #[command(subcommand)]
    command: Option<ForwardCommand>,
    #[command(flatten)]
    send: Option<SendArgs>,
}

/// `forward --session S --forward FILE [--since TIME]`: send what is stored (a backfill).
#[derive(Args)]
struct SendArgs {
    #[arg(long)]
    session: PathBuf,
    /// The forwarding file (JSON routes).
    #[arg(long = "forward", value_name = "FILE")]
    rules: PathBuf,
    /// Only events at or after this time (RFC 3339, or a date).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Give up on destinations that still fail after this long (what is pending stays pending
    /// for the next run).
    #[arg(long, value_name = "SECS", default_value_t = 120.0)]
    timeout: f64,
}

#[derive(Subcommand)]
enum ForwardCommand {
    /// Each destination's state in this session: delivered, behind, failing since, last error.
    Status {
        #[arg(long)]
        session: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Keep a destination's secret (a token, an HMAC key, a Slack webhook URL) in the OS
    /// keyring under NAME, read from standard input; the forwarding file names it.
    Secret {
        #[command(subcommand)]
        action: SecretAction,
    },
}

#[derive(Subcommand)]
enum SecretAction {
    Set { name: String },
    Delete { name: String },
}

pub fn run(args: ForwardArgs) -> anyhow::Result<ExitCode> {
    match (args.command, args.send) {
        (Some(ForwardCommand::Status { session, json }), _) => status(&session, json),
        (Some(ForwardCommand::Secret { action }), _) => secret(action),
        (None, Some(send)) => send_stored(send),
        (None, None) => bail!("give --session and --forward, or `status` or `secret`"),
    }
}

/// Reads and checks a forwarding file.
pub fn read_rules(path: &Path) -> anyhow::Result<ForwardingRules> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the forwarding file {}", path.display()))?;
    ForwardingRules::parse(&text).with_context(|| format!("in {}", path.display()))
}

/// The secrets `rules` name, read now (from `TIDELINE_SECRET_<NAME>` or the keyring) so that
/// no keyring call runs inside the async runtime; a missing one stops only its destination.
pub fn secrets_for(rules: &ForwardingRules) -> Arc<dyn SecretSource> {
    let mut found = BTreeMap::new();
    for config in rules.destinations().values() {
        for name in config.secret_names() {
            if let Some(value) = lookup(&name) {
                found.insert(name, value);
            }
        }
    }
    Arc::new(Secrets(found))
}

struct Secrets(BTreeMap<String, String>);

impl SecretSource for Secrets {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}

fn env_name(name: &str) -> String {
    let upper: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("{ENV_PREFIX}{upper}")
}

fn lookup(name: &str) -> Option<String> {
    if let Ok(value) = std::env::var(env_name(name)) {
        return Some(value);
    }
    keyring::Entry::new(KEYRING_SERVICE, name)
        .and_then(|entry| entry.get_password())
        .ok()
}

fn secret(action: SecretAction) -> anyhow::Result<ExitCode> {
    match action {
        SecretAction::Set { name } => {
            let mut value = String::new();
            std::io::stdin()
                .read_to_string(&mut value)
                .context("cannot read the secret from standard input")?;
            let value = value.trim_end_matches(['\r', '\n']);
            if value.is_empty() {
                bail!("no secret on standard input");
            }
            keyring::Entry::new(KEYRING_SERVICE, &name)
                .and_then(|entry| entry.set_password(value))
                .context("the OS keyring refused the secret")?;
            eprintln!("stored the secret {name} in the OS keyring");
        }
        SecretAction::Delete { name } => {
            keyring::Entry::new(KEYRING_SERVICE, &name)
                .and_then(|entry| entry.delete_credential())
                .context("the OS keyring could not delete the secret")?;
            eprintln!("deleted the secret {name}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn send_stored(args: SendArgs) -> anyhow::Result<ExitCode> {
    let rules = read_rules(&args.rules)?;
    let since_us = args.since.as_deref().map(parse_since).transpose()?;
    let secrets = secrets_for(&rules);
    let timeout = std::time::Duration::try_from_secs_f64(args.timeout)
        .context("--timeout must be a number of seconds")?;
    let runtime = tokio::runtime::Runtime::new().context("cannot start the async runtime")?;
    let (status, last) = tokio::sync::watch::channel(Vec::new());
    let run = forward::run(
        args.session.clone(),
        rules,
        secrets,
        forward::Follow::UntilCaughtUp,
        since_us,
        CancellationToken::new(),
        status,
    );
    let report = match runtime.block_on(async { tokio::time::timeout(timeout, run).await }) {
        Ok(report) => report?,
        Err(_) => last.borrow().clone(),
    };
    print_statuses(&report);
    let failed = report
        .iter()
        .any(|d| d.stopped.is_some() || d.failing_since.is_some());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `--since`: an RFC 3339 time, or a date (its midnight, UTC); microseconds since the epoch.
fn parse_since(text: &str) -> anyhow::Result<i64> {
    if let Ok(time) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(time.timestamp_micros());
    }
    let date = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .with_context(|| format!("--since {text:?} is neither an RFC 3339 time nor a date"))?;
    Ok(date
        .and_time(chrono::NaiveTime::MIN)
        .and_utc()
        .timestamp_micros())
}

fn status(session: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let session = Session::open(session)?;
    let newest = session.newest_seq()?.unwrap_or(0);
    let statuses: Vec<DestinationStatus> = session
        .forward_cursors()?
        .iter()
        .map(|(name, cursor)| DestinationStatus::of(name, cursor, newest))
        .collect();
    if json {
        println!("{}", serde_json::to_string_pretty(&statuses)?);
    } else if statuses.is_empty() {
        eprintln!("nothing has been forwarded from this session");
    } else {
        print_statuses(&statuses);
    }
    Ok(ExitCode::SUCCESS)
}

fn print_statuses(statuses: &[DestinationStatus]) {
    for status in statuses {
        let mut line = format!(
            "{}: {} delivered, {} events behind",
            status.destination, status.delivered, status.behind
        );
        if let Some(since) = &status.failing_since {
            line.push_str(&format!(", failing since {since}"));
        }
        if let Some(stopped) = &status.stopped {
            line.push_str(&format!(", STOPPED: {stopped}"));
        } else if let Some(error) = &status.last_error {
            line.push_str(&format!(", last error: {error}"));
        }
        eprintln!("{line}");
    }
}
