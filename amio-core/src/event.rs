//! Events from the engine and the driver to the control side (SPEC.md,
//! "Events to the control side").

/// What became of a scheduled playspec change. Every id gets exactly one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// The change's playspec became current.
    Applied,
    /// A newer change replaced it while it was still pending.
    Superseded,
    /// The interface closed while it was still pending (or before the engine
    /// saw it).
    Dropped,
}

impl OutcomeKind {
    /// The lower-case name used in event logs: `applied`, `superseded`,
    /// `dropped`.
    pub fn name(self) -> &'static str {
        match self {
            OutcomeKind::Applied => "applied",
            OutcomeKind::Superseded => "superseded",
            OutcomeKind::Dropped => "dropped",
        }
    }
}

/// The outcome of one scheduled change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Outcome {
    /// The id [`crate::Interface::schedule`] returned.
    pub id: u64,
    /// Applied, superseded or dropped.
    pub kind: OutcomeKind,
    /// Applied: the stream frame at which the playspec became current.
    /// Superseded: the stream frame at which the newer change took effect.
    /// Dropped: the stream frame at which the interface closed.
    pub stream_frame: u64,
    /// Applied: the new position `start_from + (p - insert_at)`. Otherwise
    /// the position at `stream_frame`.
    pub position: i64,
}

/// Where the engine is: after processing every stream frame before
/// `stream_frame`, the next frame plays playspec `id` at `position`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct PositionReport {
    /// The next stream frame to be processed (= frames processed so far).
    pub stream_frame: u64,
    /// The id of the current playspec (0: the initial empty one).
    pub id: u64,
    /// The position of the next frame (before any command at that frame).
    pub position: i64,
    /// Whether the transport is rolling.
    pub rolling: bool,
}

/// What kind of fatal driver error ended the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FaultKind {
    /// The sound server went away (for example jackd was killed).
    ServerGone = 1,
    /// The device vanished or stopped answering.
    DeviceGone = 2,
    /// The stream failed in another way the driver could not recover from.
    StreamFailed = 3,
    /// The driver's audio thread ended unexpectedly.
    ThreadFailed = 4,
}

impl FaultKind {
    pub(crate) fn from_u8(v: u8) -> FaultKind {
        match v {
            1 => FaultKind::ServerGone,
            2 => FaultKind::DeviceGone,
            4 => FaultKind::ThreadFailed,
            _ => FaultKind::StreamFailed,
        }
    }
}

/// Something about how the driver runs that the host should know, though
/// the stream runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Notice {
    /// The audio thread could not get real-time priority and runs at
    /// normal priority: more xruns are likely under load.
    NoRealtimePriority = 0,
    /// The device is not paced by a clock (it took audio as fast as it was
    /// given), so the driver paces it by the system clock.
    PacedByClock = 1,
}

impl Notice {
    /// Every notice, by bit.
    pub(crate) const ALL: [Notice; 2] = [Notice::NoRealtimePriority, Notice::PacedByClock];

    pub(crate) fn bit(self) -> u64 {
        1 << (self as u8)
    }

    /// A short description.
    pub fn describe(self) -> &'static str {
        match self {
            Notice::NoRealtimePriority => "the audio thread runs without real-time priority",
            Notice::PacedByClock => "the device is not paced by a clock; the driver paces it",
        }
    }
}

/// A fatal error reported by the driver: the stream no longer runs.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DriverFault {
    /// What kind of failure.
    pub kind: FaultKind,
    /// The driver's explanation.
    pub message: String,
}

/// An event for the control side.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// A scheduled change was applied, superseded or dropped.
    Outcome(Outcome),
    /// A position report, sent once per period.
    Position(PositionReport),
    /// The driver reported `new` xruns (over- or underruns) before stream
    /// frame `stream_frame`; `count` is the total so far.
    Xrun {
        /// The first stream frame processed after the xrun.
        stream_frame: u64,
        /// Xruns reported since the previous xrun event.
        new: u64,
        /// Xruns so far.
        count: u64,
    },
    /// Captured input frames were dropped because the control side read too
    /// slowly; the next input chunk carries the count too.
    InputLost {
        /// The first stream frame of the period that lost them.
        stream_frame: u64,
        /// Frames lost in that period.
        frames: u64,
    },
    /// The round-trip latency `L` used for input tags, from this stream frame
    /// on. Sent when the stream starts and whenever it changes.
    Latency {
        /// The first stream frame tagged with the new latency.
        stream_frame: u64,
        /// `L` in frames: capture + playback + extra, at most the configured
        /// maximum.
        frames: u64,
        /// capture + playback + extra as asked for (above `frames` only when
        /// it exceeded the maximum).
        requested: u64,
    },
    /// Events (position reports, xrun and latency notices) were dropped
    /// because the control side read too slowly. Outcomes are never dropped.
    EventsLost {
        /// Events dropped since the last such notice.
        count: u64,
    },
    /// The driver says something about how it runs (once per notice).
    Notice {
        /// The first stream frame processed after the notice.
        stream_frame: u64,
        /// What.
        notice: Notice,
    },
    /// The driver failed; the stream no longer runs.
    Fatal(DriverFault),
    /// Live meter levels of the input and output over a period or window
    /// ([`crate::Config::metering`]).
    Meter(crate::meter::Meter),
    /// Frames of a streamed clip whose data was not ready when they were
    /// mixed: they played as silence; nothing else in the mix changed.
    DataMissing {
        /// The stream frame of the first silent frame.
        stream_frame: u64,
        /// The clip's file ([`crate::StreamedFile::id`]); 0 for frames
        /// beyond the runs one period reports apart (then `position` is
        /// the stretch's).
        file: u64,
        /// The position of the first silent frame.
        position: i64,
        /// How many frames were silent.
        frames: u64,
    },
}

impl Event {
    /// The stream frame the event refers to, if it has one.
    pub fn stream_frame(&self) -> Option<u64> {
        match self {
            Event::Outcome(o) => Some(o.stream_frame),
            Event::Position(p) => Some(p.stream_frame),
            Event::Xrun { stream_frame, .. }
            | Event::InputLost { stream_frame, .. }
            | Event::Latency { stream_frame, .. }
            | Event::Notice { stream_frame, .. } => Some(*stream_frame),
            Event::Meter(m) => Some(m.stream_frame),
            Event::DataMissing { stream_frame, .. } => Some(*stream_frame),
            Event::EventsLost { .. } | Event::Fatal(_) => None,
        }
    }
}
