//! The engine: the audio half of an interface, run by the driver's real-time
//! thread (SPEC.md, "One frame of the engine").
//!
//! The engine works a period at a time and splits it only where a command
//! or a playspec change takes effect, so its output is what the per-frame
//! rules give, whatever the period size.

use std::cmp::{Ordering as Order, Reverse};
use std::collections::BinaryHeap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rtrb::{Consumer, Producer};

use crate::block_cache::CacheReader;
use crate::capture::{CaptureWriter, Tag, TagHistory};
use crate::event::{Event, Outcome, OutcomeKind, PositionReport};
use crate::playspec::mix::Scratch;
use crate::playspec::Kernel;
use crate::queue::{Action, Change, Command, Message};
use crate::shared::Shared;
use live_meter::LiveMeter;

pub(crate) mod live_meter;

/// A command waiting for its stream frame.
struct Pending {
    /// The stream frame it takes effect at.
    target: u64,
    seq: u64,
    action: Action,
}

// Ordered by (target, seq): the order commands take effect in.
impl PartialEq for Pending {
    fn eq(&self, other: &Pending) -> bool {
        (self.target, self.seq) == (other.target, other.seq)
    }
}

impl Eq for Pending {}

impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Pending) -> Option<Order> {
        Some(self.cmp(other))
    }
}

impl Ord for Pending {
    fn cmp(&self, other: &Pending) -> Order {
        (self.target, self.seq).cmp(&(other.target, other.seq))
    }
}

/// The audio half of an interface: SPEC.md's rules, a period at a time.
///
/// Made together with its [`crate::Interface`] by
/// [`crate::Interface::new`]. A [`crate::Stream`] keeps it and lends its
/// periods to a driver through a [`crate::driver::Lease`]; tests and hosts
/// that drive it by hand call [`Engine::render`] directly.
///
/// **Real-time thread.** Every method here that takes `&mut self` runs on
/// the thread that drives the engine and does not allocate, free, lock or
/// block. The engine is dropped on the control side, because dropping it
/// frees playspecs.
pub struct Engine {
    out_channels: usize,
    in_channels: usize,
    max_period: usize,
    clamp: bool,
    max_latency: u64,
    /// The inner loops mixing and clamping run.
    kernel: Kernel,

    /// `s`: the next stream frame to process.
    s: u64,
    /// `p`: the position of the next frame.
    p: i64,
    rolling: bool,
    current: Box<Change>,
    change: Option<Box<Change>>,
    /// Commands read from the queue, the next one (smallest target, then
    /// seq) on top: O(log n) per command, with room for `command_capacity`
    /// reserved up front so pushing never allocates.
    pending: BinaryHeap<Reverse<Pending>>,
    /// Working space for mixing (see [`Scratch`]).
    scratch: Box<Scratch>,
    /// `L` in use for input tags, and the sum it was computed from.
    latency: u64,
    latency_requested: Option<u64>,
    xruns_seen: u64,
    notices_seen: u64,

    output: Box<[f32]>,
    input: Box<[f32]>,
    tags: TagHistory,

    commands: Consumer<Command>,
    messages: Producer<Message>,
    /// Message slots kept free for outcomes; other events use the rest.
    outcome_reserve: usize,
    capture: CaptureWriter,
    meter: Option<Box<LiveMeter>>,
    shared: Arc<Shared>,
    /// The audio side of the interface's block cache, once it has one
    /// (streamed clips).
    blocks: Option<CacheReader>,
}

/// The engine's parts, as [`crate::Interface::new`] assembles them.
pub(crate) struct EngineParts {
    pub(crate) out_channels: usize,
    pub(crate) in_channels: usize,
    pub(crate) max_period: usize,
    pub(crate) clamp: bool,
    pub(crate) max_latency: u64,
    pub(crate) kernel: Kernel,
    pub(crate) initial: Box<Change>,
    pub(crate) command_capacity: usize,
    pub(crate) commands: Consumer<Command>,
    pub(crate) messages: Producer<Message>,
    pub(crate) outcome_reserve: usize,
    pub(crate) capture: CaptureWriter,
    pub(crate) meter: Option<Box<LiveMeter>>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) scratch: Box<Scratch>,
}

impl Engine {
    /// The most frames one [`Engine::render`] processes.
    pub fn max_period(&self) -> usize {
        self.max_period
    }

