//! api_key: where the CLI finds the EventStream API key — `TIDELINE_API_KEY`, else the OS
//! keyring entry for the endpoint — and how a user puts one in the keyring. Never argv.

use std::io::Read;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;
use tideline_engine::ingest::{ApiKey, Endpoint};

pub const ENV_VAR: &str = "TIDELINE_API_KEY";
const KEYRING_SERVICE: &str = "tideline";

#[derive(Subcommand)]
pub enum KeyAction {
    /// Read a key from standard input and store it for ENDPOINT.
    Set {
        #[arg(long)]
        endpoint: String,
    },
    /// Remove the stored key for ENDPOINT.
    Delete {
        #[arg(long)]
        endpoint: String,
    },
}

/// The key for `endpoint`: the environment first, then the keyring.
pub fn resolve(endpoint: &Endpoint) -> anyhow::Result<ApiKey> {
    if let Ok(key) = std::env::var(ENV_VAR) {
        return ApiKey::new(key).with_context(|| format!("{ENV_VAR} is set but unusable"));
    }
    let stored = keyring::Entry::new(KEYRING_SERVICE, endpoint.as_str())
        .and_then(|entry| entry.get_password());
    match stored {
        Ok(key) => Ok(ApiKey::new(key).context("the key in the OS keyring is unusable")?),
        Err(keyring::Error::NoEntry) => bail!(
            "no API key: set {ENV_VAR}, or store one with `tideline-cli key set --endpoint {endpoint}`"
        ),
        Err(error) => {
            bail!("no API key: {ENV_VAR} is not set and the OS keyring is unavailable ({error})")
        }
    }
}

pub fn run(action: KeyAction) -> anyhow::Result<ExitCode> {
    match action {
        KeyAction::Set { endpoint } => {
            let endpoint = Endpoint::parse(&endpoint)?;
            let mut key = String::new();
            std::io::stdin()
                .read_to_string(&mut key)
                .context("cannot read the key from stdin")?;
            let key = ApiKey::new(key)?;
            keyring::Entry::new(KEYRING_SERVICE, endpoint.as_str())
                .and_then(|entry| entry.set_password(key.expose()))
                .context("cannot store the key in the OS keyring")?;
            eprintln!("stored the API key for {endpoint} in the OS keyring");
        }
        KeyAction::Delete { endpoint } => {
            let endpoint = Endpoint::parse(&endpoint)?;
            keyring::Entry::new(KEYRING_SERVICE, endpoint.as_str())
                .and_then(|entry| entry.delete_credential())
                .context("cannot delete the key from the OS keyring")?;
            eprintln!("deleted the API key for {endpoint}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
