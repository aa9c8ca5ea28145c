//! Metering: peak and RMS levels in dB over fixed windows of frames, for a
//! whole clip offline ([`crate::Clip::meter`]) and live on the audio thread, for
//! the captured input and the output of every period or window
//! ([`Metering`], [`crate::Event::Meter`]).
//!
//! A window's peak is the largest |sample| of a channel, its RMS the square
//! root of the mean of the squares (summed in f64, frame by frame); both in
//! dB of full scale (1.0 is 0 dB). Silence is `-inf` dB, never NaN. Live
//! and offline meters of the same signal over the same windows are equal to
//! the bit: both add the same frames in the same order.

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
    /// 0). The window must be [checked](MeterWindow::check).
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

/// A channel's running peak and sum of squares. Real-time safe.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Accum {
    peak: f32,
    sum_squares: f64,
}

impl Accum {
    /// Adds interleaved frames, one accumulator per channel.
    pub(crate) fn add(accums: &mut [Accum], interleaved: &[f32]) {
        let channels = accums.len();
        if channels == 0 {
            return;
        }
        for frame in interleaved.chunks_exact(channels) {
            for (a, &x) in accums.iter_mut().zip(frame) {
                a.peak = a.peak.max(x.abs());
                a.sum_squares += f64::from(x) * f64::from(x);
            }
        }
    }

    /// The level over `frames` frames.
    pub(crate) fn level(self, frames: u64) -> Level {
        let mean_square = self.sum_squares / frames.max(1) as f64;
        Level {
            peak_db: amplitude_to_db(f64::from(self.peak)) as f32,
            rms_db: (10.0 * mean_square.log10()) as f32,
        }
    }
}

mod offline;