    /// Output channels per frame.
    pub fn out_channels(&self) -> usize {
        self.out_channels
    }

    /// Input channels per frame.
    pub fn in_channels(&self) -> usize {
        self.in_channels
    }

    /// `s`: the next stream frame the engine will process.
    pub fn stream_frame(&self) -> u64 {
        self.s
    }

    /// The input buffer of the next period: `min(frames, max_period)` frames
    /// of `in_channels` interleaved samples. Write the captured input here,
    /// then call [`Engine::render`] with the same frame count. Samples left
    /// alone keep their previous values.
    ///
    /// Real-time thread.
    pub fn input_buffer(&mut self, frames: usize) -> &mut [f32] {
        let n = frames.min(self.max_period);
        &mut self.input[..n * self.in_channels]
    }

    /// Processes one period of `min(frames, max_period)` frames and returns
    /// its output, interleaved.
    ///
    /// Real-time thread: no allocation, no lock, no blocking call.
    pub fn render(&mut self, frames: usize) -> &[f32] {
        let n = frames.min(self.max_period);
        let _guard = crate::rt_guard::enter();
        self.run_period(n);
        &self.output[..n * self.out_channels]
    }

    /// Processes `frames` frames from interleaved buffers, in periods of at
    /// most `max_period`. `input` should hold `frames * in_channels` samples
    /// (missing ones are taken as silence) and `output` `frames *
    /// out_channels` (output that does not fit is discarded).
    ///
    /// Real-time thread.
    pub fn process_interleaved(&mut self, frames: usize, input: &[f32], output: &mut [f32]) {
        let (ic, oc) = (self.in_channels, self.out_channels);
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(self.max_period.max(1));
            let buf = self.input_buffer(n);
            let src = input.get(done * ic..).unwrap_or(&[]);
            let k = buf.len().min(src.len());
            buf[..k].copy_from_slice(&src[..k]);
            buf[k..].fill(0.0);
            let out = self.render(n);
            let dst = output.get_mut(done * oc..).unwrap_or(&mut []);
            let k = out.len().min(dst.len());
            dst[..k].copy_from_slice(&out[..k]);
            done += n;
        }
    }

    /// The stream frame and position where the engine stands, for closing.
    pub(crate) fn final_position(&self) -> (u64, i64) {
        (self.s, self.p)
    }

    /// The engine from its parts; an error, never an abort, when its
    /// buffers do not fit in memory.
    pub(crate) fn new(parts: EngineParts) -> crate::Result<Engine> {
        let history = if parts.in_channels > 0 {
            (parts.max_latency as usize).saturating_add(parts.max_period + 1)
        } else {
            1
        };
        let buffer = |channels: usize, what| {
            crate::limits::filled(parts.max_period.checked_mul(channels), 0.0f32, what)
                .map(Vec::into_boxed_slice)
        };
        let output = buffer(parts.out_channels, "output buffer")?;
        let input = buffer(parts.in_channels, "input buffer")?;
        let tags = TagHistory::new(history)?;
        Ok(Engine {
            out_channels: parts.out_channels,
            in_channels: parts.in_channels,
            max_period: parts.max_period,
            clamp: parts.clamp,
            max_latency: parts.max_latency,
            kernel: parts.kernel,
            s: 0,
            p: 0,
            rolling: false,
            current: parts.initial,
            change: None,
            pending: BinaryHeap::with_capacity(parts.command_capacity),
            scratch: parts.scratch,
            latency: 0,
            latency_requested: None,
            xruns_seen: 0,
            notices_seen: 0,
            output,
            input,
            tags,
            commands: parts.commands,
            messages: parts.messages,
            outcome_reserve: parts.outcome_reserve,
            capture: parts.capture,
            meter: parts.meter,
            shared: parts.shared,
            blocks: None,
        })
    }

    /// Gives the engine the audio side of its interface's block cache:
    /// streamed clips are mixed from the blocks it makes ready.
    #[cfg(test)]
    pub(crate) fn set_block_cache(&mut self, reader: CacheReader) {
        self.blocks = Some(reader);
    }

    fn run_period(&mut self, frames: usize) {
        let period_start = self.s;
        self.take_driver_reports();
        self.take_commands();
        // The blocks ready now stay readable for the whole period (the
        // reader is moved out meanwhile: a move, no allocation).
        let mut blocks = self.blocks.take();
        let reading = blocks.as_mut().map(CacheReader::begin);
        let oc = self.out_channels;
        self.output[..frames * oc].fill(0.0);
        let mut done = 0;
        while done < frames {
            // 1. Commands whose target is this frame, in issue order.
            while self.pending.peek().is_some_and(|c| c.0.target <= self.s) {
                if let Some(Reverse(cmd)) = self.pending.pop() {
                    self.apply(cmd.action);
                    self.shared.commands_done.fetch_add(1, Ordering::Release);
                }
            }
            // 2. A pending change whose insert point has been reached.
            if self.change.as_ref().is_some_and(|c| self.p >= c.insert_at) {
                self.apply_change();
            }
            // The stretch until something can happen next.
            let mut n = (frames - done) as u64;
            if let Some(next) = self.pending.peek() {
                n = n.min(next.0.target - self.s);
            }
            if self.rolling {
                if let Some(c) = &self.change {
                    n = n.min((i128::from(c.insert_at) - i128::from(self.p)) as u64);
                }
                // Stop at the end of the timeline; p wraps to i64::MIN.
                let to_end = i128::from(i64::MAX) - i128::from(self.p) + 1;
                n = n.min(u64::try_from(to_end).unwrap_or(u64::MAX));
            }
            let n = n as usize;
            self.tags.record(
                self.s,
                Tag {
                    id: self.current.id(),
                    position: self.p,
                    rolling: self.rolling,
                },
            );
            // 3. Mix (rolling) or leave silence (stopped).
            if self.rolling {
                let out = &mut self.output[done * oc..(done + n) * oc];
                let kernel = self.kernel;
                let (s, p) = (self.s, self.p);
                (self.current.prepared).mix(&mut self.scratch, kernel, reading.as_ref(), p, n, out);
                self.scratch.missing.drain(p, |m| {
                    let event = Event::DataMissing {
                        stream_frame: s.wrapping_add(m.position.wrapping_sub(p) as u64),
                        file: m.file,
                        position: m.position,
                        frames: m.frames,
                    };
                    send_event(
                        &mut self.messages,
                        self.outcome_reserve,
                        &self.shared,
                        event,
                    );
                });
                self.p = self.p.wrapping_add(n as i64);
            }
            // 4. s += n.
            self.s += n as u64;
            done += n;
        }
        drop(reading);
        self.blocks = blocks;
        if self.clamp {
            self.kernel.clamp(&mut self.output[..frames * oc]);
        }
        self.capture_input(period_start, frames);
        if let Some(meter) = &mut self.meter {
            meter.period(
                period_start..self.s,
                &self.input[..frames * self.in_channels],
                &self.output[..frames * oc],
                &mut self.messages,
                self.outcome_reserve,
                &self.shared.events_lost,
            );
        }
        let report = PositionReport {
            stream_frame: self.s,
            id: self.current.id(),
            position: self.p,
            rolling: self.rolling,
        };
        self.shared.pending_change.store(
            self.change.as_ref().map_or(0, |c| c.id()),
            Ordering::Release,
        );
        self.shared.position.publish(report);
        self.send_event(Event::Position(report));
        // Every period sends at least its position report: wake the control
        // side if it waits (at most one non-blocking write per drain).
        self.shared.wake.signal();
    }

    /// Turns the driver's xrun, notice and latency reports into events and
    /// updates `L`.
    fn take_driver_reports(&mut self) {
        let xruns = self.shared.xruns.load(Ordering::Relaxed);
        if xruns != self.xruns_seen {
            let new = xruns.wrapping_sub(self.xruns_seen);
            self.xruns_seen = xruns;
            self.send_event(Event::Xrun {
                stream_frame: self.s,
                new,
                count: xruns,
            });
        }
        let notices = self.shared.notices.load(Ordering::Relaxed);
        if notices != self.notices_seen {
            for notice in crate::event::Notice::ALL {
                if notices & notice.bit() != 0 && self.notices_seen & notice.bit() == 0 {
                    self.send_event(Event::Notice {
                        stream_frame: self.s,
                        notice,
                    });
                }
            }
            self.notices_seen = notices;
        }
        let requested = crate::capture::round_trip(
            self.shared.capture_latency.load(Ordering::Relaxed),
            self.shared.playback_latency.load(Ordering::Relaxed),
            self.shared.extra_latency.load(Ordering::Relaxed),
        );
        if self.latency_requested != Some(requested) {
            self.latency_requested = Some(requested);
            self.latency = requested.min(self.max_latency);
            self.send_event(Event::Latency {
                stream_frame: self.s,
                frames: self.latency,
                requested,
            });
        }
    }

    /// Moves newly issued commands into the pending list. A command without a
    /// target, or whose target has passed, takes effect now.
    fn take_commands(&mut self) {
        while self.pending.len() < self.pending.capacity() {
            let Ok(mut cmd) = self.commands.pop() else {
                break;
            };
            if let Action::Schedule(change) = &mut cmd.action {
                if let Some(scratch) = change.scratch.as_mut() {
                    // A bigger scratch, taken as commands are read (in issue
                    // order, the order the control side sized it in), before
                    // any playspec that needs it can become current. The old
                    // one goes back with the change, to be freed on the
                    // control side.
                    std::mem::swap(&mut self.scratch, scratch);
                }
                if self.blocks.is_none() {
                    // The block cache, sent once; a second one would go
                    // back with its change (never dropped here).
                    self.blocks = change.blocks.take();
                }
            }
            let target = cmd.at.map_or(self.s, |at| at.max(self.s));
            self.pending.push(Reverse(Pending {
                target,
                seq: cmd.seq,
                action: cmd.action,
            }));
        }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Schedule(change) => {
                if let Some(old) = self.change.replace(change) {
                    let outcome = Outcome {
                        id: old.id(),
                        kind: OutcomeKind::Superseded,
                        stream_frame: self.s,
                        position: self.p,
                    };
                    self.send_outcome(outcome, old);
                }
            }
            Action::SetRolling(rolling) => self.rolling = rolling,
            Action::Locate(position) => self.p = position,
        }
    }

    fn apply_change(&mut self) {
        let Some(change) = self.change.take() else {
            return;
        };
        self.p = change
            .start_from
            .wrapping_add(self.p.wrapping_sub(change.insert_at));
        let old = std::mem::replace(&mut self.current, change);
        let outcome = Outcome {
            id: self.current.id(),
            kind: OutcomeKind::Applied,
            stream_frame: self.s,
            position: self.p,
        };
        self.send_outcome(outcome, old);
    }

    fn send_outcome(&mut self, outcome: Outcome, retired: Box<Change>) {
        // The control side keeps no more changes in flight than the queue
        // reserves room for, so this cannot fail; if it ever did, leaking the
        // playspec is the real-time-safe choice (freeing it here is not).
        if let Err(rtrb::PushError::Full(message)) =
            self.messages.push(Message::Outcome(outcome, retired))
        {
            std::mem::forget(message);
        }
    }

    /// Sends an event if room is left beyond the slots kept for outcomes;
    /// otherwise counts it as lost.
    fn send_event(&mut self, event: Event) {
        send_event(
            &mut self.messages,
            self.outcome_reserve,
            &self.shared,
            event,
        );
    }

    /// Tags the period's input with the output tags `L` frames earlier and
    /// sends it to the control side.
    fn capture_input(&mut self, period_start: u64, frames: usize) {
        let ic = self.in_channels;
        if ic == 0 {
            return;
        }
        let mut lost = 0;
        let mut done = 0;
        while done < frames {
            let s = period_start + done as u64;
            let (tag, run) = self.tags.at(i128::from(s) - i128::from(self.latency));
            let n = (frames - done).min(usize::try_from(run).unwrap_or(usize::MAX));
            let samples = &self.input[done * ic..(done + n) * ic];
            if !self.capture.write(s, tag, samples) {
                lost += n as u64;
            }
            done += n;
        }
        if lost > 0 {
            self.send_event(Event::InputLost {
                stream_frame: period_start,
                frames: lost,
            });
        }
    }
}

/// Sends an event unless that would take a slot kept for outcomes; a lost
/// event is counted.
fn send_event(
    messages: &mut Producer<Message>,
    outcome_reserve: usize,
    shared: &Shared,
    event: Event,
) {
    if messages.slots() > outcome_reserve {
        if let Err(rtrb::PushError::Full(message)) = messages.push(Message::Event(event)) {
            std::mem::forget(message);
        }
    } else {
        shared.events_lost.fetch_add(1, Ordering::Relaxed);
    }
}
