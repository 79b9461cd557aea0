//! dialogs: the native file dialogs (tauri-plugin-dialog), run off the async runtime.

use std::path::PathBuf;

use tauri::AppHandle;
use tauri_plugin_dialog::DialogExt;

use crate::error::CommandError;

/// What the dialog is for.
pub enum FileDialog {
    Open {
        title: &'static str,
        filter: (&'static str, &'static [&'static str]),
        /// The folder the dialog starts in, when it exists.
        folder: Option<PathBuf>,
    },
    Save {
        title: &'static str,
        suggested: String,
        filter: Option<(&'static str, &'static [&'static str])>,
    },
    /// A folder (walked recursively by what reads it).
    OpenFolder { title: &'static str },
}

/// Shows the dialog; `None` when the user cancels it.
pub async fn choose_file(
    app: AppHandle,
    dialog: FileDialog,
) -> Result<Option<PathBuf>, CommandError> {
    let picked = tauri::async_runtime::spawn_blocking(move || {
        let builder = app.dialog().file();
        match dialog {
            FileDialog::Open {
                title,
                filter: (name, extensions),
                folder,
            } => {
                let builder = match folder.filter(|folder| folder.is_dir()) {
                    Some(folder) => builder.set_directory(folder),
                    None => builder,
                };
                builder
                    .set_title(title)
                    .add_filter(name, extensions)
                    .blocking_pick_file()
            }
            FileDialog::OpenFolder { title } => builder.set_title(title).blocking_pick_folder(),
            FileDialog::Save {
                title,
                suggested,
                filter,
            } => {
                let builder = builder.set_title(title).set_file_name(suggested);
                match filter {
                    Some((name, extensions)) => {
                        builder.add_filter(name, extensions).blocking_save_file()
                    }
                    None => builder.blocking_save_file(),
                }
            }
        }
    })
    .await
    .map_err(CommandError::Background)?;
    picked
        .map(|file| {
            file.into_path()
                .map_err(|error| CommandError::FileDialog(error.into()))
        })
        .transpose()
}
