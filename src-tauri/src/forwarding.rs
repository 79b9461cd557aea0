//! forwarding: the forwarding file (JSON routes, in the app's config folder) that recordings the
//! app starts forward by, edited in the Forwarding dialog, and the destinations' secrets, read
//! from the OS keyring (the same entries `tideline-cli forward secret set` writes). Running the
//! forwarding is the engine's (`forward`), started with each recording.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;
use tideline_engine::forward::{ForwardingRules, SecretSource};
use tideline_engine::recording::Forwarding;

use crate::error::CommandError;

const KEYRING_SERVICE: &str = "tideline-forwarding";

/// Shown in the dialog when there is no forwarding file yet: a route that does nothing until
/// the analyst points it somewhere.
const EXAMPLE: &str = r#"{
  "routes": [
    {
      "match": {"change": ["create", "update", "delete"], "asset_type": ["network.firewall", "iam.user"]},
      "to": [{"kind": "webhook", "url": "http://127.0.0.1:9000/hook"}]
    }
  ]
}
"#;

pub struct ForwardingFile {
    file: PathBuf,
}

/// The forwarding file as the dialog shows it.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct ForwardingText {
    pub path: String,
    /// The file's text, or an example when there is none.
    pub text: String,
    /// Whether the file exists: recordings forward only then.
    pub exists: bool,
}

impl ForwardingFile {
    pub fn new(file: PathBuf) -> ForwardingFile {
        ForwardingFile { file }
    }

    pub fn text(&self) -> ForwardingText {
        let text = std::fs::read_to_string(&self.file).ok();
        ForwardingText {
            path: self.file.display().to_string(),
            exists: text.is_some(),
            text: text.unwrap_or_else(|| EXAMPLE.to_owned()),
        }
    }

    /// Checks and saves the text; the next recording forwards by it. An empty text removes the
    /// file (no forwarding).
    pub fn save(&self, text: &str) -> Result<(), CommandError> {
        let write_error = |source| CommandError::WriteFile {
            path: self.file.clone(),
            source,
        };
        if text.trim().is_empty() {
            return match std::fs::remove_file(&self.file) {
                Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                    Err(write_error(error))
                }
                _ => Ok(()),
            };
        }
        ForwardingRules::parse(text)?;
        if let Some(folder) = self.file.parent() {
            std::fs::create_dir_all(folder).map_err(write_error)?;
        }
        std::fs::write(&self.file, text).map_err(write_error)
    }

    /// What a recording forwards by: the rules and their secrets (read from the keyring now:
    /// call it off the async runtime), or `None` without a file. A broken file is reported and
    /// forwards nothing.
    pub fn for_recording(&self) -> Option<Forwarding> {
        let text = std::fs::read_to_string(&self.file).ok()?;
        let rules = match ForwardingRules::parse(&text) {
            Ok(rules) => rules,
            Err(error) => {
                eprintln!("tideline: {}: {error}; not forwarding", self.file.display());
                return None;
            }
        };
        let mut secrets = BTreeMap::new();
        for config in rules.destinations().values() {
            for name in config.secret_names() {
                let stored = keyring::Entry::new(KEYRING_SERVICE, &name)
                    .and_then(|entry| entry.get_password());
                if let Ok(value) = stored {
                    secrets.insert(name, value);
                }
            }
        }
        Some(Forwarding {
            rules,
            secrets: Arc::new(KeyringSecrets(secrets)),
        })
    }
}

struct KeyringSecrets(BTreeMap<String, String>);

impl SecretSource for KeyringSecrets {
    fn secret(&self, name: &str) -> Option<String> {
        self.0.get(name).cloned()
    }
}
