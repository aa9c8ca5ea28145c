//! The interface: the control half of a running stream, and its
//! configuration.
//!
//! [`Interface::new`] makes the control half and the audio half
//! ([`Engine`]) together, joined by lock-free queues: commands go one way;
//! outcomes (carrying the playspecs they retire, to be freed here), events
//! and captured input come back. Neither side ever waits for the other.

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use rtrb::{Consumer, Producer};

use crate::block_cache::{BlockCache, CacheReader, SLOT_SAMPLES};
use crate::capture::{self, ChunkInfo, InputChunk, InputReader};
use crate::driver::StreamInfo;
use crate::engine::live_meter::{LiveMeter, MeterLevels};
use crate::engine::{Engine, EngineParts};
use crate::error::{Error, Result};
use crate::event::{Event, Outcome, OutcomeKind, PositionReport};
use crate::limits::{self, at_most};
use crate::meter::Metering;
use crate::playspec::mix::{Prepared, Scratch};
use crate::playspec::{Kernel, MixKernel, Playspec};
use crate::queue::{Action, Change, Command, Message};
use crate::shared::{PositionReader, Shared};
use crate::stream_reader::{StreamReader, StreamsGate};

/// How an interface behaves, beyond what the driver negotiated.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// Clamp every output sample to [-1, 1] (SPEC.md step 3). Default true.
    pub clamp: bool,
    /// Frames of round-trip latency added to what the driver reports, for
    /// input tags; negative to correct a driver that reports more than the
    /// real round trip (`amio latency` measures it). Default 0.
    pub extra_latency: i64,
    /// The largest round-trip latency `L` the input tags can follow, in
    /// frames; the engine keeps that much tag history. Default 65536.
    pub max_latency: u64,
    /// Commands that may be in flight (issued, not yet applied). Default 1024.
    pub command_capacity: usize,
    /// Scheduled changes that may await an outcome at once. Default 1024.
    pub outcome_capacity: usize,
    /// Events (position reports and notices) buffered for the control side
    /// beyond the outcomes. Default 1024.
    pub event_capacity: usize,
    /// Captured frames buffered for the control side before input is
    /// dropped. Default 262144 (5.4 s at 48 kHz).
    pub input_buffer_frames: usize,
    /// Live meters of the input and output ([`Event::Meter`]): off, every
    /// period, or every window of stream frames. Meters share the event
    /// queue's room (`event_capacity`). Default off.
    pub metering: Metering,
    /// The inner loops that mix and clamp: the fastest this CPU has
    /// ([`MixKernel::Auto`], the default) or a named one, refused when the
    /// CPU lacks it. Every kernel gives the same output, bit for bit.
    pub mix_kernel: MixKernel,
    /// How far ahead of what plays the reader thread of streamed clips
    /// reads, in milliseconds: a locate or change issued at least this
    /// long before its frame finds its data ready. Default 2000.
    pub stream_read_ahead_ms: u32,
    /// The memory for blocks of streamed clips, in bytes (allocated when
    /// the first playspec with a streamed clip is scheduled; rounded down
    /// to 64 KiB slots, at least one). It must hold the read-ahead time ×
    /// the streamed occurrences sounding at once × their channels × 4
    /// bytes, plus a slot per occurrence; what does not fit is read later
    /// and may be missing. Default 64 MiB.
    pub stream_cache_bytes: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            clamp: true,
            extra_latency: 0,
            max_latency: 65536,
            command_capacity: 1024,
            outcome_capacity: 1024,
            event_capacity: 1024,
            input_buffer_frames: 1 << 18,
            metering: Metering::Off,
            mix_kernel: MixKernel::Auto,
            stream_read_ahead_ms: 2000,
            stream_cache_bytes: 64 << 20,
        }
    }
}

