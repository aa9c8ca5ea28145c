//! The ALSA driver's errors, and the kind each is for a host
//! ([`DriverErrorKind`]).

use amio_core::DriverErrorKind;

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

impl AlsaError {
    /// What kind of failure this is, for a host that acts on it: a missing
    /// PCM (`ENOENT`, `ENODEV`, `ENXIO`) is [`DriverErrorKind::NoDevice`],
    /// one in use (`EBUSY`) [`DriverErrorKind::DeviceBusy`], one refused
    /// (`EACCES`, `EPERM`) [`DriverErrorKind::PermissionDenied`]; a rate,
    /// format, channel count or period the device does not take (ALSA's
    /// `EINVAL` while setting it) is [`DriverErrorKind::Unsupported`].
    pub fn kind(&self) -> DriverErrorKind {
        match self {
            AlsaError::Open { source, .. } | AlsaError::Hints { source } => {
                by_errno(source).unwrap_or(DriverErrorKind::Other)
            }
            AlsaError::Setup { source, .. }
            | AlsaError::Format { source, .. }
            | AlsaError::Channels { source, .. } => {
                by_errno(source).unwrap_or(if source.errno() == libc::EINVAL {
                    DriverErrorKind::Unsupported
                } else {
                    DriverErrorKind::Other
                })
            }
            AlsaError::NoFormat { .. }
            | AlsaError::Rate { .. }
            | AlsaError::PeriodMismatch { .. } => DriverErrorKind::Unsupported,
            AlsaError::NotOpen => DriverErrorKind::Other,
        }
    }
}

/// The kinds an errno says by itself, whatever was being done.
fn by_errno(e: &alsa::Error) -> Option<DriverErrorKind> {
    match e.errno() {
        libc::ENOENT | libc::ENODEV | libc::ENXIO => Some(DriverErrorKind::NoDevice),
        libc::EBUSY => Some(DriverErrorKind::DeviceBusy),
        libc::EACCES | libc::EPERM => Some(DriverErrorKind::PermissionDenied),
        _ => None,
    }
}

impl From<AlsaError> for amio_core::Error {
    fn from(e: AlsaError) -> amio_core::Error {
        amio_core::Error::driver("alsa", e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(errno: i32) -> AlsaError {
        AlsaError::Open {
            device: "hw:9".into(),
            source: alsa::Error::new("snd_pcm_open", errno),
        }
    }

    #[test]
    fn errors_carry_their_kind() {
        assert_eq!(open(libc::ENOENT).kind(), DriverErrorKind::NoDevice);
        assert_eq!(open(libc::ENODEV).kind(), DriverErrorKind::NoDevice);
        assert_eq!(open(libc::EBUSY).kind(), DriverErrorKind::DeviceBusy);
        assert_eq!(open(libc::EACCES).kind(), DriverErrorKind::PermissionDenied);
        assert_eq!(open(libc::EPERM).kind(), DriverErrorKind::PermissionDenied);
        assert_eq!(open(libc::EIO).kind(), DriverErrorKind::Other);
        let setup = |errno| AlsaError::Setup {
            device: "hw:0".into(),
            what: "the period size",
            source: alsa::Error::new("snd_pcm_hw_params_set_period_size_near", errno),
        };
        assert_eq!(setup(libc::EINVAL).kind(), DriverErrorKind::Unsupported);
        assert_eq!(setup(libc::EBUSY).kind(), DriverErrorKind::DeviceBusy);
        let rate = AlsaError::Rate {
            device: "hw:0".into(),
            requested: 44_100,
            got: 48_000,
        };
        assert_eq!(rate.kind(), DriverErrorKind::Unsupported);
        match amio_core::Error::from(rate) {
            amio_core::Error::Driver {
                backend,
                kind,
                message,
            } => {
                assert_eq!(
                    (backend.as_str(), kind),
                    ("alsa", DriverErrorKind::Unsupported)
                );
                assert!(message.contains("44100 Hz"), "{message}");
            }
            e => panic!("{e:?}"),
        }
    }
}
