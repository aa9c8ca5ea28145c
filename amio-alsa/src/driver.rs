//! The ALSA driver: amio's engine on its own audio thread, reading and
//! writing ALSA PCM devices.
//!
//! The audio thread owns the stream's [`Runtime`] (and so its lease): each
//! period it reads the capture PCM, runs [`Runtime::process`] inside
//! [`Runtime::callback`], and writes the playback PCM. [`AudioDriver::stop`]
//! joins the thread, so once it returns nothing calls through the lease.

use std::ffi::CString;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alsa::pcm::{Access, HwParams, State, PCM};
use alsa::{Direction, ValueOr};
use amio_core::driver::{Runtime, SampleFormat};
use amio_core::{
    AudioDriver, DeviceInfo, FaultKind, Lease, Notice, Notifier, StreamConfig, StreamInfo,
};

use crate::error::AlsaError;
use crate::format::{alsa_format, DeviceBuffer};

/// The ALSA driver's settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlsaConfig {
    /// The playback PCM. Default `default`. A [`StreamConfig::device`]
    /// replaces both this and the capture device.
    pub playback_device: String,
    /// The capture PCM. Default `default`.
    pub capture_device: String,
    /// Frames per period when the request leaves it open. Default 256.
    pub period: usize,
    /// Periods in the buffer. Default 2.
    pub periods: u32,
    /// The sample format; `None` for the first the device offers of f32,
    /// s32, s24, s16.
    pub format: Option<SampleFormat>,
    /// The SCHED_FIFO priority to ask for (1..=99); `None` not to ask.
    /// Default 70. When refused, the thread runs at normal priority and the
    /// host gets a [`Notice::NoRealtimePriority`].
    pub realtime_priority: Option<i32>,
    /// How long the device may give or take no audio before the stream is
    /// declared gone ([`FaultKind::DeviceGone`]). Default 2 s.
    pub device_timeout: Duration,
}

impl Default for AlsaConfig {
    fn default() -> AlsaConfig {
        AlsaConfig {
            playback_device: "default".into(),
            capture_device: "default".into(),
            period: 256,
            periods: 2,
            format: None,
            realtime_priority: Some(70),
            device_timeout: Duration::from_secs(2),
        }
    }
}

/// One open PCM and its period buffer.
struct Device {
    pcm: PCM,
    name: String,
    buffer: DeviceBuffer,
}

