//! The JACK driver's errors, and the [`DriverErrorKind`] each one is to a
//! host.

use amio_core::DriverErrorKind;

/// What can go wrong talking to JACK.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JackError {
    /// libjack could not be loaded: JACK is not installed.
    #[error("libjack could not be loaded ({message}); install JACK (Debian: jackd2) to use the jack backend")]
    Library {
        /// What the loader said.
        message: String,
    },
    /// No JACK server answered.
    #[error("no JACK server {server:?} is running (JACK status {status:#x}); start one first, amio does not start servers")]
    NoServer {
        /// The server's name.
        server: String,
        /// JACK's status bits.
        status: u32,
    },
    /// A name contained a NUL byte.
    #[error("{what} {name:?} contains a NUL byte")]
    BadName {
        /// What the name was for.
        what: &'static str,
        /// The name.
        name: String,
    },
    /// The server runs at another frame rate than the one asked for.
    #[error("the JACK server {server:?} runs at {actual} Hz, {requested} Hz was asked for")]
    FrameRate {
        /// The server's name.
        server: String,
        /// The server's rate.
        actual: u32,
        /// The rate asked for.
        requested: u32,
    },
    /// A port list had the wrong length.
    #[error("{what}: {given} names for {expected} ports")]
    PortCount {
        /// Which list.
        what: &'static str,
        /// Names given.
        given: usize,
        /// Ports.
        expected: usize,
    },
    /// A port could not be registered.
    #[error("registering port {port:?}: {source}")]
    Register {
        /// The port's short name.
        port: String,
        /// What JACK said.
        #[source]
        source: jack::Error,
    },
    /// Two ports could not be connected.
    #[error("connecting {from:?} to {to:?}: {source}")]
    Connect {
        /// The source port.
        from: String,
        /// The destination port.
        to: String,
        /// What JACK said.
        #[source]
        source: jack::Error,
    },
    /// A port named in the connections does not exist.
    #[error("there is no JACK port {port:?} to connect to")]
    NoPort {
        /// The port's full name.
        port: String,
    },
    /// Another JACK call failed.
    #[error("{context}: {source}")]
    Jack {
        /// What was being done.
        context: &'static str,
        /// What JACK said.
        #[source]
        source: jack::Error,
    },
    /// start() before open().
    #[error("the stream is not open")]
    NotOpen,
}

impl JackError {
    /// What a host can act on without reading the message: no server, no
    /// library, a frame rate the server does not run, a peer port that does
    /// not exist, or something else.
    pub fn kind(&self) -> DriverErrorKind {
        match self {
            JackError::Library { .. } => DriverErrorKind::LibraryMissing,
            JackError::NoServer { .. } => DriverErrorKind::NoServer,
            JackError::FrameRate { .. } => DriverErrorKind::Unsupported,
            // A peer named in the connections that JACK does not know (or
            // that went away) is the device that is missing.
            JackError::NoPort { .. } => DriverErrorKind::NoDevice,
            JackError::BadName { .. }
            | JackError::Connect { .. }
            | JackError::PortCount { .. }
            | JackError::Register { .. }
            | JackError::Jack { .. }
            | JackError::NotOpen => DriverErrorKind::Other,
        }
    }
}

impl From<JackError> for amio_core::Error {
    fn from(e: JackError) -> amio_core::Error {
        amio_core::Error::driver("jack", e.kind(), e.to_string())
    }
}
