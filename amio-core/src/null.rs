//! The null driver: amio without an audio stack.
//!
//! Three modes ([`NullMode`]):
//! - **stepped**: the host drives the engine by hand through
//!   [`NullControl::step`], passing input and reading output, with the
//!   latencies it configures and xruns it injects (tests, and hosts that unit
//!   test their mixing);
//! - **paced**: a thread runs the engine one period at a time at the frame
//!   rate, like a sound card;
//! - **offline**: a thread runs the engine as fast as the machine allows for
//!   a given number of frames (renders).
//!
//! In the threaded modes the output of each period can go to an
//! [`OutputSink`], and the input can come from an [`InputSource`] or from a
//! loopback that returns the output `capture_latency + playback_latency`
//! frames later, as a cable from output to input would.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::driver::{
    AudioDriver, BackendConfig, BackendOptions, DeviceInfo, Lease, Notifier, Runtime, StreamConfig,
    StreamInfo,
};
use crate::error::{Error, Result};
use crate::event::FaultKind;

/// How the null driver runs the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NullMode {
    /// The host calls [`NullControl::step`].
    Stepped,
    /// A thread runs one period per period of wall-clock time.
    Paced,
    /// A thread runs `frames` frames as fast as possible, then stops.
    Offline {
        /// Frames to render.
        frames: u64,
    },
}

/// The null driver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NullConfig {
    /// How the engine is run.
    pub mode: NullMode,
    /// The capture latency to report, in frames.
    pub capture_latency: u64,
    /// The playback latency to report, in frames.
    pub playback_latency: u64,
    /// In the threaded modes, feed the output back as input (input channel
    /// `i` hears output channel `i`, or silence where there is none),
    /// `capture_latency + playback_latency` frames later. That sum must be
    /// at least one period.
    pub loopback: bool,
}

impl Default for NullConfig {
    fn default() -> NullConfig {
        NullConfig {
            mode: NullMode::Stepped,
            capture_latency: 0,
            playback_latency: 0,
            loopback: false,
        }
    }
}

impl BackendConfig for NullConfig {
    const BACKEND: &'static str = "null";

    /// The null backend's options: `mode` (`stepped`, `paced` or
    /// `offline`), `frames` (offline: frames to render), `capture_latency`,
    /// `playback_latency` (frames) and `loopback` (`true`/`false`).
    fn take(options: &mut BackendOptions) -> Result<NullConfig> {
        let frames = options.take_u64("frames")?.unwrap_or(0);
        let mode = options
            .take_choice(
                "mode",
                &[
                    ("stepped", NullMode::Stepped),
                    ("paced", NullMode::Paced),
                    ("offline", NullMode::Offline { frames }),
                ],
            )?
            .unwrap_or(NullMode::Stepped);
        Ok(NullConfig {
            mode,
            capture_latency: options.take_u64("capture_latency")?.unwrap_or(0),
            playback_latency: options.take_u64("playback_latency")?.unwrap_or(0),
            loopback: options.take_bool("loopback")?.unwrap_or(false),
        })
    }
}

/// Receives each period's output in the threaded modes: the stream frame of
/// its first frame and the interleaved samples. Runs on the driver's thread.
pub type OutputSink = Box<dyn FnMut(u64, &[f32]) + Send>;

/// Fills each period's input in the threaded modes: the stream frame of its
/// first frame and the interleaved buffer. Runs on the driver's thread.
pub type InputSource = Box<dyn FnMut(u64, &mut [f32]) + Send>;

/// Frame rate, period and channels when the request leaves them open.
const DEFAULT_FRAME_RATE: u32 = 48000;
const DEFAULT_PERIOD: usize = 256;

/// State shared between the driver, its thread and [`NullControl`] handles.
#[derive(Default)]
struct NullShared {
    /// The runtime while a stepped stream runs.
    stepped: Mutex<Option<Runtime>>,
    /// Frames run so far: the engine's stream frame.
    frames_run: AtomicU64,
    /// The running engine's notifier.
    notifier: Mutex<Option<Notifier>>,
    stop: AtomicBool,
    /// Whether the threaded run has ended (offline: all frames rendered).
    finished: Mutex<bool>,
    finished_cv: Condvar,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What the driver thread owns, handed back when it ends.
struct Worker {
    runtime: Runtime,
    sink: Option<OutputSink>,
    source: Option<InputSource>,
    loopback: Option<Loopback>,
}

/// Where a threaded run's samples come from and go.
struct NullIo<'a> {
    /// The stream frame of the device period's first frame.
    s: u64,
    sink: &'a mut Option<OutputSink>,
    source: &'a mut Option<InputSource>,
    loopback: &'a mut Option<Loopback>,
}

