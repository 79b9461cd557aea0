//! detections: the detection rules' settings file (JSON, in the app's config folder) and the
//! live copy every open session's findings keeper follows (a save rebuilds their findings).
//! Running the rules is the engine's (`detect::keeper`), started with each session.

use std::path::PathBuf;

use tideline_engine::detect::DetectionSettings;
use tokio::sync::watch;

use crate::error::CommandError;

pub struct Detections {
    file: PathBuf,
    settings: watch::Sender<DetectionSettings>,
}

impl Detections {
    /// Loads the settings file; a missing one means the defaults, a broken one is reported.
    pub fn load(file: PathBuf) -> (Detections, Option<String>) {
        let (settings, problem) = match std::fs::read_to_string(&file) {
            Err(_) => (DetectionSettings::default(), None),
            Ok(text) => match serde_json::from_str(&text) {
                Ok(settings) => (settings, None),
                Err(error) => (
                    DetectionSettings::default(),
                    Some(format!(
                        "{}: {error}; using the default detection settings",
                        file.display()
                    )),
                ),
            },
        };
        let detections = Detections {
            file,
            settings: watch::channel(settings).0,
        };
        (detections, problem)
    }

    pub fn settings(&self) -> DetectionSettings {
        self.settings.borrow().clone()
    }

    /// The settings as they are now and as they change, for a session's findings keeper.
    pub fn subscribe(&self) -> watch::Receiver<DetectionSettings> {
        self.settings.subscribe()
    }

    /// Saves the settings file and rebuilds the findings of the open session with them.
    pub fn save(&self, settings: DetectionSettings) -> Result<(), CommandError> {
        settings.validate()?;
        let write_error = |path: &std::path::Path| {
            let path = path.to_owned();
            move |source| CommandError::WriteFile { path, source }
        };
        let json = serde_json::to_vec_pretty(&settings)
            .map_err(std::io::Error::other)
            .map_err(write_error(&self.file))?;
        if let Some(folder) = self.file.parent() {
            std::fs::create_dir_all(folder).map_err(write_error(folder))?;
        }
        std::fs::write(&self.file, json).map_err(write_error(&self.file))?;
        self.settings.send_replace(settings);
        Ok(())
    }
}