impl Device {
    fn open(
        name: &str,
        dir: Direction,
        config: &AlsaConfig,
        rate: u32,
        period: usize,
        channels: usize,
    ) -> Result<(Device, usize, usize), AlsaError> {
        let fail = |what: &'static str| {
            move |source: alsa::Error| AlsaError::Setup {
                device: name.to_owned(),
                what,
                source,
            }
        };
        let open = |source| AlsaError::Open {
            device: name.to_owned(),
            source,
        };
        // A name with a NUL byte names no PCM (alsa's PCM::new would panic).
        let c_name =
            CString::new(name).map_err(|_| open(alsa::Error::new("snd_pcm_open", libc::ENOENT)))?;
        let pcm = PCM::open(&c_name, dir, true).map_err(open)?;
        let (format, period, buffer) = {
            let hw = HwParams::any(&pcm).map_err(fail("reading its parameters"))?;
            hw.set_access(Access::RWInterleaved)
                .map_err(fail("interleaved access"))?;
            let format = match config.format {
                Some(f) => f,
                None => SampleFormat::PREFERENCE
                    .into_iter()
                    .find(|f| hw.test_format(alsa_format(*f)).is_ok())
                    .ok_or_else(|| AlsaError::NoFormat {
                        device: name.to_owned(),
                    })?,
            };
            hw.set_format(alsa_format(format))
                .map_err(|source| AlsaError::Format {
                    device: name.to_owned(),
                    format: format.name(),
                    source,
                })?;
            hw.set_channels(channels as u32)
                .map_err(|source| AlsaError::Channels {
                    device: name.to_owned(),
                    channels,
                    source,
                })?;
            hw.set_rate(rate, ValueOr::Nearest)
                .map_err(fail("the frame rate"))?;
            let got = hw.get_rate().map_err(fail("the frame rate"))?;
            if got != rate {
                return Err(AlsaError::Rate {
                    device: name.to_owned(),
                    requested: rate,
                    got,
                });
            }
            let period = hw
                .set_period_size_near(period as alsa::pcm::Frames, ValueOr::Nearest)
                .map_err(fail("the period size"))? as usize;
            hw.set_periods(config.periods, ValueOr::Nearest)
                .map_err(fail("the period count"))?;
            pcm.hw_params(&hw)
                .map_err(fail("applying the parameters"))?;
            let buffer = hw.get_buffer_size().map_err(fail("the buffer size"))? as usize;
            (format, period, buffer)
        };
        {
            let sw = pcm
                .sw_params_current()
                .map_err(fail("reading its software parameters"))?;
            sw.set_avail_min(period as alsa::pcm::Frames)
                .map_err(fail("avail_min"))?;
            // Playback starts once the buffer is full; capture is started
            // with it (linked) or by hand.
            let threshold = if dir == Direction::Playback {
                buffer
            } else {
                period
            };
            sw.set_start_threshold(threshold as alsa::pcm::Frames)
                .map_err(fail("the start threshold"))?;
            pcm.sw_params(&sw)
                .map_err(fail("applying the software parameters"))?;
        }
        Ok((
            Device {
                pcm,
                name: name.to_owned(),
                buffer: DeviceBuffer::new(format, channels, period),
            },
            period,
            buffer,
        ))
    }

    /// Reads or writes frames `done..frames` of the period buffer; returns
    /// the frames moved.
    fn transfer(&mut self, dir: Direction, done: usize, frames: usize) -> alsa::Result<usize> {
        // SAFETY: the PCM's format was set to the buffer's at open, and only
        // this thread makes IO objects for it, one at a time.
        unsafe { self.buffer.transfer(&self.pcm, dir, done, frames) }
    }
}

/// The open devices.
struct Devices {
    playback: Option<Device>,
    capture: Option<Device>,
    linked: bool,
    period: usize,
    buffer: usize,
}

/// Counters and requests shared with the driver's handle.
#[derive(Default)]
struct Shared {
    stop: AtomicBool,
    /// Milliseconds to sleep in the next period (a diagnostic stall).
    stall_ms: AtomicU64,
    /// Whether the next period panics (a diagnostic failure).
    fail_period: AtomicBool,
    recoveries: AtomicU64,
    realtime: AtomicBool,
    paced_by_clock: AtomicBool,
    linked: AtomicBool,
}

/// A handle on an ALSA driver, usable after it is boxed into a stream.
#[derive(Clone, Default)]
pub struct AlsaHandle(Arc<Shared>);

impl AlsaHandle {
    /// Makes the audio thread sleep once, for `duration`, as a stalled
    /// system would: the device under- or overruns and the driver recovers.
    pub fn stall(&self, duration: Duration) {
        self.0
            .stall_ms
            .store(duration.as_millis().max(1) as u64, Ordering::Release);
    }

    /// Makes the audio thread panic once, inside its next period, as a bug
    /// on the audio path would: the runtime's panic policy turns it into
    /// one `Fatal(ThreadFailed)` event, and the device plays silence until
    /// the stream is stopped.
    pub fn fail_period(&self) {
        self.0.fail_period.store(true, Ordering::Release);
    }

    /// Xruns recovered so far.
    pub fn recoveries(&self) -> u64 {
        self.0.recoveries.load(Ordering::Acquire)
    }

    /// Whether the audio thread got real-time priority.
    pub fn realtime(&self) -> bool {
        self.0.realtime.load(Ordering::Acquire)
    }

    /// Whether capture and playback are linked (`snd_pcm_link`), so they
    /// start and stop together; otherwise capture is started right after
    /// playback is primed.
    pub fn linked(&self) -> bool {
        self.0.linked.load(Ordering::Acquire)
    }

    /// Whether the driver paces the device by the system clock.
    pub fn paced_by_clock(&self) -> bool {
        self.0.paced_by_clock.load(Ordering::Acquire)
    }
}

