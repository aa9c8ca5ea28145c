//! The cpal driver's errors, and the kind each one is for a host
//! ([`DriverErrorKind`]).

use amio_core::DriverErrorKind;
use cpal::ErrorKind;

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
    /// cpal's JACK host made no device: it reached no JACK server (cpal
    /// makes its JACK devices, which are JACK clients, when the host is
    /// made, and never starts a server).
    #[error("cpal's JACK host reached no JACK server (is one running, under the name in JACK_DEFAULT_SERVER?)")]
    NoServer,
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

impl CpalError {
    /// What kind of failure this is, for hosts that act on it.
    pub fn kind(&self) -> DriverErrorKind {
        match self {
            // This build or machine does not offer that host.
            CpalError::NoHost { .. } => DriverErrorKind::Unsupported,
            CpalError::NoServer => DriverErrorKind::NoServer,
            CpalError::NoDefault { .. } | CpalError::NoDevice { .. } => DriverErrorKind::NoDevice,
            CpalError::NoMatchingConfig { .. } => DriverErrorKind::Unsupported,
            CpalError::Host { source, .. }
            | CpalError::Devices { source }
            | CpalError::Config { source }
            | CpalError::Build { source, .. }
            | CpalError::Play { source } => kind_of(source.kind()),
            CpalError::NotOpen => DriverErrorKind::Other,
        }
    }
}

/// The kind of one of cpal's errors.
pub(crate) fn kind_of(kind: ErrorKind) -> DriverErrorKind {
    match kind {
        ErrorKind::DeviceBusy => DriverErrorKind::DeviceBusy,
        ErrorKind::DeviceNotAvailable => DriverErrorKind::NoDevice,
        ErrorKind::HostUnavailable => DriverErrorKind::NoServer,
        ErrorKind::PermissionDenied => DriverErrorKind::PermissionDenied,
        ErrorKind::UnsupportedConfig
        | ErrorKind::UnsupportedOperation
        | ErrorKind::InvalidInput => DriverErrorKind::Unsupported,
        _ => DriverErrorKind::Other,
    }
}

impl From<CpalError> for amio_core::Error {
    fn from(e: CpalError) -> amio_core::Error {
        amio_core::Error::driver("cpal", e.kind(), e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_their_kind_to_the_host() {
        let e = |kind, message: &'static str| CpalError::Build {
            which: "output",
            source: cpal::Error::with_message(kind, message),
        };
        for (cpal_kind, kind) in [
            (ErrorKind::DeviceBusy, DriverErrorKind::DeviceBusy),
            (ErrorKind::DeviceNotAvailable, DriverErrorKind::NoDevice),
            (ErrorKind::HostUnavailable, DriverErrorKind::NoServer),
            (
                ErrorKind::PermissionDenied,
                DriverErrorKind::PermissionDenied,
            ),
            (ErrorKind::UnsupportedConfig, DriverErrorKind::Unsupported),
            (ErrorKind::BackendError, DriverErrorKind::Other),
        ] {
            match amio_core::Error::from(e(cpal_kind, "x")) {
                amio_core::Error::Driver {
                    backend, kind: got, ..
                } => {
                    assert_eq!(backend, "cpal");
                    assert_eq!(got, kind, "{cpal_kind:?}");
                }
                other => panic!("{other}"),
            }
        }
        assert_eq!(CpalError::NoServer.kind(), DriverErrorKind::NoServer);
        assert_eq!(
            CpalError::NoMatchingConfig {
                channels: 3,
                rate: 1
            }
            .kind(),
            DriverErrorKind::Unsupported
        );
        let e = amio_core::Error::from(CpalError::NoDevice {
            which: "output",
            name: "x".into(),
        });
        assert_eq!(e.to_string(), "cpal: no output device \"x\"");
    }
}