/// The control half of a stream: schedule playspecs, roll, stop, locate,
/// read events and captured input.
///
/// **Control thread.** Every method runs on the host's control thread (one
/// at a time: it takes `&mut self`); none of them waits for the audio thread.
pub struct Interface {
    info: StreamInfo,
    commands: Producer<Command>,
    messages: Consumer<Message>,
    input: InputReader,
    /// Live meters' levels, as the engine sent them ([`Message::Meter`]).
    meter_levels: Option<MeterLevels>,
    shared: Arc<Shared>,
    command_capacity: usize,
    outcome_capacity: usize,
    next_id: u64,
    next_seq: u64,
    commands_sent: u64,
    /// Ids scheduled that have no outcome yet.
    unresolved: BTreeSet<u64>,
    /// Events taken from the queues, not yet polled.
    backlog: VecDeque<Event>,
    closed: bool,
    /// The capacity of the engine's mixing scratch (the largest any change
    /// sent so far needed).
    scratch_capacity: usize,
    /// The inner loops the engine mixes with.
    kernel: Kernel,
    stream_read_ahead_ms: u32,
    stream_cache_bytes: usize,
    /// The reader thread of streamed clips, once one was scheduled.
    reader: Option<StreamReader>,
    /// What offline drivers wait on for the reader.
    gate: StreamsGate,
    /// Waited before every block the reader reads: a slow disk, for tests.
    stream_read_delay: std::time::Duration,
    /// Locates sent before the reader started that may not have taken
    /// effect yet: (position, stream frame).
    early_locates: Vec<(i64, u64)>,
}

impl std::fmt::Debug for Interface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Interface")
            .field("info", &self.info)
            .field("closed", &self.closed)
            .finish()
    }
}

fn config_error(field: &'static str, rule: impl Into<String>) -> Error {
    Error::Config {
        field,
        rule: rule.into(),
    }
}

impl Interface {
    /// Makes the two halves of an interface for a stream the driver opened
    /// as `info` describes.
    pub fn new(info: &StreamInfo, config: &Config) -> Result<(Interface, Engine)> {
        if info.frame_rate == 0 {
            return Err(config_error("frame_rate", "must be above 0"));
        }
        if info.max_period == 0 {
            return Err(config_error("max_period", "must be above 0"));
        }
        at_most("frame_rate", info.frame_rate, limits::MAX_FRAME_RATE)?;
        at_most("max_period", info.max_period, limits::MAX_PERIOD)?;
        at_most("in_channels", info.in_channels, limits::MAX_CHANNELS)?;
        at_most("out_channels", info.out_channels, limits::MAX_CHANNELS)?;
        for (field, value) in [
            ("command_capacity", config.command_capacity),
            ("outcome_capacity", config.outcome_capacity),
            ("event_capacity", config.event_capacity),
        ] {
            if value == 0 {
                return Err(config_error(field, "must be above 0"));
            }
            at_most(field, value, limits::MAX_QUEUE_CAPACITY)?;
        }
        at_most("max_latency", config.max_latency, limits::MAX_LATENCY)?;
        at_most(
            "input_buffer_frames",
            config
                .input_buffer_frames
                .saturating_mul(info.in_channels.max(1)),
            limits::MAX_INPUT_BUFFER_SAMPLES,
        )
        .map_err(|_| {
            config_error(
                "input_buffer_frames",
                format!(
                    "is {} frames of {} channels, above amio's limit of {} samples",
                    config.input_buffer_frames,
                    info.in_channels,
                    limits::MAX_INPUT_BUFFER_SAMPLES
                ),
            )
        })?;
        if let Metering::Window(window) = config.metering {
            window.check(info.frame_rate)?;
        }
        let latency = crate::capture::round_trip(
            info.capture_latency,
            info.playback_latency,
            config.extra_latency,
        );
        if latency > config.max_latency {
            return Err(config_error(
                "max_latency",
                format!(
                    "is {} frames, below the round-trip latency of {latency} frames",
                    config.max_latency
                ),
            ));
        }
        let shared = Arc::new(Shared::default());
        shared
            .capture_latency
            .store(info.capture_latency, Ordering::Relaxed);
        shared
            .playback_latency
            .store(info.playback_latency, Ordering::Relaxed);
        shared
            .extra_latency
            .store(config.extra_latency, Ordering::Relaxed);

        limits::can_allocate::<Command>(config.command_capacity, "command queue")?;
        limits::can_allocate::<Message>(
            config.outcome_capacity + config.event_capacity,
            "event queue",
        )?;
        let kernel = Kernel::new(config.mix_kernel).ok_or_else(|| {
            config_error(
                "mix_kernel",
                format!(
                    "{} is not available on this CPU (the rule is: a kernel the CPU has; auto picks one)",
                    config.mix_kernel.name()
                ),
            )
        })?;
        let (command_tx, command_rx) = rtrb::RingBuffer::new(config.command_capacity);
        let (message_tx, message_rx) =
            crate::queue::mapped_ring(config.outcome_capacity + config.event_capacity, || {
                Message::Meter {
                    stream_frame: 0,
                    frames: 0,
                }
            });
        let max_period = info.max_period;
        let pieces = (config.input_buffer_frames / max_period + 1) * 4 + 64;
        let (capture_tx, capture_rx) =
            capture::queues(info.in_channels, config.input_buffer_frames, pieces)?;
        let initial = Box::new(Change {
            prepared: Prepared::new(0, Playspec::empty(), info.out_channels),
            insert_at: 0,
            start_from: 0,
            scratch: None,
            blocks: None,
        });
        let (meter, meter_levels) = LiveMeter::new(config.metering, info, config.event_capacity)?;
        let engine = Engine::new(EngineParts {
            out_channels: info.out_channels,
            in_channels: info.in_channels,
            max_period,
            clamp: config.clamp,
            max_latency: config.max_latency,
            kernel,
            initial,
            command_capacity: config.command_capacity,
            commands: command_rx,
            messages: message_tx,
            outcome_reserve: config.outcome_capacity,
            capture: capture_tx,
            meter: meter.map(Box::new),
            shared: Arc::clone(&shared),
            scratch: Box::new(Scratch::with_capacity(0)?),
        })?;
        let interface = Interface {
            info: info.clone(),
            commands: command_tx,
            messages: message_rx,
            input: capture_rx,
            meter_levels,
            shared,
            command_capacity: config.command_capacity,
            outcome_capacity: config.outcome_capacity,
            next_id: 1,
            next_seq: 0,
            commands_sent: 0,
            unresolved: BTreeSet::new(),
            backlog: VecDeque::new(),
            closed: false,
            scratch_capacity: 0,
            kernel,
            stream_read_ahead_ms: config.stream_read_ahead_ms,
            stream_cache_bytes: config.stream_cache_bytes,
            reader: None,
            gate: StreamsGate::default(),
            stream_read_delay: std::time::Duration::ZERO,
            early_locates: Vec::new(),
        };
        Ok((interface, engine))
    }