impl crate::driver::DeviceIo for NullIo<'_> {
    fn read_input(&mut self, offset: usize, input: &mut [f32]) {
        let at = self.s + offset as u64;
        if let Some(lb) = self.loopback.as_mut() {
            lb.read(at, input);
        } else if let Some(source) = self.source.as_mut() {
            source(at, input);
        } else {
            input.fill(0.0);
        }
    }

    fn write_output(&mut self, offset: usize, output: &[f32]) {
        let at = self.s + offset as u64;
        if let Some(lb) = self.loopback.as_mut() {
            lb.write(at, output);
        }
        if let Some(sink) = self.sink.as_mut() {
            sink(at, output);
        }
    }
}

/// The null backend.
pub struct NullDriver {
    config: NullConfig,
    info: Option<StreamInfo>,
    shared: Arc<NullShared>,
    sink: Option<OutputSink>,
    source: Option<InputSource>,
    thread: Option<JoinHandle<Worker>>,
    /// What offline and stepped runs wait on (streamed clips).
    gate: Option<crate::StreamsGate>,
}

impl NullDriver {
    /// A null driver with the given settings.
    pub fn new(config: NullConfig) -> NullDriver {
        NullDriver {
            config,
            info: None,
            shared: Arc::default(),
            sink: None,
            source: None,
            thread: None,
            gate: None,
        }
    }

    /// Sends each period's output to `sink` (threaded modes).
    pub fn with_output(mut self, sink: OutputSink) -> NullDriver {
        self.sink = Some(sink);
        self
    }

    /// Takes each period's input from `source` (threaded modes, without
    /// loopback).
    pub fn with_input(mut self, source: InputSource) -> NullDriver {
        self.source = Some(source);
        self
    }

    /// A handle to step the engine, inject xruns and wait for the end of an
    /// offline run; usable after the driver is boxed into a stream.
    pub fn control(&self) -> NullControl {
        NullControl(Arc::clone(&self.shared))
    }

    fn run(
        mut worker: Worker,
        info: StreamInfo,
        mode: NullMode,
        shared: Arc<NullShared>,
    ) -> Worker {
        let period = info.period;
        let period_time = Duration::from_secs_f64(period as f64 / f64::from(info.frame_rate));
        let notifier = worker.runtime.notifier().clone();
        let mut clock = Instant::now();
        let mut periods: u32 = 0;
        while !shared.stop.load(Ordering::Acquire) {
            let s = shared.frames_run.load(Ordering::Relaxed);
            let n = match mode {
                NullMode::Offline { frames } if s >= frames => break,
                NullMode::Offline { frames } => {
                    period.min(usize::try_from(frames - s).unwrap_or(usize::MAX))
                }
                _ => period,
            };
            let Worker {
                runtime,
                sink,
                source,
                loopback,
            } = &mut worker;
            let mut io = NullIo {
                s,
                sink,
                source,
                loopback,
            };
            let ran = runtime.callback(|rt| rt.process(n, &mut io));
            shared.frames_run.store(s + n as u64, Ordering::Relaxed);
            if ran.is_none() || runtime.has_failed() {
                // The audio path failed (reported once as a fatal event):
                // a thread that cannot run the engine ends.
                break;
            }
            if mode == NullMode::Paced {
                periods += 1;
                let deadline = clock + period_time * periods;
                let now = Instant::now();
                if let Some(wait) = deadline.checked_duration_since(now) {
                    std::thread::sleep(wait);
                } else if now - deadline > period_time {
                    // More than a period late: a sound card would have
                    // under-run. Report it and restart the clock.
                    notifier.xrun();
                    clock = now;
                    periods = 0;
                }
            }
        }
        *lock(&shared.finished) = true;
        shared.finished_cv.notify_all();
        worker
    }
}

impl AudioDriver for NullDriver {
    fn backend(&self) -> &str {
        "null"
    }

    fn devices(&self) -> Result<Vec<DeviceInfo>> {
        Ok(vec![DeviceInfo {
            name: "null".into(),
            description: "no audio device: stepped by hand, paced by the clock, or offline".into(),
            in_channels: 0,
            out_channels: 0,
        }])
    }

