//! The ALSA driver: amio's engine on its own audio thread, reading and
//! writing ALSA PCM devices.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use alsa::pcm::{Access, HwParams, State, PCM};
use alsa::{Direction, ValueOr};
use amio_core::{
    rt_guard, AudioDriver, DeviceInfo, Engine, FaultKind, Notice, Notifier, StreamConfig,
    StreamInfo,
};

use crate::error::AlsaError;
use crate::format::{DeviceBuffer, SampleFormat};

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

    channels: usize,
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
        let pcm = PCM::new(name, dir, true).map_err(|source| AlsaError::Open {
            device: name.to_owned(),
            source,
        })?;
        let (format, period, buffer) = {
            let hw = HwParams::any(&pcm).map_err(fail("reading its parameters"))?;
            hw.set_access(Access::RWInterleaved)
                .map_err(fail("interleaved access"))?;
            let format = match config.format {
                Some(f) => f,
                None => SampleFormat::PREFERENCE
                    .into_iter()
                    .find(|f| hw.test_format(f.alsa()).is_ok())
                    .ok_or_else(|| AlsaError::NoFormat {
                        device: name.to_owned(),
                    })?,
            };
            hw.set_format(format.alsa())
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
                channels,
                buffer: DeviceBuffer::new(format, period * channels),
            },
            period,
            buffer,
        ))
    }

    /// Reads or writes up to `frames` frames of the period buffer from
    /// offset `done`; returns the frames moved.
    fn transfer(&mut self, dir: Direction, done: usize, frames: usize) -> alsa::Result<usize> {
        let (a, b) = (done * self.channels, frames * self.channels);
        // SAFETY: the PCM's format was set to the buffer's at open, and only
        // this thread makes IO objects for it, one at a time.
        unsafe {
            match (&mut self.buffer, dir) {
                (DeviceBuffer::F32(v), Direction::Playback) => {
                    self.pcm.io_unchecked::<f32>().writei(&v[a..b])
                }
                (DeviceBuffer::F32(v), Direction::Capture) => {
                    self.pcm.io_unchecked::<f32>().readi(&mut v[a..b])
                }
                (DeviceBuffer::I32(v, _), Direction::Playback) => {
                    self.pcm.io_unchecked::<i32>().writei(&v[a..b])
                }
                (DeviceBuffer::I32(v, _), Direction::Capture) => {
                    self.pcm.io_unchecked::<i32>().readi(&mut v[a..b])
                }
                (DeviceBuffer::I16(v), Direction::Playback) => {
                    self.pcm.io_unchecked::<i16>().writei(&v[a..b])
                }
                (DeviceBuffer::I16(v), Direction::Capture) => {
                    self.pcm.io_unchecked::<i16>().readi(&mut v[a..b])
                }
            }
        }
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
    thread: Option<JoinHandle<(Engine, Devices)>>,
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

    fn start(&mut self, engine: Engine) -> amio_core::Result<()> {
        if self.thread.is_some() {
            return Err(amio_core::Error::AlreadyRunning);
        }
        let devices = match self.devices.take() {
            Some(d) => d,
            None => {
                let request = self.request.clone().ok_or(AlsaError::NotOpen)?;
                self.open_devices(&request)?.0
            }
        };
        let Some(info) = self.info.clone() else {
            return Err(AlsaError::NotOpen.into());
        };
        self.handle.0.stop.store(false, Ordering::Release);
        let worker = Worker {
            engine,
            devices,
            shared: Arc::clone(&self.handle.0),
            frame_rate: info.frame_rate,
            priority: self.config.realtime_priority,
            timeout: self.config.device_timeout,
            woke: None,
        };
        let thread = std::thread::Builder::new()
            .name("amio-alsa".into())
            .spawn(move || worker.run())
            .map_err(|source| amio_core::Error::Io {
                context: "starting the ALSA audio thread".into(),
                source,
            })?;
        self.thread = Some(thread);
        Ok(())
    }

    fn stop(&mut self) -> amio_core::Result<Option<Engine>> {
        let Some(thread) = self.thread.take() else {
            return Ok(None);
        };
        self.handle.0.stop.store(true, Ordering::Release);
        match thread.join() {
            Ok((engine, devices)) => {
                // Closed here; a restart opens them again.
                drop(devices);
                Ok(Some(engine))
            }
            Err(_) => Ok(None),
        }
    }
}

impl Drop for AlsaDriver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// What the audio thread owns.
struct Worker {
    engine: Engine,
    devices: Devices,
    shared: Arc<Shared>,
    frame_rate: u32,
    priority: Option<i32>,
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
    fn run(mut self) -> (Engine, Devices) {
        let notifier = self.engine.notifier();
        self.set_priority(&notifier);
        if let Err(e) = self.begin() {
            if let Step::Failed(kind, message) = classify(&e) {
                notifier.fatal(kind, message);
            }
            return (self.engine, self.devices);
        }
        let period = self.devices.period;
        let buffer_time =
            Duration::from_secs_f64(self.devices.buffer as f64 / f64::from(self.frame_rate));
        let clock = Instant::now();
        let mut frames_done: u64 = 0;
        let period_time =
            Duration::from_secs_f64(period as f64 / f64::from(self.frame_rate.max(1)));
        let mut measuring = Measuring::new();
        while !self.shared.stop.load(Ordering::Acquire) {
            let ms = self.shared.stall_ms.swap(0, Ordering::AcqRel);
            if ms > 0 {
                std::thread::sleep(Duration::from_millis(ms));
            }
            match self.period() {
                Step::Done => {}
                Step::Xrun => {
                    self.shared.recoveries.fetch_add(1, Ordering::AcqRel);
                    notifier.xrun();
                    if let Err(e) = self.begin() {
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
                self.measure(&mut measuring, period_time, &notifier);
            }
            // A device that takes audio faster than real time (ALSA's null
            // plugin) would spin this thread: pace it by the clock.
            let due = Duration::from_secs_f64(frames_done as f64 / f64::from(self.frame_rate));
            let elapsed = clock.elapsed();
            if due > elapsed + buffer_time {
                if !self.shared.paced_by_clock.swap(true, Ordering::AcqRel) {
                    notifier.notice(Notice::PacedByClock);
                }
                std::thread::sleep(due - elapsed - buffer_time);
            }
        }
        for d in [&self.devices.playback, &self.devices.capture]
            .into_iter()
            .flatten()
        {
            let _ = d.pcm.drop();
        }
        (self.engine, self.devices)
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
        self.shared.realtime.store(ok, Ordering::Release);
        if !ok {
            notifier.notice(Notice::NoRealtimePriority);
        }
    }

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
            let silence = p.channels * *period;
            match &mut p.buffer {
                DeviceBuffer::F32(v) => v[..silence].fill(0.0),
                DeviceBuffer::I32(v, _) => v[..silence].fill(0),
                DeviceBuffer::I16(v) => v[..silence].fill(0),
            }
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

    /// Moves one period: capture in, the engine, playback out.
    fn period(&mut self) -> Step {
        let _audio = rt_guard::enter();
        let n = self.devices.period;
        self.woke = None;
        if let Some(step) = self.move_period(Direction::Capture, n) {
            return step;
        }
        let engine = &mut self.engine;
        if let Some(c) = &self.devices.capture {
            let input = engine.input_buffer(n);
            c.buffer.copy_into(input);
        }
        let output = engine.render(n);
        if let Some(p) = &mut self.devices.playback {
            p.buffer.fill_from(output);
        } else {
            return Step::Done;
        }
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
