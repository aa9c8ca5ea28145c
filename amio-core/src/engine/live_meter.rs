//! The engine's live meter: levels of each period's (or window's) input
//! and output, accumulated on the audio thread and sent to the control
//! side without allocating.

use std::sync::atomic::{AtomicU64, Ordering};

use rtrb::{Consumer, Producer};

use crate::driver::StreamInfo;
use crate::meter::{Accum, Meter, MeterWindow, Metering};
use crate::queue::Message;

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
