//! Metering: peak and RMS levels in dB over fixed windows of frames, for a
//! whole clip offline ([`Clip::meter`]) and live on the audio thread, for
//! the captured input and the output of every period or window
//! ([`Metering`], [`crate::Event::Meter`]).
//!
//! A window's peak is the largest |sample| of a channel, its RMS the square
//! root of the mean of the squares (summed in f64, frame by frame); both in
//! dB of full scale (1.0 is 0 dB). Silence is `-inf` dB, never NaN. Live
//! and offline meters of the same signal over the same windows are equal to
//! the bit: both add the same frames in the same order.

use std::sync::atomic::{AtomicU64, Ordering};

use rtrb::{Consumer, Producer};

use crate::clip::Clip;
use crate::driver::StreamInfo;
use crate::engine::Message;
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

/// The engine's live meter: accumulates each period's input and output and
/// sends a [`Message::Meter`] when a window ends, its levels through a ring
/// of its own (so nothing is allocated on the audio thread; the control
/// side makes the [`Meter`]).
pub(crate) struct LiveMeter {
    /// `None`: every period.
    window: Option<MeterWindow>,
    frame_rate: u32,
    /// The current window's first stream frame, and the next boundary.
    start: u64,
    end: u64,
    input: Box<[Accum]>,
    output: Box<[Accum]>,
    levels: Producer<Accum>,
}

/// The control side's end of the live meter's levels.
pub(crate) struct MeterLevels {
    levels: Consumer<Accum>,
    in_channels: usize,
    out_channels: usize,
}

impl LiveMeter {
    /// The two ends for `metering` (none when off), with room for
    /// `events` meters in flight.
    pub(crate) fn new(
        metering: Metering,
        info: &StreamInfo,
        events: usize,
    ) -> crate::Result<(Option<LiveMeter>, Option<MeterLevels>)> {
        let window = match metering {
            Metering::Off => return Ok((None, None)),
            Metering::EveryPeriod => None,
            Metering::Window(w) => Some(w),
        };
        let channels = info.in_channels + info.out_channels;
        let slots = channels.checked_mul(events).ok_or(crate::Error::Argument {
            argument: "meter levels",
            rule: format!("{channels} channels × {events} events overflow"),
        })?;
        crate::limits::can_allocate::<Accum>(slots.max(1), "meter levels")?;
        let (tx, rx) = rtrb::RingBuffer::new(slots.max(1));
        let meter = LiveMeter {
            window,
            frame_rate: info.frame_rate,
            start: 0,
            end: window.map_or(u64::MAX, |w| w.next_boundary(0, info.frame_rate)),
            input: vec![Accum::default(); info.in_channels].into_boxed_slice(),
            output: vec![Accum::default(); info.out_channels].into_boxed_slice(),
            levels: tx,
        };
        let levels = MeterLevels {
            levels: rx,
            in_channels: info.in_channels,
            out_channels: info.out_channels,
        };
        Ok((Some(meter), Some(levels)))
    }

    /// Adds the period from stream frame `s`: `input` and `output`
    /// interleaved, of the same frames. Each window that ends is sent if
    /// the message queue has room beyond `outcome_reserve`, else counted in
    /// `events_lost`. Real-time safe.
    pub(crate) fn period(
        &mut self,
        s: u64,
        input: &[f32],
        output: &[f32],
        messages: &mut Producer<Message>,
        outcome_reserve: usize,
        events_lost: &AtomicU64,
    ) {
        let (ic, oc) = (self.input.len(), self.output.len());
        let frames = match (ic, oc) {
            (_, 1..) => output.len() / oc,
            (1.., 0) => input.len() / ic,
            (0, 0) => return,
        };
        let mut done = 0;
        while done < frames {
            let at = s + done as u64;
            let n = (frames - done).min(usize::try_from(self.end - at).unwrap_or(usize::MAX));
            Accum::add(&mut self.input, &input[done * ic..(done + n) * ic]);
            Accum::add(&mut self.output, &output[done * oc..(done + n) * oc]);
            done += n;
            let to = s + done as u64;
            if to != self.end && !(self.window.is_none() && done == frames) {
                continue;
            }
            let room = messages.slots() > outcome_reserve && self.levels.slots() >= ic + oc;
            if room {
                for a in self.input.iter().chain(self.output.iter()) {
                    let _ = self.levels.push(*a);
                }
                let _ = messages.push(Message::Meter {
                    stream_frame: self.start,
                    frames: to - self.start,
                });
            } else {
                events_lost.fetch_add(1, Ordering::Relaxed);
            }
            self.input.fill(Accum::default());
            self.output.fill(Accum::default());
            self.start = to;
            if let Some(w) = self.window {
                self.end = w.next_boundary(to, self.frame_rate);
            }
        }
    }
}