    /// What the driver negotiated: frame rate, period, channels, latencies.
    pub fn info(&self) -> &StreamInfo {
        &self.info
    }

    /// The mixing kernel the engine runs: [`Config::mix_kernel`] resolved,
    /// never [`MixKernel::Auto`].
    pub fn mix_kernel(&self) -> MixKernel {
        self.kernel.which()
    }

    /// Schedules a playspec change: once `p >= insert_at` the playspec
    /// becomes current and `p = start_from + (p - insert_at)`. The command
    /// takes effect at stream frame `at` (or the next period when `None` or
    /// already past). Returns the change's id, strictly increasing from 1.
    ///
    /// Refuses, without disturbing what plays, a playspec whose entries do not
    /// fit this interface (gain count, frame rate), and a change when
    /// `outcome_capacity` changes already await their outcome.
    pub fn schedule(
        &mut self,
        playspec: &Playspec,
        insert_at: i64,
        start_from: i64,
        at: Option<u64>,
    ) -> Result<u64> {
        playspec.check_for(self.info.out_channels, self.info.frame_rate)?;
        self.drain();
        if self.unresolved.len() >= self.outcome_capacity {
            return Err(Error::QueueFull {
                queue: "outcome",
                capacity: self.outcome_capacity,
            });
        }
        let id = self.next_id;
        let prepared = Prepared::new(id, playspec.clone(), self.info.out_channels);
        // The engine's mixing scratch grows with the largest playspec sent,
        // never per schedule.
        let needed = prepared.scratch_needed();
        let scratch = if needed > self.scratch_capacity {
            Some(Box::new(Scratch::with_capacity(needed)?))
        } else {
            None
        };
        let streamed = playspec
            .entries()
            .iter()
            .any(|e| e.clip.streamed().is_some());
        let (blocks, reader) = if streamed && self.reader.is_none() {
            let (blocks, reader) = self.start_reader()?;
            (Some(blocks), Some(reader))
        } else {
            (None, None)
        };
        let change = Box::new(Change {
            prepared,
            insert_at,
            start_from,
            scratch,
            blocks,
        });
        self.send(at, Action::Schedule(change))?;
        if let Some(reader) = reader {
            reader.open_gate(&self.gate);
            self.reader = Some(reader);
            self.early_locates = Vec::new();
        }
        if let Some(reader) = &self.reader {
            reader.scheduled(id, playspec, insert_at, start_from, self.command_frame(at));
        }
        self.scratch_capacity = self.scratch_capacity.max(needed);
        self.next_id += 1;
        self.unresolved.insert(id);
        Ok(id)
    }

    /// Starts the transport at stream frame `at` (or the next period).
    pub fn roll(&mut self, at: Option<u64>) -> Result<()> {
        self.send(at, Action::SetRolling(true))
    }