/// The ALSA backend.
pub struct AlsaDriver {
    config: AlsaConfig,
    request: Option<StreamConfig>,
    info: Option<StreamInfo>,
    devices: Option<Devices>,
    /// The audio thread while the stream runs; it owns the runtime (and
    /// the lease) and the devices.
    thread: Option<JoinHandle<()>>,
    /// The running stream's notifier, to report a thread that died.
    notifier: Option<Notifier>,
    handle: AlsaHandle,
}

impl AlsaDriver {
    /// An ALSA driver with the given settings.
    pub fn new(config: AlsaConfig) -> AlsaDriver {
        AlsaDriver {
            config,
            request: None,
            info: None,
            devices: None,
            thread: None,
            notifier: None,
            handle: AlsaHandle::default(),
        }
    }

    /// A handle for diagnostics: stalls, recoveries, priority, pacing.
    pub fn handle(&self) -> AlsaHandle {
        self.handle.clone()
    }

    fn open_devices(&self, request: &StreamConfig) -> Result<(Devices, StreamInfo), AlsaError> {
        let rate = request.frame_rate.unwrap_or(48_000);
        let period = request.period.unwrap_or(self.config.period).max(1);
        let (play_name, cap_name) = match &request.device {
            Some(d) => (d.clone(), d.clone()),
            None => (
                self.config.playback_device.clone(),
                self.config.capture_device.clone(),
            ),
        };
        let playback = (request.out_channels > 0)
            .then(|| {
                Device::open(
                    &play_name,
                    Direction::Playback,
                    &self.config,
                    rate,
                    period,
                    request.out_channels,
                )
            })
            .transpose()?;
        let capture = (request.in_channels > 0)
            .then(|| {
                Device::open(
                    &cap_name,
                    Direction::Capture,
                    &self.config,
                    rate,
                    period,
                    request.in_channels,
                )
            })
            .transpose()?;
        let (period, buffer) = match (&playback, &capture) {
            (Some((_, p, b)), Some((_, cp, _))) if p != cp => {
                return Err(AlsaError::PeriodMismatch {
                    playback: *p,
                    capture: *cp,
                })
            }
            (Some((_, p, b)), _) => (*p, *b),
            (None, Some((_, p, b))) => (*p, *b),
            (None, None) => (period, period * self.config.periods as usize),
        };
        let playback = playback.map(|(d, _, _)| d);
        let capture = capture.map(|(d, _, _)| d);
        // Full duplex in step: link the two so they start and stop together.
        // Where the devices cannot be linked (different cards or plugins),
        // the driver starts capture right after priming playback instead.
        let linked = match (&playback, &capture) {
            (Some(p), Some(c)) => c.pcm.link(&p.pcm).is_ok(),
            _ => false,
        };
        let device = match (&playback, &capture) {
            (Some(p), Some(c)) if p.name != c.name => format!("{} / {}", p.name, c.name),
            (Some(p), _) => p.name.clone(),
            (None, Some(c)) => c.name.clone(),
            (None, None) => "none".into(),
        };
        let info = StreamInfo {
            backend: "alsa".into(),
            device,
            frame_rate: rate,
            period,
            max_period: period,
            in_channels: request.in_channels,
            out_channels: request.out_channels,
            // Until measured with snd_pcm_delay: a period to capture, the
            // rest of a full buffer ahead of playback.
            capture_latency: if capture.is_some() { period as u64 } else { 0 },
            playback_latency: if playback.is_some() {
                (buffer - period) as u64
            } else {
                0
            },
        };
        Ok((
            Devices {
                playback,
                capture,
                linked,
                period,
                buffer,
            },
            info,
        ))
    }
}

impl AudioDriver for AlsaDriver {
    fn backend(&self) -> &str {
        "alsa"
    }

