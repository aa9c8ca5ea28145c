//! The engine's live meter: levels of each period's (or window's) input
//! and output, accumulated on the audio thread and sent to the control
//! side without allocating.

use std::sync::atomic::{AtomicU64, Ordering};

use rtrb::{Consumer, Producer};

use crate::driver::StreamInfo;
use crate::meter::{Accum, Boundaries, Lanes, Meter, Metering};
use crate::queue::Message;

/// The engine's live meter: accumulates each period's input and output and
/// sends a [`Message::Meter`] when a window ends, its levels through a ring
/// of its own (so nothing is allocated on the audio thread; the control
/// side makes the [`Meter`]).
pub(crate) struct LiveMeter {
    /// The window boundaries (`None`: every period).
    boundaries: Option<Boundaries>,
    /// The current window's first stream frame.
    start: u64,
    input: Lanes,
    output: Lanes,
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
        let boundaries = match metering {
            Metering::Off => return Ok((None, None)),
            Metering::EveryPeriod => None,
            Metering::Window(w) => Some(w.boundaries(info.frame_rate)),
        };
        let channels = info.in_channels + info.out_channels;
        let slots = channels.checked_mul(events).ok_or(crate::Error::Argument {
            argument: "meter levels",
            rule: format!("{channels} channels × {events} events overflow"),
        })?;
        crate::limits::can_allocate::<Accum>(slots.max(1), "meter levels")?;
        let (tx, rx) = crate::queue::mapped_ring(slots.max(1), Accum::default);
        let meter = LiveMeter {
            boundaries,
            start: 0,
            input: Lanes::new(info.in_channels)?,
            output: Lanes::new(info.out_channels)?,
            levels: tx,
        };
        let levels = MeterLevels {
            levels: rx,
            in_channels: info.in_channels,
            out_channels: info.out_channels,
        };
        Ok((Some(meter), Some(levels)))
    }

    /// Adds the period of stream frames `period`: `input` and `output`
    /// interleaved, that many frames each. Each window that ends is sent if
    /// the message queue has room beyond `outcome_reserve`, else counted in
    /// `events_lost`. Real-time safe.
    pub(crate) fn period(
        &mut self,
        period: std::ops::Range<u64>,
        input: &[f32],
        output: &[f32],
        messages: &mut Producer<Message>,
        outcome_reserve: usize,
        events_lost: &AtomicU64,
    ) {
        let (ic, oc) = (self.input.channels(), self.output.channels());
        let (s, frames) = (period.start, (period.end - period.start) as usize);
        if frames == 0 || ic + oc == 0 {
            return;
        }
        let Some(boundaries) = self.boundaries else {
            // Every period: the period is the window.
            self.input.add(&input[..frames * ic]);
            self.output.add(&output[..frames * oc]);
            self.send(s + frames as u64, messages, outcome_reserve, events_lost);
            return;
        };
        let mut boundaries = boundaries;
        let mut done = 0;
        while done < frames {
            let at = s + done as u64;
            let left = boundaries.end() - at;
            let n = if left < (frames - done) as u64 {
                left as usize
            } else {
                frames - done
            };
            self.input.add(&input[done * ic..(done + n) * ic]);
            self.output.add(&output[done * oc..(done + n) * oc]);
            done += n;
            if n as u64 == left {
                self.send(at + left, messages, outcome_reserve, events_lost);
                boundaries.advance();
            }
        }
        self.boundaries = Some(boundaries);
    }

    /// Ends the window at stream frame `to`: sends its levels if there is
    /// room (else counts an event lost) and starts the next.
    fn send(
        &mut self,
        to: u64,
        messages: &mut Producer<Message>,
        outcome_reserve: usize,
        events_lost: &AtomicU64,
    ) {
        let (ic, oc) = (self.input.channels(), self.output.channels());
        // The cached count first: it can only undercount the room, so the
        // shared position is read only when the queue looks full.
        let room = messages.cached_slots() > outcome_reserve || messages.slots() > outcome_reserve;
        let sent = match self.levels.write_chunk_uninit(ic + oc) {
            Ok(mut chunk) if room => {
                let (a, b) = chunk.as_mut_slices();
                let mut slots = a.iter_mut().chain(b.iter_mut());
                let mut written = 0;
                let mut put = |level: Accum| {
                    if let Some(slot) = slots.next() {
                        slot.write(level);
                        written += 1;
                    }
                };
                self.input.end_window(&mut put);
                self.output.end_window(&mut put);
                // Each window hands one level per channel, so every slot was
                // written; were one not, nothing is committed and the
                // message is not sent, keeping the two rings in step.
                let whole = written == ic + oc;
                if whole {
                    // SAFETY: all `written` slots of the chunk were written
                    // just above (`put` writes each slot it takes, in
                    // order); the chunk borrows the ring only for this call.
                    unsafe { chunk.commit(written) };
                }
                whole
            }
            _ => false,
        };
        if !sent {
            // No room: the windows end all the same (ending one that has
            // just ended is harmless: it hands zeros to no one).
            self.input.end_window(|_| ());
            self.output.end_window(|_| ());
        }
        if sent {
            let _ = messages.push(Message::Meter {
                stream_frame: self.start,
                frames: to - self.start,
            });
        } else {
            events_lost.fetch_add(1, Ordering::Relaxed);
        }
        self.start = to;
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
