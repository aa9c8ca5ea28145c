//! The ALSA driver's errors.

/// What can go wrong with ALSA devices.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AlsaError {
    /// A PCM could not be opened.
    #[error("cannot open PCM {device:?}: {source}")]
    Open {
        /// The PCM's name.
        device: String,
        /// What ALSA said.
        #[source]
        source: alsa::Error,
    },
    /// A PCM refused a setting.
    #[error("PCM {device:?}: {what}: {source}")]
    Setup {
        /// The PCM's name.
        device: String,
        /// The setting.
        what: &'static str,
        /// What ALSA said.
        #[source]
        source: alsa::Error,
    },
    /// A PCM offers none of f32, s32, s24, s16.
    #[error("PCM {device:?} offers none of f32, s32, s24 and s16 (wrap it in a plug PCM)")]
    NoFormat {
        /// The PCM's name.
        device: String,
    },
    /// A PCM refused the sample format asked for.
    #[error("PCM {device:?} does not take {format} samples: {source}")]
    Format {
        /// The PCM's name.
        device: String,
        /// The format.
        format: &'static str,
        /// What ALSA said.
        #[source]
        source: alsa::Error,
    },
    /// A PCM refused the channel count.
    #[error("PCM {device:?} does not take {channels} channels: {source}")]
    Channels {
        /// The PCM's name.
        device: String,
        /// The channels asked for.
        channels: usize,
        /// What ALSA said.
        #[source]
        source: alsa::Error,
    },
    /// A PCM runs at another rate.
    #[error(
        "PCM {device:?} runs at {got} Hz, {requested} Hz was asked for (use a plug PCM to convert)"
    )]
    Rate {
        /// The PCM's name.
        device: String,
        /// The rate asked for.
        requested: u32,
        /// The rate it offers.
        got: u32,
    },
    /// Playback and capture settled on different periods.
    #[error("playback runs {playback}-frame periods, capture {capture}: they must match")]
    PeriodMismatch {
        /// Playback's period.
        playback: usize,
        /// Capture's period.
        capture: usize,
    },
    /// The device list could not be read.
    #[error("listing PCMs: {source}")]
    Hints {
        /// What ALSA said.
        #[source]
        source: alsa::Error,
    },
    /// start() before open().
    #[error("the stream is not open")]
    NotOpen,
}

impl From<AlsaError> for amio_core::Error {
    fn from(e: AlsaError) -> amio_core::Error {
        amio_core::Error::Driver {
            backend: "alsa".into(),
            message: e.to_string(),
        }
    }
}
