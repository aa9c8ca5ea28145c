//! The JACK driver's errors.

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

impl From<JackError> for amio_core::Error {
    fn from(e: JackError) -> amio_core::Error {
        amio_core::Error::Driver {
            backend: "jack".into(),
            message: e.to_string(),
        }
    }
}
