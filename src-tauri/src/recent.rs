//! recent: the File ▸ Open Recent list, kept in the app's config folder as JSON.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

const KEEP: usize = 10;

pub struct RecentSessions {
    file: PathBuf,
    paths: Mutex<Vec<String>>,
}

impl RecentSessions {
    /// Loads the list from `file`; a missing or unreadable file is an empty list.
    pub fn load(file: PathBuf) -> RecentSessions {
        let paths = std::fs::read(&file)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Vec<String>>(&bytes).ok())
            .unwrap_or_default();
        RecentSessions {
            file,
            paths: Mutex::new(paths),
        }
    }

    pub fn list(&self) -> Vec<String> {
        self.lock().clone()
    }

    /// Puts `path` first; saving is best effort (a read-only config folder only loses history).
    pub fn add(&self, path: &Path) {
        let path = path.display().to_string();
        let mut paths = self.lock();
        paths.retain(|known| *known != path);
        paths.insert(0, path);
        paths.truncate(KEEP);
        if let Some(folder) = self.file.parent() {
            let _ = std::fs::create_dir_all(folder);
        }
        if let Ok(json) = serde_json::to_vec_pretty(&*paths) {
            let _ = std::fs::write(&self.file, json);
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.paths
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_newest_comes_first_without_repeats_and_the_list_survives_a_restart() {
        let dir = tempfile::TempDir::new().unwrap();
        let file = dir.path().join("config/recent.json");
        let recent = RecentSessions::load(file.clone());
        for name in ["a", "b", "a"] {
            recent.add(Path::new(name));
        }
        assert_eq!(recent.list(), ["a", "b"]);
        for i in 0..20 {
            recent.add(Path::new(&format!("s{i}")));
        }
        assert_eq!(RecentSessions::load(file).list().len(), KEEP);
    }
}