    fn devices(&self) -> amio_core::Result<Vec<DeviceInfo>> {
        let hints = alsa::device_name::HintIter::new_str(None, "pcm")
            .map_err(|source| AlsaError::Hints { source })?;
        Ok(hints
            .filter_map(|h| {
                let name = h.name?;
                let description = h.desc.unwrap_or_default().replace('\n', " ");
                let (inputs, outputs) = match h.direction {
                    Some(Direction::Capture) => (1, 0),
                    Some(Direction::Playback) => (0, 1),
                    None => (1, 1),
                };
                // Channel counts are only known once opened: 1 marks the
                // directions the device offers.
                Some(DeviceInfo {
                    name,
                    description,
                    in_channels: inputs,
                    out_channels: outputs,
                })
            })
            .collect())
    }

    fn open(&mut self, request: &StreamConfig) -> amio_core::Result<StreamInfo> {
        if self.thread.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        self.devices = None;
        let (devices, info) = self.open_devices(request)?;
        self.handle
            .0
            .linked
            .store(devices.linked, Ordering::Release);
        self.devices = Some(devices);
        self.request = Some(request.clone());
        self.info = Some(info.clone());
        Ok(info)
    }

    fn start(&mut self, lease: Lease) -> amio_core::Result<()> {
        if self.thread.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        let Some(info) = self.info.clone() else {
            return Err(AlsaError::NotOpen.into());
        };
        let devices = match self.devices.take() {
            Some(d) => d,
            None => {
                let request = self.request.clone().ok_or(AlsaError::NotOpen)?;
                self.open_devices(&request)?.0
            }
        };
        let runtime = Runtime::new(lease)?;
        let notifier = runtime.notifier().clone();
        self.handle.0.stop.store(false, Ordering::Release);
        let worker = Worker {
            runtime,
            io: Io {
                devices,
                shared: Arc::clone(&self.handle.0),
                timeout: self.config.device_timeout,
                woke: None,
            },
            frame_rate: info.frame_rate,
            priority: self.config.realtime_priority,
        };
        let thread = std::thread::Builder::new()
            .name("amio-alsa".into())
            .spawn({
                let notifier = notifier.clone();
                move || {
                    // A panic outside the runtime's callback (priming,
                    // recovery, measuring) ends the thread: reported as the
                    // runtime reports one inside it.
                    if catch_unwind(AssertUnwindSafe(|| worker.run())).is_err() {
                        notifier.fatal(FaultKind::ThreadFailed, "the ALSA audio thread panicked");
                    }
                }
            })
            .map_err(|source| amio_core::Error::Io {
                context: "starting the ALSA audio thread".into(),
                source,
            })?;
        self.thread = Some(thread);
        self.notifier = Some(notifier);
        Ok(())
    }

    fn stop(&mut self) -> amio_core::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        self.handle.0.stop.store(true, Ordering::Release);
        // The thread owns the runtime, and with it the lease: once joined,
        // nothing calls the engine. It closes the devices as it ends; a
        // restart opens them again.
        if thread.join().is_err() {
            if let Some(n) = &self.notifier {
                n.fatal(FaultKind::ThreadFailed, "the ALSA audio thread panicked");
            }
        }
        self.notifier = None;
        Ok(())
    }
}

impl Drop for AlsaDriver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What the audio thread owns.
struct Worker {
    /// The stream's runtime: the lease, the period adapter, the panic
    /// policy.
    runtime: Runtime,
    io: Io,
    frame_rate: u32,
    priority: Option<i32>,
}

/// The devices as the audio thread moves them.
struct Io {
    devices: Devices,
    shared: Arc<Shared>,
    timeout: Duration,
    /// When a wait for a device last returned in this period: the device's
    /// clock ticked then.
    woke: Option<Instant>,
}

/// Periods after a (re)start before the latency is measured.
const SETTLE_PERIODS: u32 = 4;
/// Quiet snapshots of the latency taken after a (re)start of unlinked
/// devices; the most frequent is reported.
const QUIET_SNAPSHOTS: usize = 8;
/// Periods in which to take them, before settling for what there is.
const QUIET_PERIODS: u32 = 64;

