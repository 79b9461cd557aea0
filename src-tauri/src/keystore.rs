//! keystore: where the EventStream API key is kept — the OS keyring (Secret Service on Linux),
//! or, where none is available, this process's memory for this run only. Never a plain file,
//! and never sent back to the page.

use serde::Serialize;
use tideline_engine::ingest::{ApiKey, Endpoint};

const SERVICE: &str = "tideline";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyStorage {
    Keyring,
    Memory,
}

/// The key stored for `endpoint`, if the keyring is there and has one.
pub fn load(endpoint: &Endpoint) -> Option<ApiKey> {
    let entry = keyring::Entry::new(SERVICE, endpoint.as_str()).ok()?;
    ApiKey::new(entry.get_password().ok()?).ok()
}

/// Stores `key` for `endpoint`; says where it went and, if not the keyring, why.
pub fn store(endpoint: &Endpoint, key: &ApiKey) -> (KeyStorage, Option<String>) {
    let stored = keyring::Entry::new(SERVICE, endpoint.as_str())
        .and_then(|entry| entry.set_password(key.expose()));
    match stored {
        Ok(()) => (KeyStorage::Keyring, None),
        Err(error) => (
            KeyStorage::Memory,
            Some(format!(
                "No OS keyring is available ({error}); the API key is kept in memory for this run only."
            )),
        ),
    }
}