    /// Stops the transport at stream frame `at` (or the next period).
    pub fn stop(&mut self, at: Option<u64>) -> Result<()> {
        self.send(at, Action::SetRolling(false))
    }

    /// Sets the position to `position` at stream frame `at` (or the next
    /// period).
    pub fn locate(&mut self, position: i64, at: Option<u64>) -> Result<()> {
        self.send(at, Action::Locate(position))?;
        let at = self.command_frame(at);
        match &self.reader {
            Some(reader) => reader.located(position, at),
            None => {
                // Kept for a reader started later (a streamed playspec may
                // come before this locate takes effect), while it may.
                let now = self.position().stream_frame;
                let max_period = self.info.max_period as u64;
                self.early_locates
                    .retain(|&(_, at)| at.saturating_add(max_period) >= now);
                self.early_locates.push((position, at));
            }
        }
        Ok(())
    }

    /// Waits until the reader thread of streamed clips has made ready what
    /// sounds within the read-ahead window of where the engine stands and
    /// of every pending change and locate (as far as
    /// [`Config::stream_cache_bytes`] holds it). For a host that renders
    /// offline, between periods of at most the read-ahead: the render is
    /// then the same as with the clips in memory. Returns at once when no
    /// streamed clip was scheduled. Control side only: it blocks.
    pub fn wait_for_streams(&self) {
        if let Some(reader) = &self.reader {
            reader.wait_pass();
        }
    }

    /// Makes the reader thread (once started) wait `delay` before every
    /// block it reads: a slow disk, for the tests of missing data
    /// (`Duration::MAX`: it reads nothing until it closes).
    #[cfg(test)]
    pub(crate) fn set_stream_read_delay(&mut self, delay: std::time::Duration) {
        self.stream_read_delay = delay;
    }

    /// The stream frame a command for `at` is recorded at for the reader:
    /// no earlier than where the engine stands (it takes commands at the
    /// start of its next period).
    fn command_frame(&self, at: Option<u64>) -> u64 {
        let now = self.position().stream_frame;
        at.map_or(now, |at| at.max(now))
    }

    /// What a driver without a clock waits on before each period so that
    /// streamed clips are ready ([`StreamsGate`]).
    pub fn streams_gate(&self) -> StreamsGate {
        self.gate.clone()
    }

    /// Makes the block cache and starts the reader thread (the first time a
    /// playspec with a streamed clip is scheduled); returns the audio
    /// side of the cache, for the engine.
    fn start_reader(&self) -> Result<(CacheReader, StreamReader)> {
        let slots = (self.stream_cache_bytes / (SLOT_SAMPLES * 4)).max(1);
        let (blocks, writer) = BlockCache::create(slots, SLOT_SAMPLES)?;
        // At least two periods: a pass covers the next period, and half a
        // read-ahead after a settled pass still does (`StreamsGate`).
        let read_ahead = (u64::from(self.stream_read_ahead_ms) * u64::from(self.info.frame_rate)
            / 1000)
            .max(2 * self.info.max_period as u64)
            .max(1);
        let reader = StreamReader::start(
            writer,
            self.position_reader(),
            read_ahead,
            self.info.max_period as u64,
            self.stream_read_delay,
        )?;
        for &(position, at) in &self.early_locates {
            reader.located(position, at);
        }
        Ok((blocks, reader))
    }

    /// Sets the extra round-trip latency added to the driver's for input
    /// tags (negative to subtract), from the engine's next period on.
    pub fn set_extra_latency(&mut self, frames: i64) {
        self.shared.extra_latency.store(frames, Ordering::Relaxed);
    }

    fn send(&mut self, at: Option<u64>, action: Action) -> Result<()> {
        if self.closed {
            return Err(Error::NotRunning);
        }
        let done = self.shared.commands_done.load(Ordering::Acquire);
        if self.commands_sent - done >= self.command_capacity as u64 {
            return Err(Error::QueueFull {
                queue: "command",
                capacity: self.command_capacity,
            });
        }
        let command = Command {
            seq: self.next_seq,
            at,
            action,
        };
        if self.commands.push(command).is_err() {
            // Not reachable: in-flight commands never exceed the capacity.
            return Err(Error::QueueFull {
                queue: "command",
                capacity: self.command_capacity,
            });
        }
        self.next_seq += 1;
        self.commands_sent += 1;
        Ok(())
    }

    /// The engine's latest position report (updated every period).
    pub fn position(&self) -> PositionReport {
        self.shared.position.read()
    }