/// Measuring the latency after a (re)start.
///
/// Capture and playback that are not linked are served by separate clocks
/// or callbacks: ALSA's jack PCM, for one, moves each device in its own
/// JACK process callback, one after the other in every JACK cycle, and the
/// audio thread wakes on whichever it waits for. Read right then, the other
/// device may not have had this cycle's callback yet, and capture plus
/// playback delay comes out a period short (or long) — every time, as the
/// thread wakes at the same point of each cycle. So for unlinked devices
/// the delays are read in the quiet middle of a period, half a period after
/// a device woke the thread, twice (equal, or not taken), in several
/// periods, and the most frequent sum is reported.
struct Measuring {
    /// Periods still to run before measuring.
    settle: u32,
    /// Periods left for quiet snapshots.
    periods_left: u32,
    /// Snapshots taken: (capture, playback).
    snapshots: [(u64, u64); QUIET_SNAPSHOTS],
    taken: usize,
    done: bool,
}

impl Measuring {
    fn new() -> Measuring {
        Measuring {
            settle: SETTLE_PERIODS,
            periods_left: QUIET_PERIODS,
            snapshots: [(0, 0); QUIET_SNAPSHOTS],
            taken: 0,
            done: false,
        }
    }

    /// The earliest snapshot whose sum is the most frequent.
    fn most_frequent(&self) -> Option<(u64, u64)> {
        let taken = &self.snapshots[..self.taken];
        let count = |sum: u64| taken.iter().filter(|(c, p)| c + p == sum).count();
        let mut best: Option<((u64, u64), usize)> = None;
        for &(c, p) in taken {
            let n = count(c + p);
            if best.is_none_or(|(_, m)| n > m) {
                best = Some(((c, p), n));
            }
        }
        best.map(|(snapshot, _)| snapshot)
    }
}

/// How one period went.
enum Step {
    Done,
    /// An xrun: recover and go on.
    Xrun,
    /// The device failed or stopped answering.
    Failed(FaultKind, &'static str),
    /// Asked to stop while waiting.
    Stopped,
}

fn classify(e: &alsa::Error) -> Step {
    match e.errno() {
        libc::EPIPE | libc::ESTRPIPE => Step::Xrun,
        libc::ENODEV | libc::EBADFD | libc::ENXIO | libc::EIO => {
            Step::Failed(FaultKind::DeviceGone, "the device went away")
        }
        _ => Step::Failed(FaultKind::StreamFailed, "the device failed"),
    }
}

impl Worker {
    /// The audio thread: periods until asked to stop or the device fails.
    /// The devices close when it returns.
    fn run(mut self) {
        let notifier = self.runtime.notifier().clone();
        self.set_priority(&notifier);
        if let Err(e) = self.io.begin() {
            if let Step::Failed(kind, message) = classify(&e) {
                notifier.fatal(kind, message);
            }
            return;
        }
        let period = self.io.devices.period;
        let buffer_time =
            Duration::from_secs_f64(self.io.devices.buffer as f64 / f64::from(self.frame_rate));
        let clock = Instant::now();
        let mut frames_done: u64 = 0;
        let period_time =
            Duration::from_secs_f64(period as f64 / f64::from(self.frame_rate.max(1)));
        let mut measuring = Measuring::new();
        let shared = Arc::clone(&self.io.shared);
        while !shared.stop.load(Ordering::Acquire) {
            let ms = shared.stall_ms.swap(0, Ordering::AcqRel);
            if ms > 0 {
                std::thread::sleep(Duration::from_millis(ms));
            }
            let Worker { runtime, io, .. } = &mut self;
            let step = match runtime.callback(|rt| io.period(rt)) {
                Some(step) => step,
                // The period panicked (reported as Fatal(ThreadFailed));
                // the stream stays silent until stopped.
                None => io.silent_period(),
            };
            match step {
                Step::Done => {}
                Step::Xrun => {
                    shared.recoveries.fetch_add(1, Ordering::AcqRel);
                    notifier.xrun();
                    if let Err(e) = self.io.begin() {
                        if let Step::Failed(kind, message) = classify(&e) {
                            notifier.fatal(kind, message);
                        } else {
                            notifier
                                .fatal(FaultKind::StreamFailed, "could not restart after an xrun");
                        }
                        break;
                    }
                    measuring = Measuring::new();
                    continue;
                }
                Step::Failed(kind, message) => {
                    notifier.fatal(kind, message);
                    break;
                }
                Step::Stopped => break,
            }
            frames_done += period as u64;
            if !measuring.done {
                self.io.measure(&mut measuring, period_time, &notifier);
            }
            // A device that takes audio faster than real time (ALSA's null
            // plugin) would spin this thread: pace it by the clock.
            let due = Duration::from_secs_f64(frames_done as f64 / f64::from(self.frame_rate));
            let elapsed = clock.elapsed();
            if due > elapsed + buffer_time {
                if !shared.paced_by_clock.swap(true, Ordering::AcqRel) {
                    notifier.notice(Notice::PacedByClock);
                }
                std::thread::sleep(due - elapsed - buffer_time);
            }
        }
        for d in [&self.io.devices.playback, &self.io.devices.capture]
            .into_iter()
            .flatten()
        {
            let _ = d.pcm.drop();
        }
    }

