//! auditlog::inventory: the last known configuration of each asset, for enrichment. An
//! audit-log record says what a call did, not what the asset looked like; the previous
//! configuration comes from what this session already knows (its stored events, then the
//! records before this one in the import), and the new one is rebuilt from it where the call
//! says enough.
//!
//! Only known configurations are kept (an unknown one is forgotten, a deleted asset removed),
//! so memory grows with the assets whose configuration is known, not with the records.

use std::collections::HashMap;

use crate::json::Value;

/// Reads an asset's last configuration from outside the import (the session's stored events);
/// `None` when it has none or it is unknown.
pub type PriorLookup<'a> = Box<dyn FnMut(&str) -> Option<Value> + 'a>;

/// Asset name → last known configuration.
pub struct Inventory<'a> {
    known: HashMap<String, Option<Value>>,
    prior: Option<PriorLookup<'a>>,
}

impl<'a> Inventory<'a> {
    /// An inventory that knows nothing before the import (a replay, a test).
    pub fn empty() -> Inventory<'static> {
        Inventory {
            known: HashMap::new(),
            prior: None,
        }
    }

    /// An inventory that asks `prior` the first time it meets an asset.
    pub fn with_prior(prior: PriorLookup<'a>) -> Inventory<'a> {
        Inventory {
            known: HashMap::new(),
            prior: Some(prior),
        }
    }

    /// The last known configuration of `asset`, if any.
    pub fn config(&mut self, asset: &str) -> Option<Value> {
        if let Some(known) = self.known.get(asset) {
            return known.clone();
        }
        let found = self.prior.as_mut().and_then(|prior| prior(asset));
        if found.is_some() {
            self.known.insert(asset.to_owned(), found.clone());
        }
        found
    }

    /// Records `asset`'s configuration after a change: `None` when it is now unknown or the
    /// asset is gone (a later record must not see a stale one).
    pub fn set(&mut self, asset: &str, config: Option<Value>) {
        match config {
            Some(config) => {
                self.known.insert(asset.to_owned(), Some(config));
            }
            // Remembered as unknown, so the session's older configuration is not read again.
            None => {
                self.known.insert(asset.to_owned(), None);
            }
        }
    }
}