    /// The notifier a driver of this interface's engine reports through
    /// (xruns, latency, notices, faults), as a [`crate::Stream`] lends it;
    /// for hosts that drive the engine by hand.
    pub fn notifier(&self) -> crate::driver::Notifier {
        crate::driver::Notifier::for_shared(Arc::clone(&self.shared))
    }

    /// A reader of the latest position report, usable from any thread
    /// without a lock.
    pub fn position_reader(&self) -> PositionReader {
        PositionReader::new(Arc::clone(&self.shared))
    }

    /// A file descriptor that becomes readable when the engine or the driver
    /// has sent something (events, captured input, a fatal error), so a host
    /// can wait in `poll`, `select` or an event loop (asyncio's `add_reader`)
    /// instead of polling on a timer. Made on first call; the same descriptor
    /// after that. It stays open as long as the interface or its engine
    /// lives: stop watching it before dropping them.
    ///
    /// Protocol: when it is readable, call [`Interface::clear_wake`], then
    /// read every event and all input. The engine signals once per
    /// `clear_wake` at most (one non-blocking `write` on the audio thread,
    /// at the end of a period), and a driver's fatal error always signals.
    pub fn wake_fd(&mut self) -> Result<std::os::fd::RawFd> {
        self.shared.wake.fd().map_err(|e| Error::Io {
            context: "making the wake-up descriptor".into(),
            source: e,
        })
    }

    /// Empties the wake-up descriptor and arms it again
    /// ([`Interface::wake_fd`]). Call it before draining events and input.
    pub fn clear_wake(&mut self) {
        self.shared.wake.rearm();
    }

    /// The next event, if any: outcomes, position reports and notices in
    /// stream-frame order, then driver faults.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.drain();
        self.backlog.pop_front()
    }

    /// Whether an event is waiting to be polled.
    pub fn has_events(&mut self) -> bool {
        self.drain();
        !self.backlog.is_empty()
    }

    /// Takes every event available now.
    pub fn events(&mut self) -> Vec<Event> {
        self.drain();
        self.backlog.drain(..).collect()
    }

    /// The next captured chunk: every frame available whose tags run on
    /// from the first.
    pub fn read_input(&mut self) -> Option<InputChunk> {
        self.input.read()
    }

    /// Reads captured input into `buf` (interleaved, whole frames): as many
    /// frames of one run as fit. The rest of the run stays for the next call.
    pub fn read_input_into(&mut self, buf: &mut [f32]) -> Option<ChunkInfo> {
        self.input.read_into(buf)
    }

    /// Ids scheduled that have no outcome yet.
    pub fn unresolved(&self) -> impl Iterator<Item = u64> + '_ {
        self.unresolved.iter().copied()
    }

    /// Moves everything the engine and driver sent into the backlog, freeing
    /// retired playspecs here on the control side.
    fn drain(&mut self) {
        while let Ok(message) = self.messages.pop() {
            match message {
                Message::Outcome(outcome, retired) => {
                    self.unresolved.remove(&outcome.id);
                    drop(retired);
                    self.backlog.push_back(Event::Outcome(outcome));
                }
                Message::Event(event) => self.backlog.push_back(event),
                Message::Meter {
                    stream_frame,
                    frames,
                } => {
                    if let Some(levels) = &mut self.meter_levels {
                        self.backlog
                            .push_back(Event::Meter(levels.take(stream_frame, frames)));
                    }
                }
            }
        }
        let lost = self.shared.events_lost.swap(0, Ordering::Relaxed);
        if lost > 0 {
            self.backlog.push_back(Event::EventsLost { count: lost });
        }
        if let Some(fault) = self.shared.take_fault() {
            self.backlog.push_back(Event::Fatal(fault));
        }
    }

    /// Closes the interface once the driver has stopped and handed back the
    /// engine (or `None` if it was lost). Every change still without an
    /// outcome is reported dropped, at the stream frame where the engine
    /// stopped. Commands are refused from now on; events and captured input
    /// stay readable.
    pub fn close(&mut self, engine: Option<Engine>) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.drain();
        // A local engine is dropped here, on the control side: the pending
        // change, commands not yet applied and the current playspec are
        // freed with it.
        let (stream_frame, position) = match engine.map(|e| e.final_position()) {
            Some(at) => at,
            None => {
                let r = self.position();
                (r.stream_frame, r.position)
            }
        };
        for id in std::mem::take(&mut self.unresolved) {
            self.backlog.push_back(Event::Outcome(Outcome {
                id,
                kind: OutcomeKind::Dropped,
                stream_frame,
                position,
            }));
        }
    }

    /// Whether [`Interface::close`] has been called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }
}