    fn set_priority(&self, notifier: &Notifier) {
        let Some(priority) = self.priority else {
            return;
        };
        let param = libc::sched_param {
            sched_priority: priority,
        };
        // SAFETY: setting this thread's own scheduling with a valid param.
        let ok =
            unsafe { libc::pthread_setschedparam(libc::pthread_self(), libc::SCHED_FIFO, &param) }
                == 0;
        self.io.shared.realtime.store(ok, Ordering::Release);
        if !ok {
            notifier.notice(Notice::NoRealtimePriority);
        }
    }
}

impl Io {
    /// (Re)starts the devices: prepared, playback primed with a buffer of
    /// silence (which starts it, and capture with it when linked).
    fn begin(&mut self) -> alsa::Result<()> {
        let Devices {
            playback,
            capture,
            linked,
            period,
            buffer,
        } = &mut self.devices;
        for d in [&*playback, &*capture].into_iter().flatten() {
            let _ = d.pcm.drop();
            d.pcm.prepare()?;
        }
        if let Some(p) = playback {
            p.buffer.silence(*period);
            let mut primed = 0;
            let deadline = Instant::now() + self.timeout;
            while primed < *buffer {
                let n = (*buffer - primed).min(*period);
                match p.transfer(Direction::Playback, 0, n) {
                    Ok(k) => primed += k,
                    Err(e) if e.errno() == libc::EAGAIN => {
                        if Instant::now() > deadline {
                            return Err(alsa::Error::new("priming playback", libc::EIO));
                        }
                        p.pcm.wait(Some(10))?;
                    }
                    Err(e) => return Err(e),
                }
            }
            if p.pcm.state() != State::Running {
                p.pcm.start()?;
            }
        }
        if let Some(c) = capture {
            if !*linked && c.pcm.state() != State::Running {
                c.pcm.start()?;
            }
        }
        Ok(())
    }

    /// Moves one period: capture in, the engine through the runtime's
    /// period adapter, playback out. Real-time thread, inside
    /// [`Runtime::callback`]: waits on the devices (with timeouts), never
    /// allocates.
    fn period(&mut self, rt: &mut Runtime) -> Step {
        let n = self.devices.period;
        self.woke = None;
        if let Some(step) = self.move_period(Direction::Capture, n) {
            return step;
        }
        if self.shared.fail_period.swap(false, Ordering::AcqRel) {
            panic!("the ALSA driver's period failed as asked (AlsaHandle::fail_period)");
        }
        let Devices {
            capture, playback, ..
        } = &mut self.devices;
        rt.process(
            n,
            &mut (
                |offset: usize, input: &mut [f32]| match capture {
                    Some(c) => c.buffer.read(offset, input),
                    None => input.fill(0.0),
                },
                |offset: usize, output: &[f32]| {
                    if let Some(p) = playback.as_mut() {
                        p.buffer.write(offset, output);
                    }
                },
            ),
        );
        if playback.is_none() {
            return Step::Done;
        }
        self.move_period(Direction::Playback, n)
            .unwrap_or(Step::Done)
    }

