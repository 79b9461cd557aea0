//! The library's error type: everything `start` and `parse_faults` can refuse.

use std::path::PathBuf;

/// Why the simulator could not be configured or started.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A `--faults` spec that does not parse.
    #[error("invalid fault spec {spec:?}: {reason}")]
    InvalidFaults { spec: String, reason: String },

    /// A scenario name other than `seed-incident` or `load`.
    #[error("unknown scenario {0:?} (expected `seed-incident` or `load`)")]
    UnknownScenario(String),

    /// A setting out of range (zero rate, zero keep-alive interval, ...).
    #[error("invalid setting: {0}")]
    InvalidSetting(String),

    /// The replay file could not be read.
    #[error("cannot read replay file {path}")]
    ReadReplay {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The replay file was read but holds nothing to send.
    #[error("replay file {path} holds no change events")]
    EmptyReplay { path: PathBuf },

    /// Binding the listening socket failed.
    #[error("cannot listen on 127.0.0.1:{port}")]
    Bind {
        port: u16,
        #[source]
        source: std::io::Error,
    },
}