impl MeterLevels {
    /// The meter the engine sent for `frames` frames from `stream_frame`.
    pub(crate) fn take(&mut self, stream_frame: u64, frames: u64) -> Meter {
        let mut next = || self.levels.pop().unwrap_or_default().level(frames);
        let input = (0..self.in_channels).map(|_| next()).collect();
        let output = (0..self.out_channels).map(|_| next()).collect();
        Meter {
            stream_frame,
            frames,
            input,
            output,
        }
    }
}

impl Clip {
    /// Peak and RMS per channel over consecutive windows from frame 0; the
    /// last window holds what is left. An empty clip has no windows.
    pub fn meter(&self, window: MeterWindow) -> Result<Vec<Reading>> {
        window.check(self.frame_rate())?;
        let channels = self.channels();
        let total = self.frames() as u64;
        let mut readings = Vec::new();
        let mut start = 0;
        while start < total {
            let end = window.next_boundary(start, self.frame_rate()).min(total);
            let mut accums = vec![Accum::default(); channels];
            Accum::add(
                &mut accums,
                &self.samples()[start as usize * channels..end as usize * channels],
            );
            readings.push(Reading {
                frame: start,
                frames: end - start,
                levels: accums.iter().map(|a| a.level(end - start)).collect(),
            });
            start = end;
        }
        Ok(readings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_scale_sine_and_silence() {
        // 1 kHz at 48 kHz: 48 frames a cycle; windows of whole cycles.
        let sine = Clip::sine(48_000, 2, 4_800, 1_000.0, 1.0).unwrap();
        let r = sine.meter(MeterWindow::Frames(480)).unwrap();
        assert_eq!(r.len(), 10);
        for reading in &r {
            for l in &reading.levels {
                assert_eq!(l.peak_db, 0.0);
                assert!((l.rms_db - -3.0103).abs() < 1e-4, "{}", l.rms_db);
            }
        }
        let half = Clip::sine(48_000, 1, 480, 1_000.0, 0.5).unwrap();
        let l = half.meter(MeterWindow::Frames(480)).unwrap()[0].levels[0];
        assert!((l.peak_db - -6.0206).abs() < 1e-4);
        assert!((l.rms_db - -9.0309).abs() < 1e-4);
        let silence = Clip::silence(48_000, 1, 100).unwrap();
        let l = silence.meter(MeterWindow::Frames(30)).unwrap()[3].levels[0];
        assert_eq!(l.peak_db, f32::NEG_INFINITY);
        assert_eq!(l.rms_db, f32::NEG_INFINITY);
    }

    #[test]
    fn windows_by_frames_and_per_second() {
        let c = Clip::silence(44_100, 1, 44_100 + 10).unwrap();
        let r = c.meter(MeterWindow::Frames(1_000)).unwrap();
        assert_eq!(r.len(), 45);
        assert_eq!((r[44].frame, r[44].frames), (44_000, 110));
        // 24 a second at 44.1 kHz: 1837.5 frames, so 1837 and 1838 in turn.
        let r = c.meter(MeterWindow::PerSecond(24)).unwrap();
        assert_eq!(r.len(), 25);
        assert_eq!(
            r[..4]
                .iter()
                .map(|r| (r.frame, r.frames))
                .collect::<Vec<_>>(),
            [(0, 1837), (1837, 1838), (3675, 1837), (5512, 1838)]
        );
        assert_eq!((r[23].frame + r[23].frames, r[24].frames), (44_100, 10));
        assert!(Clip::silence(48_000, 1, 0)
            .unwrap()
            .meter(MeterWindow::Frames(4))
            .unwrap()
            .is_empty());
        assert!(c.meter(MeterWindow::Frames(0)).is_err());
        assert!(c.meter(MeterWindow::PerSecond(0)).is_err());
        assert_eq!(
            c.meter(MeterWindow::PerSecond(50_000))
                .unwrap_err()
                .to_string(),
            "meter window: 50000 windows a second at 44100 Hz (the rule is 1 <= n <= frame rate)"
        );
    }

    #[test]
    fn boundaries_are_exact() {
        let w = MeterWindow::PerSecond(3);
        let b: Vec<u64> = [0, 2, 3, 5, 6, 9]
            .iter()
            .map(|&f| w.next_boundary(f, 10))
            .collect();
        // Windows start at 0, 3, 6, 10, 13, ...
        assert_eq!(b, [3, 3, 6, 6, 10, 10]);
        assert_eq!(MeterWindow::Frames(4).next_boundary(7, 1), 8);
    }
}