    fn open(&mut self, config: &StreamConfig) -> Result<StreamInfo> {
        if let Some(device) = config.device.as_deref().filter(|d| *d != "null") {
            return Err(Error::driver(
                "null",
                crate::DriverErrorKind::NoDevice,
                format!("no device {device:?}; the null backend has one device, \"null\""),
            ));
        }
        let frame_rate = config.frame_rate.unwrap_or(DEFAULT_FRAME_RATE);
        let period = config.period.unwrap_or(DEFAULT_PERIOD);
        if frame_rate == 0 || period == 0 {
            return Err(Error::Config {
                field: if frame_rate == 0 {
                    "frame_rate"
                } else {
                    "period"
                },
                rule: "must be above 0".into(),
            });
        }
        for (field, latency) in [
            ("capture_latency", self.config.capture_latency),
            ("playback_latency", self.config.playback_latency),
        ] {
            crate::limits::at_most(field, latency, crate::limits::MAX_LATENCY)?;
        }
        crate::limits::at_most("period", period, crate::limits::MAX_PERIOD)?;
        let round_trip = self.config.capture_latency + self.config.playback_latency;
        if self.config.loopback && round_trip < period as u64 {
            return Err(Error::Config {
                field: "loopback",
                rule: format!(
                    "needs capture + playback latency of at least one period ({period} frames), got {round_trip}"
                ),
            });
        }
        let info = StreamInfo {
            backend: "null".into(),
            device: "null".into(),
            frame_rate,
            period,
            max_period: period,
            in_channels: config.in_channels,
            out_channels: config.out_channels,
            capture_latency: self.config.capture_latency,
            playback_latency: self.config.playback_latency,
        };
        self.info = Some(info.clone());
        Ok(info)
    }

    fn start(&mut self, lease: Lease) -> Result<()> {
        let Some(info) = self.info.clone() else {
            return Err(Error::NotRunning);
        };
        if self.thread.is_some() || lock(&self.shared.stepped).is_some() {
            return Err(Error::AlreadyRunning);
        }
        let mut runtime = Runtime::new(lease)?;
        if let (NullMode::Offline { .. } | NullMode::Stepped, Some(gate)) =
            (self.config.mode, &self.gate)
        {
            // No clock: every period waits for streamed clips' data.
            runtime.wait_for_streams_with(gate.clone());
        }
        *lock(&self.shared.notifier) = Some(runtime.notifier().clone());
        self.shared.stop.store(false, Ordering::Release);
        *lock(&self.shared.finished) = false;
        if self.config.mode == NullMode::Stepped {
            *lock(&self.shared.stepped) = Some(runtime);
            return Ok(());
        }
        let loopback = if self.config.loopback {
            Some(Loopback::new(
                info.in_channels,
                info.out_channels,
                (self.config.capture_latency + self.config.playback_latency) as usize,
                info.period,
            )?)
        } else {
            None
        };
        let worker = Worker {
            runtime,
            sink: self.sink.take(),
            source: self.source.take(),
            loopback,
        };
        let mode = self.config.mode;
        let shared = Arc::clone(&self.shared);
        let handle = std::thread::Builder::new()
            .name("amio-null".into())
            .spawn(move || NullDriver::run(worker, info, mode, shared))
            .map_err(|source| Error::Io {
                context: "starting the null driver's thread".into(),
                source,
            })?;
        self.thread = Some(handle);
        Ok(())
    }

    fn set_streams_gate(&mut self, gate: crate::StreamsGate) {
        self.gate = Some(gate);
    }

    fn stop(&mut self) -> Result<()> {
        // Dropping the runtime drops the lease: nothing calls the engine
        // after this returns.
        drop(lock(&self.shared.stepped).take());
        let Some(handle) = self.thread.take() else {
            return Ok(());
        };
        self.shared.stop.store(true, Ordering::Release);
        match handle.join() {
            Ok(worker) => {
                self.sink = worker.sink;
                self.source = worker.source;
                Ok(())
            }
            Err(_) => {
                // The sink or source panicked outside the runtime's guard.
                if let Some(n) = lock(&self.shared.notifier).as_ref() {
                    n.fatal(FaultKind::ThreadFailed, "the null driver's thread panicked");
                }
                Ok(())
            }
        }
    }
}

impl Drop for NullDriver {
    fn drop(&mut self) {
        if let Some(handle) = self.thread.take() {
            self.shared.stop.store(true, Ordering::Release);
            let _ = handle.join();
        }
    }
}

