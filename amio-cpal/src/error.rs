//! The cpal driver's errors.

/// What can go wrong with cpal.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CpalError {
    /// No cpal host of that name here.
    #[error("no cpal host {host:?} here (available: {available})")]
    NoHost {
        /// The host asked for.
        host: String,
        /// The hosts available.
        available: String,
    },
    /// A host could not be opened.
    #[error("cpal host {host}: {source}")]
    Host {
        /// The host.
        host: String,
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
    /// Devices could not be listed.
    #[error("listing devices: {source}")]
    Devices {
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
    /// The host has no default device of that direction.
    #[error("the host has no default {which} device")]
    NoDefault {
        /// input or output.
        which: &'static str,
    },
    /// No device of that name.
    #[error("no {which} device {name:?}")]
    NoDevice {
        /// input or output.
        which: &'static str,
        /// The name asked for.
        name: String,
    },
    /// The device's configurations could not be read.
    #[error("reading the device's configurations: {source}")]
    Config {
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
    /// No configuration of the device matches.
    #[error(
        "the device offers no f32, i32 or i16 configuration with {channels} channels at {rate} Hz"
    )]
    NoMatchingConfig {
        /// Channels asked for.
        channels: usize,
        /// Frame rate asked for.
        rate: u32,
    },
    /// A stream could not be built.
    #[error("building the {which} stream: {source}")]
    Build {
        /// input or output.
        which: &'static str,
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
    /// A stream could not be started.
    #[error("starting the stream: {source}")]
    Play {
        /// What cpal said.
        #[source]
        source: cpal::Error,
    },
    /// start() before open().
    #[error("the stream is not open")]
    NotOpen,
}

impl From<CpalError> for amio_core::Error {
    fn from(e: CpalError) -> amio_core::Error {
        amio_core::Error::Driver {
            backend: "cpal".into(),
            message: e.to_string(),
        }
    }
}
