//! The crate's one error type.

use std::path::PathBuf;

/// Everything that can go wrong in amio-core, with the numbers that explain it.
///
/// Messages are lower-case and name the place and the rule that was broken.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A clip was given no channels.
    #[error("a clip needs at least one channel, got 0")]
    ClipNoChannels,
    /// A clip's frame rate was zero.
    #[error("a clip's frame rate must be above 0")]
    ClipFrameRate,
    /// Interleaved samples did not divide into whole frames.
    #[error("{samples} samples do not make whole frames of {channels} channels")]
    ClipPartialFrame {
        /// Number of samples given.
        samples: usize,
        /// Channel count of the clip.
        channels: usize,
    },
    /// Planar channels of a clip had different lengths.
    #[error("clip channel {channel} has {frames} frames, channel 0 has {expected}")]
    ClipChannelLength {
        /// The channel with the wrong length.
        channel: usize,
        /// Its length in frames.
        frames: usize,
        /// The length of channel 0.
        expected: usize,
    },
    /// A clip sample was NaN or infinite.
    #[error("clip sample at frame {frame}, channel {channel} is not finite ({value})")]
    ClipSampleNotFinite {
        /// Frame of the bad sample.
        frame: usize,
        /// Channel of the bad sample.
        channel: usize,
        /// The value found.
        value: f32,
    },
    /// Clips that must agree (frame rate, channels or length) do not.
    #[error("{operation}: clip {index} has {property} {got}, clip 0 has {expected} (the clips must have the same {property})")]
    ClipsDiffer {
        /// What was being done ("concatenating clips", …).
        operation: &'static str,
        /// The clip that differs from clip 0, in the order given.
        index: usize,
        /// "frame rate", "channels" or "frames".
        property: &'static str,
        /// Clip 0's value.
        expected: u64,
        /// Its value.
        got: u64,
    },
    /// An argument broke its rule.
    #[error("{argument}: {rule}")]
    Argument {
        /// The argument (and what it was for).
        argument: &'static str,
        /// The value and the rule it broke.
        rule: String,
    },
    /// An AU/SND file could not be read.
    #[error("{path}: {problem}")]
    Au {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// A WAV file could not be read or written.
    #[error("{path}: {source}")]
    Wav {
        /// The file.
        path: PathBuf,
        /// What hound reported.
        #[source]
        source: hound::Error,
    },
    /// A WAV file cannot hold what was asked (a channel count, a frame rate
    /// or a length); nothing is written.
    #[error("{path}: {rule}")]
    WavLimit {
        /// The file.
        path: PathBuf,
        /// What does not fit, and the limit.
        rule: String,
    },
    /// A path names something other than a regular file (a directory, a
    /// named pipe, a device, a socket) where amio reads or writes a file.
    /// Nothing is opened for reading or writing, so nothing blocks.
    #[error("{path}: {kind}, not a regular file")]
    NotAFile {
        /// The path.
        path: PathBuf,
        /// What it is: "a directory", "a named pipe (FIFO)"…
        kind: &'static str,
    },
    /// A WAV file uses a sample format amio does not read.
    #[error("{path}: unsupported WAV sample format: {bits}-bit {format}")]
    WavFormat {
        /// The file.
        path: PathBuf,
        /// Bits per sample.
        bits: u16,
        /// "integer" or "float".
        format: &'static str,
    },
    /// A FLAC file could not be read (not FLAC, corrupt, truncated, a shape
    /// a clip cannot take), or a clip cannot be written as FLAC (a channel
    /// count, frame rate or length FLAC cannot hold). Nothing is written
    /// when writing is refused.
    #[error("{path}: {rule}")]
    Flac {
        /// The file.
        path: PathBuf,
        /// What is wrong, and the rule it breaks.
        rule: String,
    },
    /// A FLAC file was asked for with a bit depth amio does not write.
    #[error("{path}: FLAC is written with 16 or 24 bits per sample, not {bits}")]
    FlacBits {
        /// The file.
        path: PathBuf,
        /// The bits per sample asked for.
        bits: u32,
    },
    /// A file is in no format amio reads: its extension is not one amio
    /// knows (or it has none) and its first bytes are those of no format
    /// amio reads.
    #[error("{path}: not an audio file amio reads: {}, and its first bytes are not those of WAV (RIFF…WAVE), FLAC (fLaC) or AU/SND (.snd or dns.); amio reads WAV (.wav, .wave), FLAC (.flac) and AU/SND (.au, .snd)", extension_phrase(.extension.as_deref()))]
    UnknownFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, if it has one.
        extension: Option<String>,
    },
    /// A file was to be written in a format amio does not write (chosen by
    /// its extension).
    #[error("{path}: amio does not write {}; it writes .wav (32-bit float WAV) and .flac (24-bit FLAC)", written_phrase(.extension.as_deref()))]
    UnwritableFormat {
        /// The file.
        path: PathBuf,
        /// Its extension, if it has one.
        extension: Option<String>,
    },
    /// Resampling a clip failed.
    #[error("resampling from {from} Hz to {to} Hz failed: {message}")]
    Resample {
        /// The clip's frame rate.
        from: u32,
        /// The requested frame rate.
        to: u32,
        /// What rubato reported.
        message: String,
    },
    /// A playspec entry broke one of SPEC.md's rules.
    #[error("playspec entry {entry}: {rule}")]
    Entry {
        /// Index of the entry in its playspec.
        entry: usize,
        /// The rule it broke.
        rule: EntryRule,
    },
    /// A queue between the control side and the audio thread is full.
    #[error("the {queue} queue is full ({capacity} in flight); read events and retry")]
    QueueFull {
        /// Which queue.
        queue: &'static str,
        /// Its capacity.
        capacity: usize,
    },
    /// A configuration value is out of range.
    #[error("configuration: {field} {rule}")]
    Config {
        /// The field.
        field: &'static str,
        /// The rule it broke.
        rule: String,
    },
    /// A buffer handed to the engine or a driver had the wrong size.
    #[error("{what}: expected {expected} samples, got {got}")]
    BufferSize {
        /// Which buffer.
        what: &'static str,
        /// Samples expected.
        expected: usize,
        /// Samples given.
        got: usize,
    },
    /// The stream is not running (not started yet, stopped, or its engine was lost).
    #[error("the stream is not running")]
    NotRunning,
    /// The stream is already running.
    #[error("the stream is already running")]
    AlreadyRunning,
    /// No plugin for the backend was found.
    #[error("no backend {backend:?}: no plugin {file} in {searched}")]
    NoBackend {
        /// The backend asked for.
        backend: String,
        /// The plugin file looked for.
        file: String,
        /// The directories searched.
        searched: String,
    },
    /// A plugin could not be used: not loadable, not a plugin, or of
    /// another ABI version.
    #[error("{backend}: {path}: {problem}")]
    Plugin {
        /// The backend.
        backend: String,
        /// The plugin file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
        /// Whether the problem is an ABI version mismatch.
        abi_mismatch: bool,
    },
    /// A driver reported an error.
    #[error("{backend}: {message}")]
    Driver {
        /// The backend's name.
        backend: String,
        /// What kind of failure, for hosts that act on it.
        kind: DriverErrorKind,
        /// What went wrong.
        message: String,
    },
    /// An I/O error outside of WAV handling.
    #[error("{context}: {source}")]
    Io {
        /// What was being done.
        context: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// What kind of failure a driver reported ([`Error::Driver`]): what a host
/// can act on without reading the message. The numbers cross the plugin
/// boundary and never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[repr(u32)]
pub enum DriverErrorKind {
    /// Anything else.
    Other = 1,
    /// The sound server (JACK, PulseAudio…) is not running or not reachable.
    NoServer = 2,
    /// No such device, or it went away.
    NoDevice = 3,
    /// The device is in use by another program.
    DeviceBusy = 4,
    /// The device or server cannot do what was asked (frame rate, period,
    /// channels, sample format).
    Unsupported = 5,
    /// A system library the backend needs is not installed.
    LibraryMissing = 6,
    /// The system refused access (permissions).
    PermissionDenied = 7,
}

impl DriverErrorKind {
    /// Every kind, in number order.
    pub const ALL: [DriverErrorKind; 7] = [
        DriverErrorKind::Other,
        DriverErrorKind::NoServer,
        DriverErrorKind::NoDevice,
        DriverErrorKind::DeviceBusy,
        DriverErrorKind::Unsupported,
        DriverErrorKind::LibraryMissing,
        DriverErrorKind::PermissionDenied,
    ];

    /// The kind of a number; unknown numbers are [`DriverErrorKind::Other`].
    pub fn from_u32(n: u32) -> DriverErrorKind {
        DriverErrorKind::ALL
            .into_iter()
            .find(|k| *k as u32 == n)
            .unwrap_or(DriverErrorKind::Other)
    }
}

impl Error {
    /// A driver's error of `kind` for `backend`.
    pub fn driver(backend: &str, kind: DriverErrorKind, message: impl Into<String>) -> Error {
        Error::Driver {
            backend: backend.into(),
            kind,
            message: message.into(),
        }
    }
}

/// The rule a playspec entry broke (see SPEC.md, "Playspec entry").
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum EntryRule {
    /// `a <= b` does not hold.
    #[error("range {start}..{end} runs backwards (the rule is a <= b)")]
    RangeReversed {
        /// `a`.
        start: u64,
        /// `b`.
        end: u64,
    },
    /// `b <= clip.frames` does not hold.
    #[error(
        "range {start}..{end} ends past the clip's {frames} frames (the rule is b <= clip.frames)"
    )]
    RangePastClip {
        /// `a`.
        start: u64,
        /// `b`.
        end: u64,
        /// The clip's length.
        frames: u64,
    },
    /// `r >= 0` does not hold.
    #[error("repeat {repeat} is negative (the rule is r >= 0)")]
    NegativeRepeat {
        /// The repeat given.
        repeat: i64,
    },
    /// The gain count is not the interface's output channel count.
    #[error(
        "{gains} gains for {channels} output channels (the rule is one gain per output channel)"
    )]
    GainCount {
        /// Gains given.
        gains: usize,
        /// Output channels of the interface.
        channels: usize,
    },
    /// A gain is NaN or infinite.
    #[error("gain {channel} is {gain} (the rule is: gains are finite)")]
    GainNotFinite {
        /// The output channel.
        channel: usize,
        /// The value.
        gain: f32,
    },
    /// `fade_in + fade_out <= b - a` does not hold.
    #[error("fade_in {fade_in} + fade_out {fade_out} exceeds the range's {length} frames (the rule is fade_in + fade_out <= b - a)")]
    FadesTooLong {
        /// fade_in.
        fade_in: u64,
        /// fade_out.
        fade_out: u64,
        /// `b - a`.
        length: u64,
    },
    /// The clip's frame rate is not the interface's.
    #[error("clip frame rate {clip} Hz differs from the interface's {interface} Hz (resample the clip first)")]
    FrameRateMismatch {
        /// The clip's frame rate.
        clip: u32,
        /// The interface's frame rate.
        interface: u32,
    },
}

/// "the extension .x is not one amio knows" or "it has no extension".
fn extension_phrase(extension: Option<&str>) -> String {
    match extension {
        Some(e) => format!("the extension .{e} is not one amio knows"),
        None => "it has no extension".into(),
    }
}

/// ".x files" or "files without an extension".
fn written_phrase(extension: Option<&str>) -> String {
    match extension {
        Some(e) => format!(".{e} files"),
        None => "files without an extension".into(),
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