/// A handle on a null driver: step it, inject xruns, wait for an offline run.
#[derive(Clone)]
pub struct NullControl(Arc<NullShared>);

impl NullControl {
    /// Stepped mode: processes `frames` frames. `input` holds `frames *
    /// in_channels` interleaved samples, `output` receives `frames *
    /// out_channels`. The calling thread acts as the audio thread.
    pub fn step(&self, frames: usize, input: &[f32], output: &mut [f32]) -> Result<()> {
        let mut slot = lock(&self.0.stepped);
        let runtime = slot.as_mut().ok_or(Error::NotRunning)?;
        // Checked: a frame count whose buffers cannot exist is refused in
        // release builds as in debug ones, never wrapped.
        let too_many = |what| Error::Argument {
            argument: what,
            rule: format!("{frames} frames is more than a buffer can hold"),
        };
        let want_in = frames
            .checked_mul(runtime.in_channels())
            .ok_or_else(|| too_many("step input"))?;
        let want_out = frames
            .checked_mul(runtime.out_channels())
            .ok_or_else(|| too_many("step output"))?;
        if input.len() != want_in {
            return Err(Error::BufferSize {
                what: "input",
                expected: want_in,
                got: input.len(),
            });
        }
        if output.len() != want_out {
            return Err(Error::BufferSize {
                what: "output",
                expected: want_out,
                got: output.len(),
            });
        }
        runtime.callback(|rt| rt.process_interleaved(frames, input, output));
        self.0
            .frames_run
            .fetch_add(frames as u64, Ordering::Relaxed);
        Ok(())
    }

    /// Reports an xrun as a sound card would; the engine reports it at the
    /// start of its next period.
    pub fn inject_xrun(&self) -> Result<()> {
        let notifier = lock(&self.0.notifier);
        notifier.as_ref().ok_or(Error::NotRunning)?.xrun();
        Ok(())
    }

    /// Reports a fatal error as a failing device would.
    pub fn inject_fault(&self, kind: FaultKind, message: &str) -> Result<()> {
        let notifier = lock(&self.0.notifier);
        notifier
            .as_ref()
            .ok_or(Error::NotRunning)?
            .fatal(kind, message);
        Ok(())
    }

    /// Waits until a threaded run ends (offline: every frame rendered) or
    /// `timeout` passes; returns whether it ended.
    pub fn wait(&self, timeout: Duration) -> bool {
        let finished = lock(&self.0.finished);
        let (finished, _) = self
            .0
            .finished_cv
            .wait_timeout_while(finished, timeout, |done| !*done)
            .unwrap_or_else(PoisonError::into_inner);
        *finished
    }
}

/// A delay line from output to input: output frame `s` is heard as input
/// frame `s + latency`.
struct Loopback {
    in_channels: usize,
    out_channels: usize,
    latency: usize,
    ring: Vec<f32>,
    frames: usize,
}

impl Loopback {
    /// The delay line; an error, never an abort, when it does not fit in
    /// memory.
    fn new(
        in_channels: usize,
        out_channels: usize,
        latency: usize,
        period: usize,
    ) -> Result<Loopback> {
        let frames = latency.saturating_add(period).saturating_add(1);
        let ring = crate::limits::filled(frames.checked_mul(in_channels), 0.0, "loopback")?;
        Ok(Loopback {
            in_channels,
            out_channels,
            latency,
            ring,
            frames,
        })
    }

    /// Reads the input of frames `s..` into `input`, leaving silence behind.
    fn read(&mut self, s: u64, input: &mut [f32]) {
        let ic = self.in_channels;
        if ic == 0 {
            return;
        }
        for (f, frame) in input.chunks_exact_mut(ic).enumerate() {
            let at = ((s + f as u64) % self.frames as u64) as usize * ic;
            frame.copy_from_slice(&self.ring[at..at + ic]);
            self.ring[at..at + ic].fill(0.0);
        }
    }

    /// Writes the output of frames `s..` to be heard `latency` frames later.
    fn write(&mut self, s: u64, output: &[f32]) {
        let (ic, oc) = (self.in_channels, self.out_channels);
        if ic == 0 || oc == 0 {
            return;
        }
        for (f, frame) in output.chunks_exact(oc).enumerate() {
            let at = ((s + (f + self.latency) as u64) % self.frames as u64) as usize * ic;
            let n = ic.min(oc);
            self.ring[at..at + n].copy_from_slice(&frame[..n]);
        }
    }
}
