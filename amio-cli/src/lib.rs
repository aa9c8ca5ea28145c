//! The `amio` command's library: session files and the commands.
//!
//! `amio render`, `play`, `record`, `devices` and `latency` choose backends
//! by name through amio-core's backend loader: `null` is built in, every
//! other backend is a plugin found beside the program or on
//! `AMIO_PLUGIN_PATH`.

pub mod commands;
pub mod output;
pub mod session;
mod status;

use std::path::PathBuf;

/// Why a command failed; its `Display` is the one line the user sees.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The session file was refused.
    #[error(transparent)]
    Session(#[from] session::SessionError),
    /// amio refused or failed.
    #[error(transparent)]
    Amio(#[from] amio_core::Error),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The command line does not make sense.
    #[error("{0}")]
    Usage(String),
    /// The stream failed while running.
    #[error("{0}")]
    Failed(String),
}