    /// After a period panicked: a period of silence to playback.
    fn silent_period(&mut self) -> Step {
        let n = self.devices.period;
        let Some(p) = self.devices.playback.as_mut() else {
            return Step::Done;
        };
        p.buffer.silence(n);
        self.move_period(Direction::Playback, n)
            .unwrap_or(Step::Done)
    }

    /// Reads or writes a whole period, waiting for the device with a
    /// timeout; `None` when done.
    fn move_period(&mut self, dir: Direction, n: usize) -> Option<Step> {
        let device = match dir {
            Direction::Capture => self.devices.capture.as_mut(),
            Direction::Playback => self.devices.playback.as_mut(),
        }?;
        let mut done = 0;
        let mut last_progress = Instant::now();
        while done < n {
            match device.transfer(dir, done, n) {
                Ok(k) if k > 0 => {
                    done += k;
                    last_progress = Instant::now();
                }
                Ok(_) => {}
                Err(e) if e.errno() == libc::EAGAIN => {}
                Err(e) => return Some(classify(&e)),
            }
            if done < n {
                if self.shared.stop.load(Ordering::Acquire) {
                    return Some(Step::Stopped);
                }
                if last_progress.elapsed() > self.timeout {
                    return Some(Step::Failed(
                        FaultKind::DeviceGone,
                        "the device stopped taking or giving audio",
                    ));
                }
                match device.pcm.wait(Some(50)) {
                    Ok(true) => self.woke = Some(Instant::now()),
                    Ok(false) => {}
                    Err(e) => return Some(classify(&e)),
                }
            }
        }
        None
    }

    /// One period's step of [`Measuring`]: reports the latency when known.
    fn measure(&self, measuring: &mut Measuring, period_time: Duration, notifier: &Notifier) {
        if measuring.settle > 1 {
            measuring.settle -= 1;
            return;
        }
        let unlinked = self.devices.capture.is_some()
            && self.devices.playback.is_some()
            && !self.devices.linked;
        if !unlinked {
            let (capture, playback) = self.latency_snapshot();
            notifier.set_latency(capture, playback);
            measuring.done = true;
            return;
        }
        if let Some(snapshot) = self.quiet_snapshot(period_time) {
            measuring.snapshots[measuring.taken] = snapshot;
            measuring.taken += 1;
        }
        measuring.periods_left = measuring.periods_left.saturating_sub(1);
        if measuring.taken == QUIET_SNAPSHOTS || measuring.periods_left == 0 {
            // Too disturbed for a single quiet snapshot: the best there is.
            let (capture, playback) = measuring
                .most_frequent()
                .unwrap_or_else(|| self.latency_snapshot());
            notifier.set_latency(capture, playback);
            measuring.done = true;
        }
    }

    /// The delays read in the quiet middle of this period, half a period
    /// after a device last woke the thread; `None` when the thread did not
    /// wait for a device this period (it is catching up), is already past
    /// the middle, or the delays moved while read.
    fn quiet_snapshot(&self, period_time: Duration) -> Option<(u64, u64)> {
        let middle = self.woke? + period_time / 2;
        let now = Instant::now();
        if now >= middle {
            return None;
        }
        // The thread would block on the device until the next period
        // anyway: it waits here instead, and no later.
        std::thread::sleep(middle - now);
        let first = self.latency_snapshot();
        (self.latency_snapshot() == first).then_some(first)
    }

    /// The latency from snd_pcm_delay: capture, a period plus what is still
    /// waiting to be read; playback, what is queued ahead.
    fn latency_snapshot(&self) -> (u64, u64) {
        let n = self.devices.period as u64;
        let capture = self
            .devices
            .capture
            .as_ref()
            .map_or(0, |c| n + c.pcm.delay().map_or(0, |d| d.max(0) as u64));
        let playback = self.devices.playback.as_ref().map_or(0, |p| {
            p.pcm
                .delay()
                .map_or(0, |d| d.max(0) as u64)
                .saturating_sub(n)
        });
        (capture, playback)
    }
}
