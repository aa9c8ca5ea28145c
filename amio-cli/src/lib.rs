//! The `amio` command's library: session files and the commands.
//!
//! `amio render`, `play`, `record`, `devices` and `latency` choose backends
//! by name through amio-core's backend loader: `null` is built in, every
//! other backend is a plugin found beside the program or on
//! `AMIO_PLUGIN_PATH`.
//!
//! Every number that reaches an allocation or a loop bound is checked
//! against [`limits`]; every file is written beside its target and renamed
//! into place when complete ([`output`]); SIGINT and SIGTERM stop a command
//! cleanly ([`signals`]).

pub mod commands;
pub mod limits;
pub mod output;
pub mod session;
pub mod signals;
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
    /// A signal (SIGINT, SIGTERM) stopped the command.
    #[error("stopped by {}: {message}", signals::name(*.signal))]
    Interrupted {
        /// The signal's number.
        signal: i32,
        /// What was kept and what was not written.
        message: String,
    },
}

impl CliError {
    /// The process's exit status for this error: 128 + the signal's number
    /// when a signal stopped the command (130 for SIGINT, 143 for SIGTERM),
    /// else 1.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Interrupted { signal, .. } => {
                u8::try_from(128 + signal.rem_euclid(128)).unwrap_or(1)
            }
            _ => 1,
        }
    }
}
