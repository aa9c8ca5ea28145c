//! Metering: peak and RMS levels in dB over fixed windows of frames, for a
//! whole clip offline ([`crate::Clip::meter`]) and live on the audio thread, for
//! the captured input and the output of every period or window
//! ([`Metering`], [`crate::Event::Meter`]).
//!
//! A window's peak is the largest |sample| of a channel, its RMS the square
//! root of the mean of the squares; both in dB of full scale (1.0 is 0 dB).
//! Silence is `-inf` dB, never NaN. The squares are summed in 32 f32
//! partial sums per channel, frame `f` of the window into sum `f mod 32`
//! (one rounding per square and add: a fused multiply-add), folded in
//! halves into an f64 total every 1,024 frames of the window and at its end
//! (the order is spelled out in `meter/lanes.rs`): an order fixed by the
//! window's frames alone, which vectorises. The relative error of a
//! window's mean square is at most 37·2⁻²⁴ + ⌈n/1024⌉·2⁻⁵³ for `n` frames
//! (about 2·10⁻⁶, under 10⁻⁵ dB), whatever the window's length. Squares
//! above f32's range (samples beyond ±1.8·10¹⁹) make the RMS `+inf`; squares
//! below it (samples within ±10⁻²², under −440 dB) count as 0. Live and
//! offline meters of the same
//! signal over the same windows are equal to the bit, however the periods
//! split the windows: both add the same frames into the same sums in the
//! same order, with the same code.

use crate::error::{Error, Result};
use crate::fader::amplitude_to_db;

/// How long a meter window is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MeterWindow {
    /// Windows of this many frames (at least 1).
    Frames(u64),
    /// This many windows a second (1 ..= the frame rate), like the original
    /// AMIO's 24 meters per second. Window `j` starts at frame
    /// `floor(j · frame_rate / n)`, so windows differ by at most a frame
    /// and never drift.
    PerSecond(u32),
}

impl MeterWindow {
    /// Refuses a window of no frames, or more windows a second than frames.
    pub fn check(self, frame_rate: u32) -> Result<()> {
        match self {
            MeterWindow::Frames(0) => Err(Error::Argument {
                argument: "meter window",
                rule: "0 frames (the rule is: at least 1)".into(),
            }),
            MeterWindow::PerSecond(n) if n == 0 || n > frame_rate => Err(Error::Argument {
                argument: "meter window",
                rule: format!(
                    "{n} windows a second at {frame_rate} Hz (the rule is 1 <= n <= frame rate)"
                ),
            }),
            _ => Ok(()),
        }
    }

    /// The first window boundary after frame `f` (windows start at frame
    /// 0): the definition [`Boundaries`] follows without dividing. The
    /// window must be [checked](MeterWindow::check).
    #[cfg(test)]
    pub(crate) fn next_boundary(self, f: u64, frame_rate: u32) -> u64 {
        match self {
            MeterWindow::Frames(n) => {
                let n = n.max(1);
                (f / n).saturating_add(1).saturating_mul(n)
            }
            MeterWindow::PerSecond(n) => {
                // The smallest j with floor(j·rate/n) > f.
                let (rate, n) = (u128::from(frame_rate.max(1)), u128::from(n.max(1)));
                let j = ((u128::from(f) + 1) * n).div_ceil(rate);
                u64::try_from(j * rate / n).unwrap_or(u64::MAX)
            }
        }
    }

    /// The window boundaries from frame 0, in order. The window must be
    /// [checked](MeterWindow::check).
    pub(crate) fn boundaries(self, frame_rate: u32) -> Boundaries {
        let mut b = match self {
            MeterWindow::Frames(n) => Boundaries {
                end: 0,
                whole: n.max(1),
                part: 0,
                n: 1,
                carry: 0,
            },
            MeterWindow::PerSecond(n) => {
                let (rate, n) = (u64::from(frame_rate.max(1)), u64::from(n.max(1)));
                Boundaries {
                    end: 0,
                    whole: rate / n,
                    part: rate % n,
                    n,
                    carry: 0,
                }
            }
        };
        b.advance();
        b
    }
}

/// A meter window's boundaries, one after another, in constant time each
/// without a division (for the audio thread): boundary `j` of
/// `PerSecond(n)` at rate `r` is `floor(j·r/n) = j·(r div n) +
/// floor(j·(r mod n)/n)`, the second term kept as a quotient and remainder.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Boundaries {
    /// The current window's end.
    end: u64,
    /// What every window adds (`r div n`, or the frames).
    whole: u64,
    /// `r mod n`, and `n` (0 and 1 for `Frames`).
    part: u64,
    n: u64,
    /// `j·(r mod n) mod n`.
    carry: u64,
}

impl Boundaries {
    /// The current window's end (the next window's start).
    pub(crate) fn end(&self) -> u64 {
        self.end
    }

    /// Moves to the next window.
    pub(crate) fn advance(&mut self) {
        self.carry += self.part;
        let over = u64::from(self.carry >= self.n);
        self.carry -= over * self.n;
        self.end = self.end.saturating_add(self.whole + over);
    }
}

/// One channel's level over a window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Level {
    /// The largest |sample|, in dB (`-inf` for silence).
    pub peak_db: f32,
    /// The RMS, in dB (`-inf` for silence).
    pub rms_db: f32,
}

/// One window of an offline meter.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The window's first frame in the clip.
    pub frame: u64,
    /// Its length in frames (the last window may be shorter).
    pub frames: u64,
    /// One level per channel.
    pub levels: Vec<Level>,
}

/// A live meter reading: the captured input and the output of the same
/// stream frames.
#[derive(Clone, Debug, PartialEq)]
pub struct Meter {
    /// The window's first stream frame.
    pub stream_frame: u64,
    /// Its length in frames.
    pub frames: u64,
    /// One level per input channel, of the input as captured.
    pub input: Vec<Level>,
    /// One level per output channel, of the output as sent to the driver
    /// (after clamping).
    pub output: Vec<Level>,
}

/// Live metering, chosen in [`crate::Config::metering`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Metering {
    /// No live meters.
    #[default]
    Off,
    /// An [`crate::Event::Meter`] for every period the engine renders.
    EveryPeriod,
    /// An [`crate::Event::Meter`] for every window of stream frames
    /// (windows start at stream frame 0 and may span periods).
    Window(MeterWindow),
}

/// A channel's peak and sum of squares over a window, as
/// [`Lanes::end_window`] hands them; what the live meter sends to the control
/// side.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Accum {
    pub(crate) peak: f32,
    pub(crate) sum_squares: f64,
}

impl Accum {
    /// The level over `frames` frames.
    pub(crate) fn level(self, frames: u64) -> Level {
        let mean_square = self.sum_squares / frames.max(1) as f64;
        Level {
            peak_db: amplitude_to_db(f64::from(self.peak)) as f32,
            rms_db: (10.0 * mean_square.log10()) as f32,
        }
    }
}

mod lanes;
mod offline;

pub(crate) use lanes::Lanes;
