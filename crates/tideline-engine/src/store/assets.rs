//! assets: the latest known state of each asset the session has seen.

use std::collections::HashMap;

use rusqlite::OptionalExtension;

use super::{Session, StoreError};

impl Session {
    /// Of `names`, the assets this session has seen, with their display names.
    pub fn known_assets(
        &self,
        names: &[&str],
    ) -> Result<HashMap<String, Option<String>>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT display_name FROM assets WHERE name = ?1")?;
        let mut known = HashMap::new();
        for name in names {
            if let Some(display) = statement
                .query_row([name], |row| row.get::<_, Option<String>>("display_name"))
                .optional()?
            {
                known.insert((*name).to_owned(), display);
            }
        }
        Ok(known)
    }
}
